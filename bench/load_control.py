#!/usr/bin/env python3
"""Load control side by side: adaptive batching on vs off, and goodput past capacity.

The model (bench/models/costly.py) costs 2 ms per call plus 5 us per row, spinning as Python code
does; the server is the real CLI with one worker, pinned to one CPU, h2load on the other (HTTP/1.1
for REST, HTTP/2 for gRPC; its per-request log gives each status and latency).

Batching: 64 clients in a closed loop, 1x10 float requests, `--threads 8` (and `--max-admitted
256`, so nothing is shed) with and without `--max-batch-size 64 --max-batch-time 5`; target: on
>= 5x off in req/s, p99 reported. Overload: `--threads 4` (`--grpc-threads 4`), capacity measured
with 4 closed-loop clients, then 10x that rate offered open-loop by 40 clients; targets: goodput
(200s per second) >= 90% of capacity and p99 of the refusals (503 / RESOURCE_EXHAUSTED) < 100 ms.

Usage: .venv/bin/python bench/load_control.py [--seconds 10] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from google.protobuf import json_format

from seldon_server.proto import prediction_pb2

sys.path.insert(0, str(Path(__file__).parent))
from readiness import free_port, pin_tree, stop_group, wait_ready  # noqa: E402

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CLI = Path(sys.executable).with_name("seldon-microservice")
REST_PATH = "/api/v1.0/predictions"
GRPC_PATH = "/seldon.protos.Model/Predict"
BODY = {"data": {"ndarray": [[0.5 + i for i in range(10)]]}}
GRPC_OK = "200"


@dataclass
class Phase:
    """What h2load saw: per-request statuses and latencies over a wall-clock span."""

    statuses: list[str]
    latencies_ms: list[float]
    seconds: float

    def rate(self, status: str = GRPC_OK) -> float:
        return sum(1 for s in self.statuses if s == status) / self.seconds

    def p99(self, status: str = GRPC_OK) -> float:
        chosen = [ms for s, ms in zip(self.statuses, self.latencies_ms, strict=True) if s == status]
        return float(np.percentile(chosen, 99)) if chosen else float("nan")


def serve(
    flags: list[str], cpus: set[int] | None, log: Path, model: str = "costly.Costly"
) -> tuple[subprocess.Popen[bytes], int, int]:
    http, grpc_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SELDON_", "GUNICORN_"))}
    command = [str(CLI), model, "--http-port", str(http), "--grpc-port",
               str(grpc_port), "--metrics-port", str(free_port()), *flags]  # fmt: skip
    with open(log, "ab") as out:
        process = subprocess.Popen(
            command, cwd=BENCH / "models", env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    if cpus:
        os.sched_setaffinity(process.pid, cpus)
    wait_ready(f"http://127.0.0.1:{http}/ready", process, log)
    pin_tree(process.pid, cpus)
    return process, http, grpc_port


def h2load(port: int, grpc: bool, clients: int, seconds: int, cpus: set[int] | None,
           rps: float | None = None) -> Phase:  # fmt: skip
    """Seldon predict requests over REST or gRPC (see _h2load)."""
    if grpc:
        data = json_format.ParseDict(BODY, prediction_pb2.SeldonMessage()).SerializeToString()
        body = b"\x00" + len(data).to_bytes(4, "big") + data
        headers = ["-H", "content-type: application/grpc", "-H", "te: trailers"]
        return _h2load(f"http://127.0.0.1:{port}{GRPC_PATH}", body, headers, clients, seconds,
                       cpus, rps)  # fmt: skip
    headers = ["--h1", "-H", "content-type: application/json"]
    return _h2load(f"http://127.0.0.1:{port}{REST_PATH}", json.dumps(BODY).encode(), headers,
                   clients, seconds, cpus, rps)  # fmt: skip


def _h2load(url: str, body: bytes, headers: list[str], clients: int, seconds: int,
            cpus: set[int] | None, rps: float | None = None) -> Phase:  # fmt: skip
    """`clients` connections, one request in flight each; open loop at `rps` per client. The
    statuses are the logged HTTP ones (for gRPC, 200 whatever the trailers say)."""
    with tempfile.TemporaryDirectory() as tmp:
        body_path, log = Path(tmp, "body"), Path(tmp, "log")
        body_path.write_bytes(body)
        command = ["h2load", "-t1", f"-c{clients}", "-m1", f"-D{seconds}", *headers,
                   "-d", str(body_path), f"--log-file={log}"]  # fmt: skip
        if rps:
            command.append(f"--rps={rps:.3f}")
        done = subprocess.run(
            [*command, url], capture_output=True, text=True, timeout=seconds + 60, check=False,
            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
        )  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(f"h2load failed: {done.stderr.strip()}")
        rows = [line.split("\t") for line in log.read_text().splitlines() if line]
    took = float(re.search(r"finished in ([\d.]+)s", done.stdout).group(1))  # type: ignore[union-attr]
    return Phase([row[1] for row in rows], [int(row[2]) / 1000 for row in rows], took)


def batching(args: argparse.Namespace, grpc: bool, cpus: tuple[set[int] | None, set[int] | None],
             log: Path) -> dict[str, float]:  # fmt: skip
    base = ["--workers", "1", "--threads", "8", "--grpc-threads", "8", "--max-admitted", "256"]
    batched = [*base, "--max-batch-size", "64", "--max-batch-time", str(args.max_batch_time)]
    results = {}
    for name, flags in (("off", base), ("on", batched)):
        process, http, grpc_port = serve(flags, cpus[0], log)
        try:
            h2load(grpc_port if grpc else http, grpc, 64, 2, cpus[1])  # warm-up
            phase = h2load(grpc_port if grpc else http, grpc, 64, args.seconds, cpus[1])
        finally:
            stop_group(process)
        results[f"{name}_rps"] = phase.rate()
        results[f"{name}_p99_ms"] = phase.p99()
    results["ratio"] = results["on_rps"] / results["off_rps"]
    return results


def mlserver_batching(
    args: argparse.Namespace, cpus: tuple[set[int] | None, set[int] | None], log: Path
) -> dict[str, float] | None:
    """V2 REST, 64 clients, batching off and on (64 requests, --max-batch-time ms) on both
    servers: ours and MLServer 1.7 (`parallel_workers: 0`, its adaptive batching), the same
    model cost. None when MLServer is not installed (scripts/setup-interop)."""
    mlserver = ROOT / ".venv-interop" / "bin" / "mlserver"
    if not mlserver.exists():
        return None
    body = json.dumps({"inputs": [{"name": "x", "datatype": "FP64", "shape": [1, 10],
                                   "data": BODY["data"]["ndarray"][0]}]}).encode()  # type: ignore[index]  # fmt: skip
    results: dict[str, float] = {}
    base = ["--workers", "1", "--threads", "8", "--max-admitted", "256", "--grpc-workers", "0"]
    for name, batch in (("off", 0), ("on", 64)):
        flags = [
            *base,
            "--max-batch-size",
            str(batch),
            "--max-batch-time",
            str(args.max_batch_time),
        ]
        process, http, _ = serve(flags, cpus[0], log)
        try:
            phase = _v2_load(http, "Costly", body, args.seconds, cpus[1])
        finally:
            stop_group(process)
        results[f"ours_{name}_rps"], results[f"ours_{name}_p99_ms"] = phase.rate(), phase.p99()
        served = _start_mlserver(mlserver, batch, args.max_batch_time / 1000, cpus[0], log)
        try:
            phase = _v2_load(served[1], "Costly", body, args.seconds, cpus[1])
        finally:
            stop_group(served[0])
        results[f"mlserver_{name}_rps"] = phase.rate()
        results[f"mlserver_{name}_p99_ms"] = phase.p99()
    results["ours_on_vs_mlserver_on"] = results["ours_on_rps"] / results["mlserver_on_rps"]
    return results


def _v2_load(port: int, model: str, body: bytes, seconds: int, cpus: set[int] | None) -> Phase:
    url = f"http://127.0.0.1:{port}/v2/models/{model}/infer"
    headers = ["--h1", "-H", "content-type: application/json"]
    _h2load(url, body, headers, 64, 2, cpus)  # warm-up
    return _h2load(url, body, headers, 64, seconds, cpus)


def _start_mlserver(mlserver: Path, batch: int, batch_seconds: float, cpus: set[int] | None,
                    log: Path) -> tuple[subprocess.Popen[bytes], int]:  # fmt: skip
    http = free_port()
    folder = Path(tempfile.mkdtemp(prefix="bench-mlserver-"))
    (folder / "runtime.py").write_text((BENCH / "mlserver_costly" / "runtime.py").read_text())
    settings = {"name": "Costly", "implementation": "runtime.Costly", "parallel_workers": 0}
    if batch:
        settings.update(max_batch_size=batch, max_batch_time=batch_seconds)
    (folder / "model-settings.json").write_text(json.dumps(settings))
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("MLSERVER")},
           "MLSERVER_HTTP_PORT": str(http), "MLSERVER_GRPC_PORT": str(free_port()),
           "MLSERVER_METRICS_PORT": str(free_port()), "MLSERVER_HOST": "127.0.0.1",
           "MLSERVER_PARALLEL_WORKERS": "0", "MLSERVER_LOGGING_LEVEL": "WARNING"}  # fmt: skip
    with open(log, "ab") as out:
        process = subprocess.Popen([str(mlserver), "start", "."], cwd=folder, env=env,
                                   stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # fmt: skip
    wait_ready(f"http://127.0.0.1:{http}/v2/models/Costly/ready", process, log)
    pin_tree(process.pid, cpus)
    return process, http


def overload(args: argparse.Namespace, grpc: bool, cpus: tuple[set[int] | None, set[int] | None],
             log: Path) -> dict[str, float]:  # fmt: skip
    """A model that waits 20 ms per call (threads pile up behind it), 4 at once: capacity from 4
    closed-loop clients, then 10x that rate offered by 40 clients (each 1 request in flight)."""
    flags = ["--workers", "1", "--threads", "4", "--grpc-threads", "4"]
    process, http, grpc_port = serve(flags, cpus[0], log, "costly.Waiting")
    try:
        measure = _grpc_load if grpc else _rest_load
        port = grpc_port if grpc else http
        measure(port, 4, 2, cpus[1], None)  # warm-up
        capacity = measure(port, 4, args.seconds, cpus[1], None).rate("200")
        offered = 10 * capacity
        phase = measure(port, 40, args.seconds, cpus[1], offered / 40)
        after = measure(port, 4, 2, cpus[1], None).rate("200")
    finally:
        stop_group(process)
    refused = "RESOURCE_EXHAUSTED" if grpc else "503"
    return {
        "capacity_rps": capacity,
        "offered_rps": offered,
        "goodput_rps": phase.rate("200"),
        "goodput_ratio": phase.rate("200") / capacity,
        "served_p99_ms": phase.p99("200"),
        "refused_rps": phase.rate(refused),
        "refused_p99_ms": phase.p99(refused),
        "other_answers": sum(1 for s in phase.statuses if s not in ("200", refused)),
        "after_rps": after,
    }


def _rest_load(port: int, clients: int, seconds: int, cpus: set[int] | None,
               rps: float | None) -> Phase:  # fmt: skip
    return h2load(port, False, clients, seconds, cpus, rps)


def _grpc_load(port: int, clients: int, seconds: int, cpus: set[int] | None,
               rps: float | None) -> Phase:  # fmt: skip
    """gRPC refusals travel in trailers, which h2load does not log: a Python asyncio client (in a
    child process on the client CPUs) records each call's status and latency instead."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp, "calls.json")
        command = [sys.executable, str(BENCH / "grpc_rate.py"), str(port), str(clients),
                   str(seconds), str(rps or 0), str(out)]  # fmt: skip
        subprocess.run(
            command, check=True, timeout=seconds + 60,
            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
        )  # fmt: skip
        data = json.loads(out.read_text())
    return Phase(data["statuses"], data["latencies_ms"], data["seconds"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--max-batch-time", type=float, default=20.0, help="ms, batching phase")
    args = parser.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    pinned = ({cpus[-1]}, set(cpus[:-1])) if len(cpus) > 1 else (None, None)
    log = Path(tempfile.mkdtemp(prefix="bench-load-")) / "server.log"
    summary: dict[str, dict[str, float]] = {}
    for transport in ("rest", "grpc"):
        summary[f"batching_{transport}"] = batching(args, transport == "grpc", pinned, log)
        print(transport, "batching", json.dumps(summary[f"batching_{transport}"]), flush=True)
    versus = mlserver_batching(args, pinned, log)
    if versus is not None:
        summary["batching_v2_vs_mlserver"] = versus
        print("V2 batching, ours and MLServer", json.dumps(versus), flush=True)
    for transport in ("rest", "grpc"):
        summary[f"overload_{transport}"] = overload(args, transport == "grpc", pinned, log)
        print(transport, "overload", json.dumps(summary[f"overload_{transport}"]), flush=True)
    return report(summary, args)


def report(summary: dict[str, dict[str, float]], args: argparse.Namespace) -> int:
    checks = []
    for transport in ("rest", "grpc"):
        batch = summary[f"batching_{transport}"]
        over = summary[f"overload_{transport}"]
        checks += [
            (f"{transport} batching on/off req/s >= 5", batch["ratio"], batch["ratio"] >= 5),
            (f"{transport} goodput at 10x >= 0.9 of capacity", over["goodput_ratio"],
             over["goodput_ratio"] >= 0.9),
            (f"{transport} refusals p99 < 100 ms", over["refused_p99_ms"],
             over["refused_p99_ms"] < 100),
        ]  # fmt: skip
    ok = all(passed for _, _, passed in checks)
    if args.json:
        print(json.dumps({"results": summary, "pass": ok}, indent=2))
    else:
        for name, value, passed in checks:
            print(f"{name}: {value:.2f} {'PASS' if passed else 'FAIL'}")
    (BENCH / "load_control_results.json").write_text(json.dumps(summary, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
