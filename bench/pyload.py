"""The fallback load generator: one Python client process per connection (slower than wrk)."""

from __future__ import annotations

import http.client
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc


@dataclass
class WorkerResult:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0


Worker = Callable[[int, bytes, float, float], WorkerResult]
_HEADERS = {"Content-Type": "application/json", "Connection": "close"}


def _sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))


def rest_worker(port: int, body: bytes, start_at: float, seconds: float) -> WorkerResult:
    """POST `body` on a fresh connection per request until `seconds` after `start_at`."""
    result = WorkerResult()
    _sleep_until(start_at)
    deadline = time.perf_counter() + seconds
    while (began := time.perf_counter()) < deadline:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request("POST", "/api/v1.0/predictions", body, _HEADERS)
            response = connection.getresponse()
            response.read()
            ok = response.status == 200
        except OSError:
            ok = False
        finally:
            connection.close()
        if ok:
            result.latencies_ms.append((time.perf_counter() - began) * 1000)
        else:
            result.errors += 1
    return result


def grpc_worker(port: int, request: bytes, start_at: float, seconds: float) -> WorkerResult:
    """Unary Model/Predict on one channel, bytes in and out (no client-side protobuf work)."""
    result = WorkerResult()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        predict = channel.unary_unary("/seldon.protos.Model/Predict")
        predict(request, timeout=30)  # connect before the clock starts
        _sleep_until(start_at)
        deadline = time.perf_counter() + seconds
        while (began := time.perf_counter()) < deadline:
            try:
                predict(request, timeout=30)
            except grpc.RpcError:
                result.errors += 1
                continue
            result.latencies_ms.append((time.perf_counter() - began) * 1000)
    return result
