"""Load generators: wrk (REST) and h2load (gRPC) when installed, else Python client processes."""

from __future__ import annotations

import json
import multiprocessing
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyload

PREDICT_PATH = "/api/v1.0/predictions"
GRPC_PATH = "/seldon.protos.Model/Predict"

_WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Connection"] = "close"
local file = io.open("{body}", "rb")
wrk.body = file:read("*a")
file:close()
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{{"requests":%d,"micros":%d,"errors":%d,"p50":%d,"p99":%d}}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass(frozen=True)
class LoadResult:
    """What one timed load phase measured, client side."""

    requests: int  # completed successfully
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


@dataclass(frozen=True)
class LoadSpec:
    """How hard to push: concurrent connections (or streams) for a fixed duration."""

    connections: int
    seconds: int  # wrk and h2load take whole seconds
    client: str  # "native" (wrk/h2load) or "python"


def native_available() -> bool:
    return shutil.which("wrk") is not None and shutil.which("h2load") is not None


def rest(port: int, body: bytes, spec: LoadSpec) -> LoadResult:
    """POSTs of `body` to the predict route, one connection per request (the sync worker closes)."""
    if spec.client == "python":
        return _python(pyload.rest_worker, (port, body), spec)
    with tempfile.TemporaryDirectory() as tmp:
        body_path = Path(tmp, "body.json")
        body_path.write_bytes(body)
        script = Path(tmp, "post.lua")
        script.write_text(_WRK_SCRIPT.format(body=body_path))
        command = ["wrk", "-t1", f"-c{spec.connections}", f"-d{spec.seconds}s", "-s", str(script)]
        out = _run([*command, f"http://127.0.0.1:{port}{PREDICT_PATH}"], spec)
    summary = json.loads(out.strip().splitlines()[-1])
    return LoadResult(
        requests=summary["requests"] - summary["errors"],
        errors=summary["errors"],
        seconds=summary["micros"] / 1e6,
        p50_ms=summary["p50"] / 1000,
        p99_ms=summary["p99"] / 1000,
    )


def grpc_frame(message: bytes) -> bytes:
    """A gRPC length-prefixed message (uncompressed)."""
    return b"\x00" + len(message).to_bytes(4, "big") + message


def grpc(port: int, request: bytes, spec: LoadSpec) -> LoadResult:
    """Unary Model/Predict calls of the serialized `request`, one stream per connection."""
    if spec.client == "python":
        return _python(pyload.grpc_worker, (port, request), spec)
    with tempfile.TemporaryDirectory() as tmp:
        body_path, log_path = Path(tmp, "body.grpc"), Path(tmp, "requests.log")
        body_path.write_bytes(grpc_frame(request))
        command = ["h2load", "-t1", f"-c{spec.connections}", "-m1", f"-D{spec.seconds}"]
        headers = ["-H", "content-type: application/grpc", "-H", "te: trailers"]
        files = ["-d", str(body_path), f"--log-file={log_path}"]
        out = _run([*command, *headers, *files, f"http://127.0.0.1:{port}{GRPC_PATH}"], spec)
        rows = [line.split("\t") for line in log_path.read_text().splitlines() if line]
    seconds = float(re.search(r"finished in ([\d.]+)s", out).group(1))  # type: ignore[union-attr]
    ok = [int(row[2]) / 1000 for row in rows if row[1] == "200"]
    return _result(ok, len(rows) - len(ok), seconds)


def _run(command: list[str], spec: LoadSpec) -> str:
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=spec.seconds + 60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def _result(latencies_ms: list[float], errors: int, seconds: float) -> LoadResult:
    p50, p99 = np.percentile(latencies_ms, [50, 99]) if latencies_ms else (float("nan"),) * 2
    return LoadResult(len(latencies_ms), errors, seconds, float(p50), float(p99))


def _python(worker: pyload.Worker, target: tuple[int, bytes], spec: LoadSpec) -> LoadResult:
    """`spec.connections` client processes, each with one connection or channel, in lock step."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(spec.connections) as pool:
        start_at = time.time() + 1.0  # every process is up and importing is over by then
        args = [(*target, start_at, spec.seconds)] * spec.connections
        parts = pool.starmap(worker, args)
    latencies = [value for part in parts for value in part.latencies_ms]
    return _result(latencies, sum(part.errors for part in parts), spec.seconds)
