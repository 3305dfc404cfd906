"""The processor as a process: kill -9 then --resume, SIGTERM, exit codes, no server imports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from batch_helpers import ids, write_input
from batch_servers import Fault, GrpcEcho, HttpEcho
from utils import kill_group, spawn, wait_until

from seldon_server.batch.config import ExitCode

DEADLINE = 60.0


def _processor(host: str, source: Path, *flags: str) -> list[str]:
    return [sys.executable, "-m", "seldon_server.batch.cli", "-d", "dep", "-g", "seldon",
            "-h", host, "-i", str(source), "--retry-backoff", "0.01", *flags]  # fmt: skip


def _complete_lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def _slow(number: int, body: dict[str, Any]) -> Fault:
    return ("sleep", 0.004)  # slow enough that the run is still going when it is killed


def _stop(*procs: subprocess.Popen[bytes] | None) -> None:
    """Whatever a failed test left running, group and all."""
    for proc in procs:
        if proc is not None:
            kill_group(proc)


def _finish(proc: subprocess.Popen[bytes]) -> tuple[int, str]:
    _, err = proc.communicate(timeout=DEADLINE)
    return proc.returncode, err.decode()


@pytest.mark.parametrize("transport", ["rest", "grpc"])
@pytest.mark.parametrize("order", ["ordered", "unordered"])
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_an_interrupted_run_resumes_without_loss_or_duplicates(
    tmp_path: Path, order: str, sig: signal.Signals, transport: str
) -> None:
    total = 800  # enough that the run is still going when it is interrupted after 100
    source = write_input(tmp_path, [json.dumps([[k]]) for k in range(total)])
    output = tmp_path / "input.out.txt"
    workers = 4
    flags = ["-w", str(workers), "-t", transport]
    if order == "unordered":
        flags.append("--unordered")
    server: HttpEcho | GrpcEcho = HttpEcho(_slow) if transport == "rest" else GrpcEcho(_slow)
    first = second = None
    try:
        first = spawn(_processor(server.host, source, *flags), stderr=subprocess.PIPE)
        wait_until(lambda: _complete_lines(output) >= 100, "some output lines", DEADLINE)
        first.send_signal(sig)
        code, _ = _finish(first)
        assert code == (-signal.SIGKILL if sig == signal.SIGKILL else ExitCode.INTERRUPTED)
        kept = _complete_lines(output)
        assert 100 <= kept < total
        sent_before = len(server.requests)

        second = spawn(_processor(server.host, source, *flags, "--resume"), stderr=subprocess.PIPE)
        code, err = _finish(second)
    finally:
        _stop(first, second)
        server.stop()

    assert code == ExitCode.OK, err
    assert "kept from an earlier run" in err
    lines = [json.loads(text) for text in output.read_text().splitlines()]
    indices = [ids(line)["batch_index"] for line in lines]
    assert sorted(indices) == list(range(total))  # every line once: nothing lost, nothing twice
    if order == "ordered":
        assert indices == list(range(total))
    assert all(line["data"]["ndarray"] == [[ids(line)["batch_index"]]] for line in lines)
    assert len({ids(line)["batch_id"] for line in lines}) == 1  # --resume kept the batch id
    # Only the missing lines: what the first run had in flight (one call per worker) can reach
    # the server after `sent_before` was counted, and one line may have been cut mid-write.
    assert len(server.requests) - sent_before <= total - kept + 1 + workers


def _run(argv: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    done = subprocess.run(argv, capture_output=True, timeout=DEADLINE, env=env, check=False)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


def test_exit_codes(tmp_path: Path, http_echo: HttpEcho) -> None:
    good = write_input(tmp_path, ["[[1]]", "[[2]]"], "good.txt")
    mixed = write_input(tmp_path, ["[[1]]", "oops"], "mixed.txt")

    code, _, err = _run(_processor(http_echo.host, good))
    assert code == ExitCode.OK and "ok 2, failed 0" in err
    code, _, err = _run(_processor(http_echo.host, mixed))
    assert code == ExitCode.LINES_FAILED and "ok 1, failed 1" in err
    code, _, err = _run(_processor(http_echo.host, good, "--workers", "-1"))
    assert code == ExitCode.USAGE and err.strip().count("\n") == 0
    code, _, err = _run(_processor(http_echo.host, tmp_path / "missing.txt"))
    assert code == ExitCode.IO_ERROR and "missing.txt" in err
    code, _, err = _run(_processor(http_echo.host, good, "-o", str(tmp_path / "no" / "o.txt")))
    assert code == ExitCode.IO_ERROR
    code, out, _ = _run([sys.executable, "-m", "seldon_server.batch.cli", "--help"])
    assert code == 0 and "exit codes:" in out and "-t, --transport" in out


def test_benchmark_reports_at_the_default_log_level(tmp_path: Path, http_echo: HttpEcho) -> None:
    source = write_input(tmp_path, ["[[1]]"])
    code, _, err = _run(_processor(http_echo.host, source, "-b"))
    assert code == ExitCode.OK and "Elapsed time:" in err and "rows/s" in err


# Runs the processor with Flask, Gunicorn and prometheus_client made unimportable, then reports
# which seldon_server modules it loaded beyond its own, the generated proto and the shared codecs
# (with the stdlib-only error types they raise).
_BLOCKED_RUN = """
import json, sys

class Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"flask", "werkzeug", "gunicorn", "prometheus_client"}:
            raise ImportError(f"{name} is blocked in this test")
        return None

sys.meta_path.insert(0, Blocked())
import seldon_server
before = set(sys.modules)
from seldon_server.batch.cli import main
code = main(sys.argv[1:])
extra = sorted(m for m in set(sys.modules) - before if m.startswith("seldon_server.")
               and not m.startswith(("seldon_server.batch", "seldon_server.proto",
                                     "seldon_server.codecs.tftensor", "seldon_server.errors",
                                     "seldon_server.options", "seldon_server.http1"))
               and m != "seldon_server.codecs")
print(json.dumps({"extra": extra, "flask": "flask" in sys.modules}))
sys.exit(code)
"""


@pytest.mark.parametrize("transport", ["rest", "grpc"])
def test_runs_without_flask_gunicorn_or_server_code(tmp_path: Path, transport: str) -> None:
    server: HttpEcho | GrpcEcho = HttpEcho() if transport == "rest" else GrpcEcho()
    source = write_input(tmp_path, ["[[1, 2]]", "[[3, 4]]", "[[5, 6]]"])
    try:
        argv = _processor(server.host, source, "-t", transport, "-p", "tftensor", "-s", "2")
        code, out, err = _run([sys.executable, "-c", _BLOCKED_RUN, *argv[3:]])
    finally:
        server.stop()
    assert code == ExitCode.OK, err
    assert json.loads(out) == {"extra": [], "flask": False}
    lines = (tmp_path / "input.out.txt").read_text().splitlines()
    assert [ids(json.loads(line))["batch_index"] for line in lines] == [0, 1, 2]


def test_sigint_is_handled_like_sigterm(tmp_path: Path) -> None:
    source = write_input(tmp_path, [json.dumps([[k]]) for k in range(2000)])
    output = tmp_path / "input.out.txt"
    server = HttpEcho(_slow)
    proc = None
    try:
        proc = spawn(_processor(server.host, source), stderr=subprocess.PIPE,
                     env={**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip
        wait_until(lambda: _complete_lines(output) >= 20, "some output", DEADLINE)
        proc.send_signal(signal.SIGINT)
        code, err = _finish(proc)
    finally:
        _stop(proc)
        server.stop()
    assert code == ExitCode.INTERRUPTED and "INTERRUPTED" in err
