"""What hotpath.py and request_log.py share: options, CPU pinning, load, a quiet machine, git."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import loadgen
import payloads
import procstat
import servers

ROOT = Path(__file__).resolve().parent.parent
Measurement = dict[str, float]  # one phase's figures: rps, latencies, CPU shares


def parser(description: str, results: Path, rounds_help: str) -> argparse.ArgumentParser:
    """The options every paired-rounds benchmark takes; a script adds its own after these."""
    made = argparse.ArgumentParser(description=description)
    made.add_argument("--duration", type=int, default=5, help="seconds per timed phase")
    made.add_argument("--quick", action="store_true", help="one round of 2 s phases, no waiting")
    made.add_argument("--rounds", type=int, default=3, help=rounds_help)
    made.add_argument("--connections", type=int, default=4, help="concurrent connections")
    made.add_argument(
        "--max-other", type=float, default=0.15, help="re-measure when other load exceeds this"
    )
    made.add_argument("--attempts", type=int, default=3, help="measurements per phase at most")
    made.add_argument(
        "--quiet-wait", type=float, default=30.0, help="seconds to wait for a quiet machine"
    )
    made.add_argument("--client", choices=("auto", "native", "python"), default="auto")
    made.add_argument("--no-pin", action="store_true", help="do not pin server and client CPUs")
    made.add_argument("--out", type=Path, default=results, help="where to write the JSON")
    return made


def finish(args: argparse.Namespace) -> argparse.Namespace:
    """--quick shortens everything; an `auto` client is wrk/h2load when they are installed."""
    if args.quick:
        args.duration, args.rounds = min(args.duration, 2), 1
        args.quiet_wait = min(args.quiet_wait, 5.0)
    if args.client == "auto":
        args.client = "native" if loadgen.native_available() else "python"
    return args


def pinning(args: argparse.Namespace) -> tuple[set[int] | None, set[int] | None]:
    """(server CPUs, client CPUs): servers on the last CPU; load generator and sinks on the rest."""
    cpus = sorted(os.sched_getaffinity(0))
    if args.no_pin or args.client != "native" or len(cpus) < 2:
        return None, None
    return {cpus[-1]}, set(cpus[:-1])


def load(server: servers.Server, payload: payloads.Payload, spec: loadgen.LoadSpec) -> Any:
    if server.transport == "REST":
        return loadgen.rest(server.port, payload.rest_body, spec)
    return loadgen.grpc(server.port, payload.grpc_request.SerializeToString(), spec)


def wait_quiet(args: argparse.Namespace) -> None:
    """Wait (up to --quiet-wait seconds) until the machine, our idle servers included, is quiet."""
    deadline = time.monotonic() + args.quiet_wait
    while True:
        before = procstat.machine_busy_seconds()
        time.sleep(1.0)
        if procstat.machine_busy_seconds() - before <= args.max_other:
            return
        if time.monotonic() > deadline:
            print("  (machine still busy; measuring anyway)", file=sys.stderr)
            return


def git_state() -> dict[str, Any]:
    """The commit measured, and whether seldon_server/ had uncommitted changes."""

    def git(*words: str) -> str:
        done = subprocess.run(["git", *words], capture_output=True, text=True, cwd=ROOT)
        return done.stdout.strip() if done.returncode == 0 else "?"

    dirty = git("status", "--porcelain", "--", "seldon_server")
    return {"commit": git("rev-parse", "--short", "HEAD"), "seldon_server_dirty": bool(dirty)}


def quiet_measure(
    measure: Callable[[], dict[str, float]], args: argparse.Namespace
) -> dict[str, float]:
    """Measure again (up to --attempts) while other processes take over --max-other of a CPU."""
    wait_quiet(args)
    best = measure()
    for _ in range(args.attempts - 1):
        if best["other_util"] <= args.max_other:
            break
        wait_quiet(args)
        again = measure()
        best = min(best, again, key=lambda m: m["other_util"])
    return best


def figures(result: Any, cpu: float, client: float, wall: float) -> Measurement:
    """A load result with the server's and the client's CPU over `wall` seconds."""
    return {
        "rps": result.rps,
        "p50_ms": result.p50_ms,
        "p99_ms": result.p99_ms,
        "cpu_ms": 1000 * cpu / max(result.requests, 1),
        "utilization": cpu / wall,
        "client_util": client / wall,
    }
