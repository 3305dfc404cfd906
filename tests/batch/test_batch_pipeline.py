"""The run as a whole: output order, --unordered, --resume in-process, pacing and progress."""

from __future__ import annotations

import json
import logging
import os
import pty
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from batch_helpers import BATCH_ID, ids, run_batch, write_input
from batch_servers import Fault, GrpcEcho, HttpEcho

from seldon_server.batch.client import GrpcClient
from seldon_server.batch.config import ExitCode, resolve
from seldon_server.batch.pipeline import run


def _slow_first(number: int, body: dict[str, Any]) -> Fault:
    # Line 0 answers last: every other line finishes while it waits.
    return ("sleep", 0.5) if body["meta"]["tags"]["batch_index"] == 0 else None


@pytest.mark.parametrize("unordered", [False, True])
def test_output_is_in_input_order_unless_unordered(tmp_path: Path, unordered: bool) -> None:
    server = HttpEcho(_slow_first)
    flags = ["-w", "4"] + (["--unordered"] if unordered else [])
    try:
        result = run_batch(tmp_path, server.host, "rest", [f"[[{k}]]" for k in range(20)], *flags)
    finally:
        server.stop()
    indices = [ids(line)["batch_index"] for line in result.lines]
    assert sorted(indices) == list(range(20))
    if unordered:
        assert indices[-1] == 0  # written when it finished
    else:
        assert indices == list(range(20))


def test_resume_sends_only_the_missing_lines(tmp_path: Path, http_echo: HttpEcho) -> None:
    lines = [f"[[{k}]]" for k in range(10)]
    first = run_batch(tmp_path, http_echo.host, "rest", lines, "-u", "first-id")
    kept = first.texts[:4]
    first.output_path.write_text("\n".join(kept) + "\n" + first.texts[4][:20])  # a torn line
    sent = len(http_echo.requests)
    argv = ["-d", "dep", "-g", "seldon", "-h", http_echo.host, "-i", str(first.input_path),
            "--resume"]  # fmt: skip
    summary = run(resolve(argv, {}))
    texts = first.output_path.read_text().splitlines()
    assert summary.exit_code == ExitCode.OK and summary.kept == 4 and summary.ok == 6
    assert len(http_echo.requests) - sent == 6
    assert texts[:4] == kept
    assert [ids(json.loads(t))["batch_index"] for t in texts] == list(range(10))
    assert {ids(json.loads(t))["batch_id"] for t in texts} == {"first-id"}  # kept, not new


def test_batch_interval_paces_each_worker(
    tmp_path: Path, transport: str, echo: HttpEcho | GrpcEcho
) -> None:
    started = time.monotonic()
    result = run_batch(tmp_path, echo.host, transport, ["[[1]]"] * 4, "--batch-interval", "0.1")
    assert result.summary.exit_code == ExitCode.OK
    assert time.monotonic() - started >= 0.3  # four requests, one worker, 0.1 s each at least
    assert len(echo.requests) == 4


def test_progress_lines_when_not_on_a_terminal(
    tmp_path: Path, http_echo: HttpEcho, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    monkeypatch.setattr("seldon_server.batch.progress.LOG_EVERY", 0.0)
    with caplog.at_level(logging.INFO, logger="seldon_server.batch"):
        result = run_batch(tmp_path, http_echo.host, "rest", ["[[1]]"] * 3)
    assert result.summary.exit_code == ExitCode.OK
    assert any("processed" in r.message and "rows/s" in r.message for r in caplog.records)
    assert result.summary.batch_id == BATCH_ID
    assert "3 lines: ok 3, failed 0" in result.summary.line()


def test_an_empty_input_gives_an_empty_output(tmp_path: Path, http_echo: HttpEcho) -> None:
    result = run_batch(tmp_path, http_echo.host, "rest", [])
    assert result.summary.exit_code == ExitCode.OK and result.texts == []
    assert http_echo.requests == []


def test_grpc_calls_spread_over_the_requested_channels(tmp_path: Path, grpc_echo: GrpcEcho) -> None:
    lines = [f"[[{k}]]" for k in range(30)]
    result = run_batch(tmp_path, grpc_echo.host, "grpc", lines, "-w", "6", "--grpc-channels", "3")
    assert result.summary.exit_code == ExitCode.OK
    assert len({request.headers[":peer"] for request in grpc_echo.requests}) == 3


def test_a_progress_bar_is_drawn_on_a_terminal(tmp_path: Path) -> None:
    server = HttpEcho(lambda number, body: ("sleep", 0.01))
    source = write_input(tmp_path, [f"[[{k}]]" for k in range(60)])
    controller, terminal = pty.openpty()
    try:
        argv = [sys.executable, "-m", "seldon_server.batch.cli", "-d", "d", "-g", "seldon",
                "-h", server.host, "-i", str(source)]  # fmt: skip
        proc = subprocess.Popen(argv, stderr=terminal, stdout=subprocess.DEVNULL)
        os.close(terminal)
        chunks = []
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert proc.wait(timeout=60) == ExitCode.OK
    finally:
        os.close(controller)
        server.stop()
    text = b"".join(chunks).decode()
    assert "\r[" in text and "/60 ok " in text and "rows/s" in text
    assert "60 lines: ok 60, failed 0" in text


class _Finished:
    """A gRPC future that is already done, as grpcio hands one to a callback added too late."""

    def __init__(self, response: Any) -> None:
        self.response = response

    def result(self) -> Any:
        return self.response


def test_calls_that_complete_at_once_do_not_recurse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # grpcio runs a done-callback inside add_done_callback when the call has already ended;
    # thousands of such completions in a row must neither recurse nor lose a line.
    def start(self: GrpcClient, body: dict[str, Any], puid: str, done: Any) -> None:
        done(_Finished(self._request(body)))  # echo the request at once

    monkeypatch.setattr(GrpcClient, "start", start)
    lines = [f"[[{k}]]" for k in range(3000)]
    finished: list[Any] = []
    runner = threading.Thread(
        target=lambda: finished.append(
            run_batch(tmp_path, "127.0.0.1:1", "grpc", lines, "-w", "50")
        ),  # fmt: skip
        daemon=True,
    )
    runner.start()
    runner.join(timeout=60)
    assert finished, "the run did not end within 60 s"
    result = finished[0]
    assert result.summary.exit_code == ExitCode.OK
    assert [ids(line)["batch_index"] for line in result.lines] == list(range(3000))
