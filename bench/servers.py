"""Starting, checking and stopping the benchmarked server processes."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import grpc
import payloads
from loadgen import GRPC_PATH, PREDICT_PATH
from readiness import free_port

from seldon_server.proto import prediction_pb2

BENCH = Path(__file__).resolve().parent
READY_SECONDS = 30.0


@dataclass
class Server:
    """One server process (for REST, the Gunicorn arbiter; its worker is a child)."""

    kind: str  # an argument of serve.py: rest, rest-floor, grpc, grpc-floor, rest-log, grpc-log
    port: int
    process: subprocess.Popen[bytes]
    log: IO[bytes]
    name: str = ""  # tells apart servers of one kind (e.g. rest-log to two sinks); kind if empty

    @property
    def transport(self) -> str:
        return "REST" if self.kind.startswith("rest") else "gRPC"

    @property
    def floor(self) -> bool:
        return self.kind.endswith("floor")


def start(
    kind: str,
    log_dir: Path,
    cpus: set[int] | None,
    extra: Sequence[str] = (),
    name: str = "",
) -> Server:
    """Launch `serve.py kind port [extra...]`; with `cpus`, the process and its children run
    only there."""
    port = free_port()
    log = (log_dir / f"{name or kind}.log").open("w+b")
    process = subprocess.Popen(
        [sys.executable, str(BENCH / "serve.py"), kind, str(port), *extra],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=BENCH.parent,
    )
    if cpus:
        os.sched_setaffinity(process.pid, cpus)
    return Server(kind, port, process, log, name or kind)


def stop(server: Server) -> None:
    stop_process(server.process, server.log, 15)


def stop_process(process: subprocess.Popen[bytes], log: IO[bytes], timeout: float) -> None:
    """SIGTERM, then SIGKILL after `timeout` seconds; its log file closed."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    log.close()


def log_text(server: Server) -> str:
    server.log.flush()
    server.log.seek(0)
    return server.log.read().decode(errors="replace")


def wait_ready(server: Server, probe: payloads.Payload) -> None:
    """Poll with a real request until the server answers it correctly, or fail at the deadline."""
    deadline = time.monotonic() + READY_SECONDS
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.kind} exited early:\n{log_text(server)}")
        try:
            check(server, probe)
            return
        except (OSError, grpc.RpcError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def check(server: Server, payload: payloads.Payload) -> None:
    """One request; raise AssertionError unless the reply is exactly what it must be."""
    if server.transport == "REST":
        status, body = _post(server.port, payload.rest_body)
        expected = payloads.floor_reply() if server.floor else None
        if status != 200 or (expected is not None and body != expected):
            raise AssertionError(f"{server.kind} {payload.name}: HTTP {status} {body[:300]!r}")
        if expected is None and json.loads(body) != payload.rest_reply:
            raise AssertionError(f"{server.kind} {payload.name}: wrong body {body[:300]!r}")
        return
    reply = _predict(server.port, payload.grpc_request)
    expected = payload.grpc_request if server.floor else payload.grpc_reply
    if reply != expected or reply.HasField("meta") != expected.HasField("meta"):
        raise AssertionError(f"{server.kind} {payload.name}: wrong reply {str(reply)[:300]}")


def _post(port: int, body: bytes) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"Content-Type": "application/json", "Connection": "close"}
        connection.request("POST", PREDICT_PATH, body, headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _predict(port: int, request: Any) -> Any:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = channel.unary_unary(
            GRPC_PATH,
            request_serializer=prediction_pb2.SeldonMessage.SerializeToString,
            response_deserializer=prediction_pb2.SeldonMessage.FromString,
        )
        return call(request, timeout=10)
