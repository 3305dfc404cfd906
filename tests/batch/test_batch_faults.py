"""Faults: 5xx bursts, timeouts, resets and a restart; what is retried and what is not."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

import grpc
import pytest
from batch_helpers import ids, run_batch
from batch_servers import Fault, GrpcEcho, HttpEcho

from seldon_server.batch.config import ExitCode, resolve
from seldon_server.batch.processor import Processor

LINES = 200


class _Chaos:
    """Bursts of server errors, dropped connections, answers slower than the client's timeout,
    and one restart of the whole server, spread over the run by request number."""

    def __init__(self, transport: str) -> None:
        self.transport = transport
        self.server: HttpEcho | GrpcEcho | None = None
        self.restarted = threading.Event()

    def __call__(self, number: int, body: dict[str, Any]) -> Fault:
        unavailable = 503 if self.transport == "rest" else grpc.StatusCode.UNAVAILABLE
        if 20 <= number < 40:
            return ("status", unavailable)
        if 60 <= number < 65:
            return "reset"
        if 80 <= number < 84:
            return ("sleep", 0.6)  # the client gives up after 0.3 s and tries again
        if number == 120 and self.server is not None:
            threading.Thread(target=self._restart, daemon=True).start()
            return ("sleep", 0.6)
        return None

    def _restart(self) -> None:
        assert self.server is not None
        self.server.restart()
        self.restarted.set()


def test_faults_leave_exactly_one_line_per_input_line(tmp_path: Path, transport: str) -> None:
    chaos = _Chaos(transport)
    server: HttpEcho | GrpcEcho = HttpEcho(chaos) if transport == "rest" else GrpcEcho(chaos)
    chaos.server = server
    lines = [json.dumps([[k, k]]) for k in range(LINES)]
    try:
        result = run_batch(tmp_path, server.host, transport, lines,
                           "-w", "8", "-r", "12", "--timeout", "0.3")  # fmt: skip
    finally:
        server.stop()

    assert chaos.restarted.is_set()
    assert len(server.requests) > LINES + 20  # the faults really happened and were retried
    assert result.summary.exit_code == ExitCode.OK, result.texts
    assert len(result.texts) == LINES
    assert [ids(line)["batch_index"] for line in result.lines] == list(range(LINES))
    assert [line["data"]["ndarray"] for line in result.lines] == [[[k, k]] for k in range(LINES)]


def _refuse(index: int, transport: str, code: int) -> Any:
    status = code if transport == "rest" else {400: grpc.StatusCode.INVALID_ARGUMENT,
                                               500: grpc.StatusCode.UNAVAILABLE}[code]  # fmt: skip

    def plan(number: int, body: dict[str, Any]) -> Fault:
        tags = body.get("meta", {}).get("tags", {})
        return ("status", status) if tags.get("batch_index") == index else None

    return plan


def _requests_for(server: HttpEcho | GrpcEcho, index: int) -> int:
    return sum(1 for r in server.requests if r.body["meta"]["tags"]["batch_index"] == index)


def test_a_client_error_is_never_retried(tmp_path: Path, transport: str) -> None:
    plan = _refuse(3, transport, 400)
    server: HttpEcho | GrpcEcho = HttpEcho(plan) if transport == "rest" else GrpcEcho(plan)
    try:
        result = run_batch(tmp_path, server.host, transport, ['"x"'] * 5, "-a", "str", "-r", "5")
    finally:
        server.stop()

    assert result.summary.exit_code == ExitCode.LINES_FAILED
    assert (result.summary.ok, result.summary.failed) == (4, 1)
    assert _requests_for(server, 3) == 1
    reason = result.lines[3]["status"]["reason"]
    if transport == "rest":  # the HTTP status and the server's own error body
        assert reason.startswith("HTTP 400 Bad Request: ") and "injected 400" in reason
    else:
        assert reason == "gRPC INVALID_ARGUMENT: injected INVALID_ARGUMENT"
    sent = next(r for r in server.requests if r.body["meta"]["tags"]["batch_index"] == 3)
    assert result.lines[3]["meta"] == {  # the original's error line: ids directly under meta
        "batch_id": "batch-under-test",
        "batch_instance_id": sent.body["meta"]["tags"]["batch_instance_id"],
        "batch_index": 3,
    }


def test_server_errors_are_retried_until_the_attempts_run_out(
    tmp_path: Path, transport: str
) -> None:
    plan = _refuse(2, transport, 500)
    server: HttpEcho | GrpcEcho = HttpEcho(plan) if transport == "rest" else GrpcEcho(plan)
    try:
        result = run_batch(tmp_path, server.host, transport, ['"x"'] * 4, "-a", "str", "-r", "3")
    finally:
        server.stop()

    assert result.summary.exit_code == ExitCode.LINES_FAILED
    assert _requests_for(server, 2) == 3  # --retries counts attempts, as in the original
    reason = result.lines[2]["status"]["reason"]
    expected = "HTTP 500 Internal Server Error" if transport == "rest" else "gRPC UNAVAILABLE"
    assert reason.startswith(expected) and reason.endswith("(after 3 attempts)")


def test_a_slow_server_times_out_and_the_run_still_ends(tmp_path: Path, transport: str) -> None:
    def slow(number: int, body: dict[str, Any]) -> Fault:
        return ("sleep", 1.0) if body["meta"]["tags"]["batch_index"] == 1 else None

    server: HttpEcho | GrpcEcho = HttpEcho(slow) if transport == "rest" else GrpcEcho(slow)
    started = time.monotonic()
    try:
        result = run_batch(tmp_path, server.host, transport, ['"x"'] * 3, "-a", "str",
                           "-r", "2", "--timeout", "0.2")  # fmt: skip
    finally:
        server.stop()

    assert time.monotonic() - started < 5
    assert result.summary.exit_code == ExitCode.LINES_FAILED
    reason = result.lines[1]["status"]["reason"].lower()
    assert ("timed out" in reason) if transport == "rest" else ("deadline_exceeded" in reason)
    assert _requests_for(server, 1) == 2


def test_no_server_at_all_gives_error_lines_with_reasons(tmp_path: Path, transport: str) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        host = f"127.0.0.1:{sock.getsockname()[1]}"
    result = run_batch(tmp_path, host, transport, ["[[1]]", "[[2]]"], "-r", "2", "--timeout", "2")

    assert result.summary.exit_code == ExitCode.LINES_FAILED
    for k, line in enumerate(result.lines):
        assert line["status"]["reason"] and line["meta"]["batch_index"] == k


@pytest.mark.parametrize("base", [0.05, 1.0, 4.0])
def test_backoff_doubles_with_jitter_and_a_cap(tmp_path: Path, base: float) -> None:
    config = resolve(["-d", "x", "--retry-backoff", str(base)], {})
    processor = Processor(config, "b")
    for attempt in range(1, 8):
        ceiling = min(10.0, base * 2 ** (attempt - 1))
        delays = [processor.backoff(attempt) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1  # jittered, so workers do not retry in lockstep
