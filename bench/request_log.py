"""What request logging costs: our REST and gRPC servers with logging off, to a healthy sink and
to a stalled sink, measured in one run with paired rounds.

Usage: .venv/bin/python bench/request_log.py [--duration S] [--quick] [--rounds N]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.client
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import common
import loadgen
import orjson
import payloads
import procstat
import servers

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "request_log_results.json"
CONFIGS = ("off", "healthy", "stalled")  # logging off; to a healthy sink; to a stalled sink
TRANSPORTS = (("REST", "rest"), ("gRPC", "grpc"))  # (label, serve.py kind without logging)
TARGET = 0.8  # logged / unlogged req/s, each transport and sink
DELIVERY = 0.99  # the healthy sink must receive at least this share of 2 events per request
SETTLE_SECONDS = 0.5  # the sink's count is final once unchanged this long


@dataclass
class Sink:
    """One sink.py process: healthy or stalled."""

    mode: str
    port: int
    process: subprocess.Popen[bytes]
    log: IO[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"


@dataclass(frozen=True)
class Setup:
    """One measured configuration: a server and the sink it logs to (None: logging off)."""

    transport: str
    config: str
    server: servers.Server
    sink: Sink | None


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = common.parser(__doc__.split("\n")[0], RESULTS, "paired rounds; report medians")
    parser.add_argument("--logger-workers", type=int, help="the servers' sender threads")
    parser.add_argument("--log-work-buffer-size", type=int, help="the servers' queue capacity")
    return common.finish(parser.parse_args(argv))


# -- sinks ---------------------------------------------------------------------------------------


def _start_sink(mode: str, log_dir: Path, cpus: set[int] | None) -> Sink:
    port = servers.free_port()
    log = (log_dir / f"sink-{mode}.log").open("w+b")
    command = [sys.executable, str(servers.BENCH / "sink.py"), mode, str(port)]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    if cpus:
        os.sched_setaffinity(process.pid, cpus)
    sink = Sink(mode, port, process, log)
    deadline = time.monotonic() + servers.READY_SECONDS
    while True:
        try:
            _sink_count(sink)
            return sink
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _sink_count(sink: Sink) -> int:
    """POSTs the sink has received so far (it answers any GET with the count)."""
    connection = http.client.HTTPConnection("127.0.0.1", sink.port, timeout=5)
    try:
        connection.request("GET", "/count")
        return int(connection.getresponse().read())
    finally:
        connection.close()


def _settled_count(sink: Sink, limit: float = 15.0) -> int:
    """The count once the servers' queues have drained: unchanged for SETTLE_SECONDS."""
    deadline = time.monotonic() + limit
    last = _sink_count(sink)
    while time.monotonic() < deadline:
        time.sleep(SETTLE_SECONDS)
        now = _sink_count(sink)
        if now == last:
            return now
        last = now
    return last


def _stop_sink(sink: Sink) -> None:
    servers.stop_process(sink.process, sink.log, 5)


# -- measuring -----------------------------------------------------------------------------------


def _clocks(pids: list[int], sink: Sink | None) -> tuple[float, float, float, float, float]:
    """(server tree CPU, finished children's CPU, sink CPU, machine busy CPU, wall), seconds."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (
        procstat.cpu_seconds(pids),
        children.ru_utime + children.ru_stime,
        procstat.cpu_seconds([sink.process.pid]) if sink else 0.0,
        procstat.machine_busy_seconds(),
        time.monotonic(),
    )


def _measure(setup: Setup, payload: payloads.Payload, args: argparse.Namespace) -> dict[str, float]:
    """Warm up, one timed phase with CPU read around it, a check; then, for the healthy sink,
    the events it received for everything this phase served (warm-up and check included)."""
    server, healthy = setup.server, setup.sink if setup.config == "healthy" else None
    first = _settled_count(healthy) if healthy else 0
    warm = common.load(
        server, payload, loadgen.LoadSpec(args.connections, 1 if args.quick else 2, args.client)
    )
    pids = procstat.tree(server.process.pid)
    before = _clocks(pids, setup.sink)
    result = common.load(
        server, payload, loadgen.LoadSpec(args.connections, args.duration, args.client)
    )
    cpu, client, sink_cpu, machine, wall = (
        b - a for a, b in zip(before, _clocks(pids, setup.sink), strict=True)
    )
    servers.check(server, payload)  # still answering correctly after the load
    measured = {
        **common.figures(result, cpu, client, wall),
        "sink_util": sink_cpu / wall,
        "other_util": max(0.0, machine - cpu - client - sink_cpu) / wall,
        "requests": result.requests,
        "errors": result.errors + warm.errors,
    }
    if healthy:
        # A request and a response event per request served; wrk and h2load do not count the
        # requests still in flight when they stop, so `received` may exceed this by a few.
        measured["expected"] = 2 * (warm.requests + result.requests + 1)
        measured["received"] = _settled_count(healthy) - first
    return measured


Rounds = dict[tuple[str, str], list[dict[str, float]]]


def _run(setups: list[Setup], payload: payloads.Payload, args: argparse.Namespace) -> Rounds:
    """Each transport's three configurations back to back; the order reverses every other round
    (off, healthy, stalled; then stalled, healthy, off) so a drift favours none of them."""
    raw: Rounds = {}
    for round_index in range(args.rounds):
        for transport, _ in TRANSPORTS:
            group = [s for s in setups if s.transport == transport]
            for setup in group if round_index % 2 == 0 else group[::-1]:
                measure = functools.partial(_measure, setup, payload, args)
                measured = common.quiet_measure(measure, args)
                raw.setdefault((transport, setup.config), []).append(measured)
                events = ""
                if "received" in measured:
                    events = f"  events {measured['received']:.0f}/{measured['expected']:.0f}"
                print(
                    f"  round {round_index + 1} {transport:<5}{setup.config:<8}"
                    f" {measured['rps']:7.0f} req/s {measured['cpu_ms']:6.3f} CPU ms/req"
                    f"  other {measured['other_util']:.2f}{events}",
                    file=sys.stderr,
                )
    return raw


# -- reporting -----------------------------------------------------------------------------------


def _median(rounds: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in rounds)


def _targets(raw: Rounds) -> list[dict[str, Any]]:
    """Per transport and sink: the median over rounds of logged / off req/s measured in the same
    round (beside it the CPU-based ratio, off CPU ms/req / logged, what the req/s ratio tends to
    on a saturated core); and the healthy sink's delivery."""
    out: list[dict[str, Any]] = []
    for transport, _ in TRANSPORTS:
        off = raw[transport, "off"]
        for config in ("healthy", "stalled"):
            logged = raw[transport, config]
            ratios = [on["rps"] / base["rps"] for on, base in zip(logged, off, strict=True)]
            value = statistics.median(ratios)
            out.append({
                "target": f"{transport} {config} / off req/s",
                "bound": TARGET,
                "value": value,
                "round_ratios": ratios,
                "cpu_ratio": _median(off, "cpu_ms") / _median(logged, "cpu_ms"),
                "pass": value >= TARGET,
            })  # fmt: skip
        received = sum(r["received"] for r in raw[transport, "healthy"])
        expected = sum(r["expected"] for r in raw[transport, "healthy"])
        out.append({
            "target": f"{transport} healthy sink events received / 2 x requests",
            "bound": DELIVERY,
            "value": received / expected,
            "received": int(received),
            "expected": int(expected),
            "pass": received / expected >= DELIVERY,
        })  # fmt: skip
    return out


def _table(raw: Rounds, targets: list[dict[str, Any]]) -> str:
    head = f"{'server':<15}{'req/s':>7}{'p50 ms':>8}{'p99 ms':>8}{'CPU ms/req':>11}"
    head += f"{'util: srv':>10}{'client':>7}{'sink':>6}{'other':>6}{'errors':>7}"
    lines = [head, "-" * len(head)]
    for (transport, config), rounds in raw.items():
        lines.append(
            f"{transport + ' ' + config:<15}{_median(rounds, 'rps'):7.0f}"
            f"{_median(rounds, 'p50_ms'):8.2f}{_median(rounds, 'p99_ms'):8.2f}"
            f"{_median(rounds, 'cpu_ms'):11.3f}{_median(rounds, 'utilization'):10.2f}"
            f"{_median(rounds, 'client_util'):7.2f}{_median(rounds, 'sink_util'):6.2f}"
            f"{_median(rounds, 'other_util'):6.2f}{sum(r['errors'] for r in rounds):7.0f}"
        )
    lines.append("")
    for t in targets:
        verdict = "PASS" if t["pass"] else "FAIL"
        if "round_ratios" in t:
            rounds_text = ", ".join(f"{r:.3f}" for r in t["round_ratios"])
            extra = f"   rounds {rounds_text}; CPU-based {t['cpu_ratio']:.3f}"
        else:
            lost = t["expected"] - t["received"]
            extra = f"   {t['received']} of {t['expected']} ({max(lost, 0)} lost)"
        lines.append(f"{t['target']:<48}{t['value']:7.3f}  (>= {t['bound']})  {verdict}{extra}")
    return "\n".join(lines)


def _stop_and_read(server: servers.Server) -> str:
    """Stop a server and return its output: a logging server prints its log's counters."""
    server.process.send_signal(signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):  # then servers.stop kills it
        server.process.wait(timeout=20)
    text = servers.log_text(server)
    servers.stop(server)
    return text


def _counters(text: str) -> str:
    return next((line for line in text.splitlines() if line.startswith("request-log ")), "")


def _start_all(
    log_dir: Path, sinks: dict[str, Sink], cpus: set[int] | None, flags: list[str]
) -> list[Setup]:
    setups = []
    for transport, kind in TRANSPORTS:
        for config in CONFIGS:
            if config == "off":
                setups.append(Setup(transport, config, servers.start(kind, log_dir, cpus), None))
                continue
            sink = sinks[config]
            extra = [sink.url, *flags]
            server = servers.start(f"{kind}-log", log_dir, cpus, extra, f"{kind}-{config}")
            setups.append(Setup(transport, config, server, sink))
    return setups


def main(argv: list[str]) -> int:
    args = _parse(argv)
    server_cpus, client_cpus = common.pinning(args)
    if client_cpus:
        os.sched_setaffinity(0, client_cpus)  # wrk, h2load and the sinks inherit it
    flags = []
    if args.logger_workers:
        flags += ["--logger-workers", str(args.logger_workers)]
    if args.log_work_buffer_size:
        flags += ["--log-work-buffer-size", str(args.log_work_buffer_size)]
    payload = payloads.ndarray(1, 10)
    state = common.git_state()
    counters: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="request-log-") as tmp:
        log_dir = Path(tmp)
        sinks = {mode: _start_sink(mode, log_dir, client_cpus) for mode in ("healthy", "stalled")}
        setups: list[Setup] = []
        try:
            setups = _start_all(log_dir, sinks, server_cpus, flags)
            for setup in setups:
                servers.wait_ready(setup.server, payload)
                for _ in range(20):
                    servers.check(setup.server, payload)
            raw = _run(setups, payload, args)
        finally:
            for setup in setups:
                counters[setup.server.name] = _counters(_stop_and_read(setup.server))
            stalled_received = _sink_count(sinks["stalled"])
            for sink in sinks.values():
                _stop_sink(sink)
    targets = _targets(raw)
    report = {
        "command": " ".join(["bench/request_log.py", *argv]),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "git": state,
        "client": "wrk + h2load" if args.client == "native" else "python processes",
        "pinned": server_cpus is not None,
        "duration_s": args.duration,
        "rounds": [
            {"transport": transport, "config": config, "round": index + 1, **measured}
            for (transport, config), rounds in raw.items()
            for index, measured in enumerate(rounds)
        ],
        "server_log_counters": counters,
        "stalled_sink_received": stalled_received,
        "targets": targets,
    }
    args.out.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
    print(_table(raw, targets))
    print("\nserver log counters at exit (whole run, checks included):")
    for name, line in counters.items():
        print(f"  {name:<14} {line or '-'}")
    print(f"stalled sink: {stalled_received} events received, none answered")
    print(f"\nwritten: {args.out}")
    if any(r["errors"] for rounds in raw.values() for r in rounds):
        print("ERRORS during load: the figures above are not valid", file=sys.stderr)
        return 2
    return 0 if all(t["pass"] for t in targets) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
