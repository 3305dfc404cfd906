"""--protocol v2 failures: error lines with the V2 error text, retries, overload, bad answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import grpc
import pytest
from batch_helpers import BATCH_ID
from batch_servers import Fault, FaultPlan, HttpEcho
from v2_helpers import line_ids, request_for, run_v2, v2_server

from seldon_server.batch.config import ExitCode

_CODES = {400: grpc.StatusCode.INVALID_ARGUMENT, 500: grpc.StatusCode.UNAVAILABLE,
          503: grpc.StatusCode.UNAVAILABLE}  # fmt: skip


def _refuse(index: int, transport: str, code: int, times: int = 1_000) -> FaultPlan:
    """Refuse line `index` with `code` (its gRPC counterpart) its first `times` attempts."""
    status = code if transport == "rest" else _CODES[code]
    refused = [0]

    def plan(number: int, body: dict[str, Any]) -> Fault:
        if body.get("parameters", {}).get("batch_index") == index and refused[0] < times:
            refused[0] += 1
            return ("status", status)
        return None

    return plan


def test_a_refused_line_gets_an_error_line_with_the_v2_error_text(
    tmp_path: Path, transport: str
) -> None:
    server = v2_server(transport, _refuse(2, transport, 400))
    try:
        result = run_v2(tmp_path, server.host, transport, ["[[1]]"] * 4, "-r", "5")
    finally:
        server.stop()

    assert result.summary.exit_code == ExitCode.LINES_FAILED
    assert (result.summary.ok, result.summary.failed) == (3, 1)
    assert len(request_for(server, 2)) == 1  # a client error is never retried
    line = result.lines[2]
    expected = (
        "HTTP 400 Bad Request: injected 400"  # the text of {"error": ...}, not the raw body
        if transport == "rest"
        else "gRPC INVALID_ARGUMENT: injected INVALID_ARGUMENT"
    )
    assert line["status"] == {"info": "FAILURE", "reason": expected, "status": 1}
    (sent,) = request_for(server, 2)
    assert line["meta"] == {  # the Seldon error line's shape: identifiers directly under meta
        "batch_id": BATCH_ID,
        "batch_instance_id": sent.body["parameters"]["batch_instance_id"],
        "batch_index": 2,
    }
    assert [line_ids(line)["batch_index"] for line in result.lines] == [0, 1, 2, 3]


def test_a_bad_v2_request_is_refused_with_the_servers_words(tmp_path: Path) -> None:
    bad = {"inputs": [{"name": "x", "datatype": "INT32", "shape": [3], "data": [1, 2]}]}
    server = HttpEcho()
    try:
        result = run_v2(tmp_path, server.host, "rest", [json.dumps(bad)])
    finally:
        server.stop()
    reason = result.lines[0]["status"]["reason"]
    assert reason.startswith("HTTP 400 Bad Request: Input 'x': ") and "{" not in reason


def test_server_errors_are_retried_until_the_attempts_run_out(
    tmp_path: Path, transport: str
) -> None:
    server = v2_server(transport, _refuse(1, transport, 500))
    try:
        result = run_v2(tmp_path, server.host, transport, ["[[1]]"] * 3, "-r", "3")
    finally:
        server.stop()

    assert result.summary.exit_code == ExitCode.LINES_FAILED
    assert len(request_for(server, 1)) == 3
    reason = result.lines[1]["status"]["reason"]
    expected = "HTTP 500 Internal Server Error: injected 500" if transport == "rest" else (
        "gRPC UNAVAILABLE: injected UNAVAILABLE"
    )  # fmt: skip
    assert reason == f"{expected} (after 3 attempts)"


def test_a_retried_line_succeeds_once_the_server_recovers(tmp_path: Path, transport: str) -> None:
    server = v2_server(transport, _refuse(0, transport, 503, times=2))
    try:
        result = run_v2(tmp_path, server.host, transport, ["[[5, 6]]", "[[7]]"], "-r", "3")
    finally:
        server.stop()

    assert result.summary.exit_code == ExitCode.OK, result.texts
    assert len(request_for(server, 0)) == 3
    assert result.lines[0]["outputs"][0]["data"] == [5, 6]
    # Every attempt carried the same identifiers, and the line reports them.
    attempts = {r.body["parameters"]["batch_instance_id"] for r in request_for(server, 0)}
    assert attempts == {result.lines[0]["parameters"]["batch_instance_id"]}


def test_an_overloaded_server_is_waited_out_and_counted(tmp_path: Path, transport: str) -> None:
    def busy_first(number: int, body: dict[str, Any]) -> Fault:
        return ("busy", (503, "0")) if number == 0 else None

    server = v2_server(transport, busy_first)
    try:
        result = run_v2(tmp_path, server.host, transport, ["[[1]]", "[[2]]"], "-w", "1")
    finally:
        server.stop()
    assert result.summary.exit_code == ExitCode.OK, result.texts
    assert result.summary.overloaded == 1
    assert [line["outputs"][0]["data"] for line in result.lines] == [[1], [2]]


@pytest.mark.parametrize(
    "reply,reason",
    [
        ([1, 2], "HTTP 200 but the body is not a JSON object"),
        ("oops", "HTTP 200 but the body is not a JSON object"),
    ],
)
def test_an_answer_that_is_not_a_v2_response_fails_the_line(
    tmp_path: Path, reply: Any, reason: str
) -> None:
    server = HttpEcho(lambda number, body: ("reply", reply))
    try:
        result = run_v2(tmp_path, server.host, "rest", ["[[1]]"], "-r", "3")
    finally:
        server.stop()
    assert result.lines[0]["status"]["reason"].startswith(reason)
    assert len(server.requests) == 1  # a malformed 200 is the server's answer: not retried
