#!/usr/bin/env python3
"""V2 (Open Inference Protocol) throughput and server CPU: ours against MLServer, side by side.

Both serve an identity model with one process per transport: ours `seldon-microservice
identity.Identity` (one REST worker; one gRPC process), MLServer 1.7 (`parallel_workers: 0`, its
REST and gRPC in its one process) from the interop venv (`scripts/setup-interop`). Cells: 1x10 and
100x100 FP64, REST JSON and gRPC typed contents, plus REST binary tensors and gRPC raw contents
for 100x100. Each server runs pinned to the last CPU, the load generator (wrk for REST, h2load for
gRPC, 4 connections) on the others; CPU ms/req counts the whole server process tree. Targets: ours
>= 2x MLServer's req/s on every cell and <= half its CPU per request; ours binary/raw >= 5x ours
JSON/typed for 100x100.

A third server, the floor (`serve.py v2-floor`), answers every infer request with its own bytes:
a bare Flask view on the same Gunicorn worker and a bare grpcio handler on the same pool size,
no parsing at all. Where the floor's CPU per request is above half of MLServer's, the 2x target
cannot be met on that transport by any work done inside Flask or grpcio handlers.

Every server runs at once; each cell is measured on every side back to back, in an order that
alternates between rounds, and the figures are medians of the ratios within a round.

Usage: .venv/bin/python bench/v2.py [--seconds 5] [--rounds 3] [--no-mlserver] [--no-floor]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from procstat import cpu_seconds, tree  # noqa: E402
from readiness import free_port, pin_tree, stop_group, wait_ready  # noqa: E402

from seldon_server.proto import grpc_predict_v2_pb2 as pb  # noqa: E402

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CLI = Path(sys.executable).with_name("seldon-microservice")
INTEROP = ROOT / ".venv-interop" / "bin"
GRPC_PATH = "/inference.GRPCInferenceService/ModelInfer"
CONNECTIONS = 4
MODEL = "Identity"  # the name every server serves the identity model under
_WRK = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "{content_type}"
{extra}
local file = io.open("{body}", "rb")
wrk.body = file:read("*a")
file:close()
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{{"requests":%d,"micros":%d,"errors":%d}}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def values(rows: int, cols: int) -> np.ndarray:
    return np.random.default_rng(7).uniform(0.1, 10.0, size=(rows, cols))


def rest_json(array: np.ndarray) -> bytes:
    body = {"inputs": [{"name": "x", "datatype": "FP64", "shape": list(array.shape),
                        "data": array.ravel().tolist()}]}  # fmt: skip
    return json.dumps(body).encode()


def rest_binary(array: np.ndarray) -> tuple[bytes, int]:
    raw = array.astype("<f8").tobytes()
    header = json.dumps({
        "inputs": [{"name": "x", "datatype": "FP64", "shape": list(array.shape),
                    "parameters": {"binary_data_size": len(raw)}}],
        "outputs": [{"name": "output-0", "parameters": {"binary_data": True}}],
    }).encode()  # fmt: skip
    return header + raw, len(header)


def grpc_message(array: np.ndarray, raw: bool, name: str) -> bytes:
    tensor = pb.ModelInferRequest.InferInputTensor(name="x", datatype="FP64", shape=array.shape)
    message = pb.ModelInferRequest(model_name=name, inputs=[tensor])
    if raw:
        message.raw_input_contents.append(array.astype("<f8").tobytes())
    else:
        message.inputs[0].contents.fp64_contents.extend(array.ravel().tolist())
    data = message.SerializeToString()
    return b"\x00" + len(data).to_bytes(4, "big") + data


class Served:
    def __init__(self, process: subprocess.Popen[bytes], http: int, grpc: int) -> None:
        self.process, self.http, self.grpc = process, http, grpc


def start_ours(cpus: set[int] | None, log: Path) -> Served:
    http, grpc = free_port(), free_port()
    command = [str(CLI), "identity.Identity", "--http-port", str(http), "--grpc-port", str(grpc),
               "--metrics-port", str(free_port())]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SELDON_", "GUNICORN_"))}
    return _start(command, BENCH / "models", env, cpus, log, http, grpc, "/v2/health/ready")


def start_mlserver(cpus: set[int] | None, log: Path) -> Served:
    http, grpc = free_port(), free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("MLSERVER")},
           "MLSERVER_HTTP_PORT": str(http), "MLSERVER_GRPC_PORT": str(grpc),
           "MLSERVER_METRICS_PORT": str(free_port()), "MLSERVER_HOST": "127.0.0.1",
           "MLSERVER_PARALLEL_WORKERS": "0", "MLSERVER_LOGGING_LEVEL": "WARNING",
           "MLSERVER_METRICS_ENDPOINT": ""}  # fmt: skip
    command = [str(INTEROP / "mlserver"), "start", "."]
    return _start(command, BENCH / "mlserver_identity", env, cpus, log, http, grpc,
                  "/v2/models/Identity/ready")  # fmt: skip


def start_floor(cpus: set[int] | None, log: Path) -> Served:
    http, grpc = free_port(), free_port()
    command = [sys.executable, str(BENCH / "serve.py"), "v2-floor", str(http), str(grpc)]
    served = _start(command, BENCH, dict(os.environ), cpus, log, http, grpc, "/v2/health/ready")
    for _ in range(300):  # the gRPC echo starts in its own child: up to 30 s
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", grpc)) == 0:
                break
        if served.process.poll() is not None:
            raise SystemExit(f"the floor server exited: see {log}")
        time.sleep(0.1)
    pin_tree(served.process.pid, cpus)
    return served


def _start(command: list[str], cwd: Path, env: dict[str, str], cpus: set[int] | None,
           log: Path, http: int, grpc: int, ready: str) -> Served:  # fmt: skip
    with open(log, "ab") as out:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    wait_ready(f"http://127.0.0.1:{http}{ready}", process, log)
    pin_tree(process.pid, cpus)
    return Served(process, http, grpc)


def wrk(port: int, path: str, body: bytes, seconds: int, cpus: set[int] | None,
        header_length: int | None = None) -> tuple[float, int]:  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        body_path = Path(tmp, "body")
        body_path.write_bytes(body)
        extra = ""
        content_type = "application/json"
        if header_length is not None:
            extra = f'wrk.headers["Inference-Header-Content-Length"] = "{header_length}"'
            content_type = "application/octet-stream"
        script = Path(tmp, "post.lua")
        script.write_text(_WRK.format(body=body_path, extra=extra, content_type=content_type))
        out = _run(["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "-s", str(script),
                    f"http://127.0.0.1:{port}{path}"], seconds, cpus)  # fmt: skip
    summary = json.loads(out.strip().splitlines()[-1])
    return summary["micros"] / 1e6, summary["requests"] - summary["errors"]


def h2load(port: int, frame: bytes, seconds: int, cpus: set[int] | None) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        body_path = Path(tmp, "body")
        body_path.write_bytes(frame)
        out = _run(["h2load", "-t1", f"-c{CONNECTIONS}", "-m1", f"-D{seconds}",
                    "-H", "content-type: application/grpc", "-H", "te: trailers",
                    "-d", str(body_path), f"http://127.0.0.1:{port}{GRPC_PATH}"],
                   seconds, cpus)  # fmt: skip
    took = float(re.search(r"finished in ([\d.]+)s", out).group(1))  # type: ignore[union-attr]
    done = int(re.search(r"(\d+) 2xx", out).group(1))  # type: ignore[union-attr]
    return took, done


def _run(command: list[str], seconds: int, cpus: set[int] | None) -> str:
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, check=False,
        preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"{command[0]} failed: {done.stderr.strip()}")
    return done.stdout


def measure(served: Served, cell: dict[str, object], seconds: int,
            cpus: set[int] | None) -> dict[str, float]:  # fmt: skip
    """req/s and server CPU ms/req for one cell (a 1 s warm-up first)."""
    for warm in (True, False):
        pids = tree(served.process.pid)
        cpu_before = cpu_seconds(pids)
        if cell["transport"] == "grpc":
            took, done = h2load(served.grpc, cell["frame"], 1 if warm else seconds, cpus)  # type: ignore[arg-type]
        else:
            path = f"/v2/models/{MODEL}/infer"
            took, done = wrk(served.http, path, cell["body"], 1 if warm else seconds, cpus,  # type: ignore[arg-type]
                             cell.get("header_length"))  # type: ignore[arg-type]  # fmt: skip
        cpu = cpu_seconds(pids) - cpu_before
    return {"rps": done / took, "cpu_ms": 1000 * cpu / max(done, 1)}


def cells() -> list[dict[str, object]]:
    made: list[dict[str, object]] = []
    for label, array in (("1x10", values(1, 10)), ("100x100", values(100, 100))):
        made.append({"cell": f"REST JSON {label}", "transport": "rest", "body": rest_json(array)})
        made.append({"cell": f"gRPC typed {label}", "transport": "grpc",
                     "frame": grpc_message(array, False, MODEL)})  # fmt: skip
    big = values(100, 100)
    body, length = rest_binary(big)
    made.append({"cell": "REST binary 100x100", "transport": "rest", "body": body,
                 "header_length": length, "ours_only": True})  # fmt: skip
    made.append({"cell": "gRPC raw 100x100", "transport": "grpc",
                 "frame": grpc_message(big, True, MODEL), "ours_only": True})  # fmt: skip
    return made


Figures = dict[str, dict[str, dict[str, float]]]  # one round: cell -> side -> figures
Rounds = list[Figures]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-mlserver", action="store_true")
    parser.add_argument("--no-floor", action="store_true")
    args = parser.parse_args()
    all_cpus = sorted(os.sched_getaffinity(0))
    server_cpus, client_cpus = (
        ({all_cpus[-1]}, set(all_cpus[:-1])) if len(all_cpus) > 1 else (None, None)
    )
    log = Path(tempfile.mkdtemp(prefix="bench-v2-")) / "servers.log"
    with_mlserver = not args.no_mlserver
    if with_mlserver and not (INTEROP / "mlserver").exists():
        raise SystemExit("MLServer is not installed: run scripts/setup-interop (or --no-mlserver)")
    starts = [("ours", start_ours)]
    if with_mlserver:
        starts.append(("mlserver", start_mlserver))
    if not args.no_floor:
        starts.append(("floor", start_floor))
    # Every server stays up (idle ones cost nothing measurable) so that each cell is measured
    # on every side back to back, in alternating order: the host drifts by tens of percent
    # within minutes, so only ratios within a round compare like with like.
    served: dict[str, Served] = {}
    rounds: Rounds = []
    try:
        for side, start in starts:
            served[side] = start(server_cpus, log)
        made = cells()
        for number in range(args.rounds):
            rounds.append(run_round(number, served, made, args.seconds, client_cpus))
    finally:
        for each in served.values():
            stop_group(each.process)
    return report(rounds, with_mlserver)


def run_round(number: int, served: dict[str, Served], made: list[dict[str, object]],
              seconds: int, cpus: set[int] | None) -> Figures:  # fmt: skip
    """Each cell on every side back to back, the sides' order alternating between rounds."""
    sides = list(served) if number % 2 == 0 else list(reversed(served))
    figures: Figures = {}
    for cell in made:
        for side in sides:
            if side == "mlserver" and cell.get("ours_only"):
                continue
            measured = measure(served[side], cell, seconds, cpus)
            figures.setdefault(str(cell["cell"]), {})[side] = measured
            print(f"round {number + 1} {side:8} {cell['cell']:22} {measured['rps']:9.0f} req/s "
                  f"{measured['cpu_ms']:7.3f} CPU ms/req", flush=True)  # fmt: skip
    return figures


def _median(rounds: Rounds, cell: str, ratio: Any) -> tuple[float, list[float]]:
    values = [ratio(figures[cell]) for figures in rounds]
    return statistics.median(values), values


def _shown(values: list[float]) -> str:
    return ", ".join(f"{value:.2f}" for value in values)


def report(rounds: Rounds, with_mlserver: bool) -> int:
    """Medians over rounds of ratios taken within a round; PASS/FAIL per target."""
    ok = True
    print()
    for cell, sides in rounds[0].items():
        if not with_mlserver or "mlserver" not in sides:
            continue
        speed, speeds = _median(rounds, cell, lambda f: f["ours"]["rps"] / f["mlserver"]["rps"])
        cpu, cpus = _median(rounds, cell, lambda f: f["ours"]["cpu_ms"] / f["mlserver"]["cpu_ms"])
        passed = speed >= 2 and cpu <= 0.5
        ok &= passed
        print(f"{cell:22} ours/MLServer req/s {speed:5.2f} ({_shown(speeds)}), CPU/req "
              f"{cpu:5.2f} ({_shown(cpus)}): {'PASS' if passed else 'FAIL'}")  # fmt: skip
        if "floor" in sides:
            bound, bounds = _median(
                rounds, cell, lambda f: f["floor"]["cpu_ms"] / f["mlserver"]["cpu_ms"]
            )
            reach = "within reach" if bound <= 0.5 else "out of reach"
            print(f"{'':22} floor/MLServer CPU/req {bound:5.2f} ({_shown(bounds)}): the 2x "
                  f"target is {reach} on this transport")  # fmt: skip
    for fast, slow in (("REST binary 100x100", "REST JSON 100x100"),
                       ("gRPC raw 100x100", "gRPC typed 100x100")):  # fmt: skip
        ratios = [f[fast]["ours"]["rps"] / f[slow]["ours"]["rps"] for f in rounds]
        ratio = statistics.median(ratios)
        ok &= ratio >= 5
        verdict = "PASS" if ratio >= 5 else "FAIL"
        line = f"{fast} / {slow}: {ratio:.2f}x ({_shown(ratios)}) {verdict}"
        if "floor" in rounds[0][slow]:
            bounds = [f[slow]["ours"]["cpu_ms"] / f[fast]["floor"]["cpu_ms"] for f in rounds]
            line += f"; ours {slow} CPU / the floor's {fast}: {statistics.median(bounds):.2f}x"
        print(line)
    (BENCH / "v2_results.json").write_text(json.dumps({"rounds": rounds}, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
