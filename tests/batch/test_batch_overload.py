"""Load shedding: 503/429 with Retry-After and gRPC RESOURCE_EXHAUSTED are waited out, counted."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, formatdate
from pathlib import Path
from typing import Any

import pytest
from batch_helpers import BatchRun, run_batch
from batch_servers import Fault, FaultPlan, GrpcEcho, HttpEcho

from seldon_server.batch.client import MAX_RETRY_AFTER, CallError, retry_after
from seldon_server.batch.config import ExitCode, resolve
from seldon_server.batch.processor import Processor

LINES = 3
DEADLINE = 30.0  # seconds a whole run may take before the test fails instead of hanging
SLACK = 0.05  # a timed wait may end a hair early on a coarse clock
NOW = 1_700_000_000.0  # a fixed wall-clock time for the parsing tests

RetryAfter = Callable[[], str | None]  # the header value, made when the refusal is sent


def _busy_first(count: int, status: int, value: RetryAfter) -> FaultPlan:
    """Refuse the first `count` requests as overloaded, then answer normally."""

    def plan(number: int, body: dict[str, Any]) -> Fault:
        return ("busy", (status, value())) if number < count else None

    return plan


def _run(server: HttpEcho | GrpcEcho, tmp_path: Path, transport: str, *flags: str) -> BatchRun:
    """One worker over LINES lines, on a thread so that a run that never ends fails the test."""
    lines = [json.dumps([[k, k]]) for k in range(LINES)]
    finished: list[BatchRun] = []

    def target() -> None:
        finished.append(run_batch(tmp_path, server.host, transport, lines, "-w", "1", *flags))

    runner = threading.Thread(target=target, daemon=True)
    runner.start()
    runner.join(DEADLINE)
    assert finished, f"the run did not end within {DEADLINE} s"
    return finished[0]


def _gaps(server: HttpEcho | GrpcEcho) -> list[float]:
    """Seconds between consecutive requests, as the server saw them arrive."""
    times = [request.at for request in server.requests]
    return [later - earlier for earlier, later in zip(times, times[1:], strict=False)]


def _assert_all_succeeded(result: BatchRun, retried: int) -> None:
    assert result.summary.exit_code == ExitCode.OK, result.texts
    assert (result.summary.ok, result.summary.failed) == (LINES, 0)
    assert [line["data"]["ndarray"] for line in result.lines] == [[[k, k]] for k in range(LINES)]
    assert result.summary.overloaded == retried
    assert f"; overloaded answers retried: {retried};" in result.summary.line()


def _in(seconds: float) -> RetryAfter:
    """An HTTP-date at least `seconds` after the refusal is sent (it holds whole seconds only)."""
    return lambda: formatdate(time.time() + seconds + 1, usegmt=True)


@pytest.mark.parametrize(
    ("status", "value"),
    [(503, lambda: "1"), (429, lambda: "1"), (503, _in(1))],
    ids=["503-seconds", "429-seconds", "503-http-date"],
)
def test_retry_after_is_waited_out_and_counted(
    tmp_path: Path, status: int, value: RetryAfter, caplog: pytest.LogCaptureFixture
) -> None:
    server = HttpEcho(_busy_first(2, status, value))
    try:
        with caplog.at_level(logging.WARNING, logger="seldon_server.batch"):
            result = _run(server, tmp_path, "rest", "-r", "3")
    finally:
        server.stop()

    _assert_all_succeeded(result, retried=2)
    assert len(server.requests) == LINES + 2
    first, second, *_ = _gaps(server)
    assert first >= 1.0 - SLACK and second >= 1.0 - SLACK  # --retry-backoff alone is 0.01 s
    assert first < 3.0 and second < 3.0
    warned = [r.message for r in caplog.records if "the server is overloaded" in r.message]
    assert len(warned) == 1 and f"HTTP {status} " in warned[0]


@pytest.mark.parametrize("value", ["soon", "-1", "1.5", "", None])
def test_without_a_usable_retry_after_the_backoff_decides(
    tmp_path: Path, value: str | None
) -> None:
    server = HttpEcho(_busy_first(2, 503, lambda: value))
    try:
        result = _run(server, tmp_path, "rest", "-r", "3")
    finally:
        server.stop()

    _assert_all_succeeded(result, retried=2)
    first, second, *_ = _gaps(server)
    assert first < 0.5 and second < 0.5


def test_grpc_resource_exhausted_is_retried_and_counted(tmp_path: Path) -> None:
    server = GrpcEcho(_busy_first(2, 503, lambda: None))
    try:
        result = _run(server, tmp_path, "grpc", "-r", "3")
    finally:
        server.stop()

    _assert_all_succeeded(result, retried=2)
    assert len(server.requests) == LINES + 2


@pytest.mark.parametrize("transport", ["rest", "grpc"])
def test_overloaded_answers_still_run_out_of_attempts(tmp_path: Path, transport: str) -> None:
    def line_one_busy(number: int, body: dict[str, Any]) -> Fault:
        return ("busy", (503, "0")) if body["meta"]["tags"]["batch_index"] == 1 else None

    server: HttpEcho | GrpcEcho = (
        HttpEcho(line_one_busy) if transport == "rest" else GrpcEcho(line_one_busy)
    )
    try:
        result = _run(server, tmp_path, transport, "-r", "3")
    finally:
        server.stop()

    assert result.summary.exit_code == ExitCode.LINES_FAILED
    assert (result.summary.ok, result.summary.failed) == (LINES - 1, 1)
    assert len(result.texts) == LINES  # still one output line per input line
    reason = result.lines[1]["status"]["reason"]
    expected = "HTTP 503 Service Unavailable: " if transport == "rest" else "gRPC RESOURCE_EXH"
    assert reason.startswith(expected) and reason.endswith("(after 3 attempts)")
    assert "Server overloaded" in reason
    assert result.summary.overloaded == 2  # the last refusal was not retried


def test_a_run_without_overload_does_not_mention_it(tmp_path: Path, http_echo: HttpEcho) -> None:
    result = _run(http_echo, tmp_path, "rest")
    assert result.summary.exit_code == ExitCode.OK and result.summary.overloaded == 0
    assert "overloaded" not in result.summary.line()


def _http_date(when: datetime) -> bytes:
    return format_datetime(when, usegmt=True).encode()


_AT_NOW = datetime.fromtimestamp(NOW, UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (b"1", 1.0),
        (b" 7 ", 7.0),
        (b"0", 0.0),
        (b"3600", MAX_RETRY_AFTER),
        (b"9" * 5000, MAX_RETRY_AFTER),
        (_http_date(_AT_NOW + timedelta(seconds=30)), 30.0),
        (_http_date(_AT_NOW - timedelta(seconds=30)), 0.0),
        (_http_date(_AT_NOW + timedelta(days=1)), MAX_RETRY_AFTER),
        (format_datetime(_AT_NOW + timedelta(seconds=5)).replace("+0000", "-0000").encode(), 5.0),
        (b"soon", None),
        (b"", None),
        (b"-1", None),
        (b"1.5", None),
        (b"Mon, 99 Foo 2024 25:61:00 GMT", None),
    ],
)
def test_retry_after_values(value: bytes | None, expected: float | None) -> None:
    assert retry_after(value, NOW) == expected


def test_the_delay_is_the_longer_of_the_backoff_and_the_servers_wait() -> None:
    quick = Processor(resolve(["-d", "x", "--retry-backoff", "0.05"], {}), "b")
    slow = Processor(resolve(["-d", "x", "--retry-backoff", "4"], {}), "b")
    busy = CallError("HTTP 503", retryable=True, overloaded=True, retry_after=2.0)
    for _ in range(20):
        assert quick.retry_delay(1, busy) == 2.0
        assert 2.0 <= slow.retry_delay(1, busy) <= 4.0  # the backoff, when it is longer
        assert quick.retry_delay(1, CallError("HTTP 500", retryable=True)) <= 0.05
    assert (quick.overloaded, slow.overloaded) == (20, 20)  # the 500s are not overloads
