"""Benchmark of the request hot path: our REST and gRPC servers against bare floors, in one run.

Usage: .venv/bin/python bench/hotpath.py [--duration S] [--quick] [--rounds N] [--client KIND]
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import common
import loadgen
import orjson
import payloads
import procstat
import servers

KINDS = ("rest", "rest-floor", "grpc", "grpc-floor")
ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
CHECKS_PER_PAYLOAD = 20
SATURATED = 0.85  # server util below this: the server was not the bottleneck
# The targets: (label, kind, payload, measure, bound); measure is "ratio" or "cpu_ms".
TARGETS = (
    ("REST 1x10 req/s vs Flask floor", "rest", "ndarray 1x10", "ratio", 0.75),
    ("gRPC 1x10 req/s vs grpcio floor", "grpc", "ndarray 1x10", "ratio", 0.70),
    ("REST 100x100 server CPU ms/req", "rest", "ndarray 100x100", "cpu_ms", 1.5),
    ("gRPC 100x100 server CPU ms/req", "grpc", "ndarray 100x100", "cpu_ms", 2.0),
)


@dataclass(frozen=True)
class Cell:
    """One server x payload measurement (medians over rounds)."""

    kind: str
    payload: str
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_ms: float  # server CPU (whole process tree) per completed request
    utilization: float  # server CPU seconds per wall second: ~1 when the server is the bottleneck
    client_util: float  # the load generator's CPU seconds per wall second
    other_util: float  # everything else on the machine (other users disturb the figures)
    requests: int
    errors: int


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = common.parser(__doc__.split("\n")[0], RESULTS, "repeat the matrix; report medians")
    return common.finish(parser.parse_args(argv))


def _measure(
    server: servers.Server, payload: payloads.Payload, args: argparse.Namespace
) -> dict[str, float]:
    """Warm up, then one timed phase with the server's CPU read around it; checks after."""
    warm = loadgen.LoadSpec(args.connections, 1 if args.quick else 2, args.client)
    common.load(server, payload, warm)
    spec = loadgen.LoadSpec(args.connections, args.duration, args.client)
    pids = procstat.tree(server.process.pid)
    before = _cpu_clocks(pids)
    result = common.load(server, payload, spec)
    cpu, client, machine, wall = (b - a for a, b in zip(before, _cpu_clocks(pids), strict=True))
    servers.check(server, payload)  # still answering correctly after the load
    return {
        **common.figures(result, cpu, client, wall),
        "other_util": max(0.0, machine - cpu - client) / wall,
        "requests": result.requests,
        "errors": result.errors,
    }


def _cpu_clocks(pids: list[int]) -> tuple[float, float, float, float]:
    """(server tree CPU, finished children's CPU, machine busy CPU, wall clock), in seconds."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (
        procstat.cpu_seconds(pids),
        children.ru_utime + children.ru_stime,
        procstat.machine_busy_seconds(),
        time.monotonic(),
    )


def _cell(kind: str, payload: str, rounds: list[dict[str, float]]) -> Cell:
    def median(key: str) -> float:
        return statistics.median(r[key] for r in rounds)

    return Cell(
        kind,
        payload,
        median("rps"),
        median("p50_ms"),
        median("p99_ms"),
        median("cpu_ms"),
        median("utilization"),
        median("client_util"),
        median("other_util"),
        int(sum(r["requests"] for r in rounds)),
        int(sum(r["errors"] for r in rounds)),
    )


def _verify_all(started: list[servers.Server], cases: list[payloads.Payload]) -> None:
    for server in started:
        servers.wait_ready(server, cases[0])
        for payload in cases:
            for _ in range(CHECKS_PER_PAYLOAD):
                servers.check(server, payload)


Rounds = dict[tuple[str, str], list[dict[str, float]]]


def _run_matrix(
    started: list[servers.Server], cases: list[payloads.Payload], args: argparse.Namespace
) -> Rounds:
    """Every payload on every server, ours next to its floor so both see the same machine.

    The order alternates between rounds (ours first, then the floor first) so that a drift
    of the machine within a pair does not favour either side.
    """
    raw: Rounds = {}
    for round_index in range(args.rounds):
        order = started if round_index % 2 == 0 else _floor_first(started)
        for payload in cases:
            for server in order:
                measure = functools.partial(_measure, server, payload, args)
                measured = common.quiet_measure(measure, args)
                raw.setdefault((server.kind, payload.name), []).append(measured)
                print(
                    f"  round {round_index + 1} {server.kind:<10} {payload.name:<16}"
                    f" {measured['rps']:8.0f} req/s  {measured['cpu_ms']:6.3f} CPU ms/req",
                    file=sys.stderr,
                )
    return raw


def _floor_first(started: list[servers.Server]) -> list[servers.Server]:
    """rest-floor, rest, grpc-floor, grpc: each floor just before its server."""
    out: list[servers.Server] = []
    for server in started:
        if server.floor:
            out.insert(len(out) - 1, server)
        else:
            out.append(server)
    return out


def _find(cells: list[Cell], kind: str, payload: str) -> Cell:
    return next(c for c in cells if c.kind == kind and c.payload == payload)


def _targets(cells: list[Cell], raw: Rounds) -> list[dict[str, Any]]:
    """Each target's value. A ratio is the median over rounds of ours / floor req/s measured
    back to back in that round (the machine drifts between rounds far more than within a
    pair); the ratio of the medians and the CPU-based ratio are reported beside it."""
    out = []
    for label, kind, payload, measure, bound in TARGETS:
        ours = _find(cells, kind, payload)
        row: dict[str, Any] = {"target": label, "bound": bound}
        if measure == "ratio":
            floor = _find(cells, f"{kind}-floor", payload)
            pairs = zip(raw[kind, payload], raw[f"{kind}-floor", payload], strict=True)
            row["round_ratios"] = [ours_r["rps"] / floor_r["rps"] for ours_r, floor_r in pairs]
            row["value"] = statistics.median(row["round_ratios"])
            row["ratio_of_medians"] = ours.rps / floor.rps
            row["cpu_ratio"] = floor.cpu_ms / ours.cpu_ms  # capacity of one saturated CPU
            row["pass"] = row["value"] >= bound
        else:
            row["value"] = ours.cpu_ms
            row["pass"] = row["value"] <= bound
        out.append(row)
    return out


def _table(cells: list[Cell], targets: list[dict[str, Any]]) -> str:
    head = f"{'server':<11}{'payload':<17}{'req/s':>7}{'p50 ms':>8}{'p99 ms':>8}{'CPU ms/req':>11}"
    head += f"{'util: srv':>10}{'client':>7}{'other':>6}{'errors':>7}"
    lines = [head, "-" * len(head)]
    for c in sorted(cells, key=lambda c: (c.kind[:4], c.payload, c.kind)):
        lines.append(
            f"{c.kind:<11}{c.payload:<17}{c.rps:7.0f}{c.p50_ms:8.2f}{c.p99_ms:8.2f}{c.cpu_ms:11.3f}"
            f"{c.utilization:10.2f}{c.client_util:7.2f}{c.other_util:6.2f}{c.errors:7d}"
        )
    lines.append("")
    idle = [c for c in cells if c.utilization < SATURATED]
    if idle:
        lines.append(
            f"note: {len(idle)} cells ran below {SATURATED} server util (client-bound or"
            " disturbed): their req/s understate the server; trust CPU ms/req"
        )
    for t in targets:
        sign = ">=" if "req/s" in t["target"] else "<="
        verdict = "PASS" if t["pass"] else "FAIL"
        extra = ""
        if "cpu_ratio" in t:
            rounds = ", ".join(f"{r:.3f}" for r in t["round_ratios"])
            extra = (
                f"   rounds {rounds}; ratio of medians {t['ratio_of_medians']:.3f},"
                f" CPU-based {t['cpu_ratio']:.3f}"
            )
        line = f"{t['target']:<34}{t['value']:7.3f}  ({sign} {t['bound']})  {verdict}{extra}"
        lines.append(line)
    return "\n".join(lines)


def _environment(args: argparse.Namespace) -> dict[str, Any]:
    packages = ("flask", "werkzeug", "gunicorn", "grpcio", "protobuf", "orjson", "numpy")
    return {
        "git": common.git_state(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "versions": {name: metadata.version(name) for name in packages},
        "client": "wrk + h2load" if args.client == "native" else "python processes",
        "connections": args.connections,
        "duration_s": args.duration,
        "rounds": args.rounds,
        "max_other": args.max_other,
        "quiet_wait_s": args.quiet_wait,
        "pinned": common.pinning(args)[0] is not None,
        "settings": "1 worker x 1 thread (gunicorn sync; grpc 1-thread pool)",
    }


def main(argv: list[str]) -> int:
    args = _parse(argv)
    server_cpus, client_cpus = common.pinning(args)
    if client_cpus:
        os.sched_setaffinity(0, client_cpus)  # wrk and h2load inherit it
    cases = payloads.all_payloads()
    environment = _environment(args)  # before the run: others may commit while it goes on
    with tempfile.TemporaryDirectory(prefix="hotpath-") as log_dir:
        started = [servers.start(kind, Path(log_dir), server_cpus) for kind in KINDS]
        try:
            _verify_all(started, cases)
            raw = _run_matrix(started, cases, args)
        finally:
            for server in started:
                servers.stop(server)
    cells = [_cell(kind, name, rounds) for (kind, name), rounds in raw.items()]
    targets = _targets(cells, raw)
    report = {
        "command": " ".join(["bench/hotpath.py", *argv]),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "environment": environment,
        "results": [asdict(c) for c in cells],
        "rounds": [
            {"kind": kind, "payload": name, "round": index + 1, **measured}
            for (kind, name), rounds in raw.items()
            for index, measured in enumerate(rounds)
        ],
        "targets": targets,
    }
    args.out.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
    print(_table(cells, targets))
    print(f"\nwritten: {args.out}")
    if any(c.errors for c in cells):
        print("ERRORS during load: the figures above are not valid", file=sys.stderr)
        return 2
    return 0 if all(t["pass"] for t in targets) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
