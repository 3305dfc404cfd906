"""--protocol v2 micro-batching: rows joined along the first axis, every output split back."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from batch_helpers import BATCH_ID
from batch_servers import Fault, HttpEcho
from v2_helpers import comparable, line_ids, run_v2, sent_parameters, v2_server

from seldon_server.batch.config import ExitCode

ROWS = 6


def _line(k: int) -> str:
    return json.dumps([[k, k + 0.5, -k]])


def _two_inputs(k: int) -> str:
    tensor = {"name": "x", "datatype": "FP64", "shape": [1, 3], "data": [k, k + 0.5, -k]}
    return json.dumps({"inputs": [tensor]})


@pytest.mark.parametrize("echoing", [True, False], ids=["echoing", "not-echoing"])
@pytest.mark.parametrize("size", [2, 4, 6])  # 2 divides the 6 lines, 4 does not
def test_micro_batches_look_like_batch_size_one(
    tmp_path: Path, transport: str, size: int, echoing: bool
) -> None:
    lines = [_line(k) for k in range(ROWS)]
    server = v2_server(transport, echo_parameters=echoing)
    try:
        single = run_v2(tmp_path / "one", server.host, transport, lines)
        singles = len(server.requests)
        batched = run_v2(tmp_path / "many", server.host, transport, lines, "-s", str(size),
                         "-w", "2")  # fmt: skip
    finally:
        server.stop()

    assert single.summary.exit_code == batched.summary.exit_code == ExitCode.OK, batched.texts
    assert singles == ROWS
    batches = server.requests[singles:]
    assert len(batches) == math.ceil(ROWS / size)  # one request per batch
    joined = [r for r in batches if r.body["inputs"][0]["shape"][0] > 1]
    assert joined and all(sent_parameters(r) == {"batch_id": BATCH_ID} for r in joined)
    assert [comparable(transport, t) for t in batched.texts] == [
        comparable(transport, t) for t in single.texts
    ]
    assert [line_ids(line)["batch_index"] for line in batched.lines] == list(range(ROWS))
    assert len({line_ids(line)["batch_instance_id"] for line in batched.lines}) == ROWS


def test_lines_of_several_rows_are_split_by_their_row_counts(
    tmp_path: Path, transport: str
) -> None:
    lines = ["[[1, 2]]", "[[3, 4], [5, 6], [7, 8]]", "[[9, 10], [11, 12]]"]
    server = v2_server(transport)
    try:
        result = run_v2(tmp_path, server.host, transport, lines, "-s", "3")
    finally:
        server.stop()

    assert result.summary.exit_code == ExitCode.OK, result.texts
    (request,) = server.requests
    assert request.body["inputs"][0]["shape"] == [6, 2]
    outputs = [line["outputs"][0] for line in result.lines]
    assert [(out["shape"], out["data"]) for out in outputs] == [
        ([1, 2], [1, 2]),
        ([3, 2], [3, 4, 5, 6, 7, 8]),
        ([2, 2], [9, 10, 11, 12]),
    ]
    assert [line["parameters"]["batch_index"] for line in result.lines] == [0, 1, 2]


def test_only_lines_alike_join_and_v2_requests_go_alone(tmp_path: Path, transport: str) -> None:
    # Two widths, two datatypes, a 1-D array, and a whole V2 request: 0+4, 1+5 join; the rest
    # are each sent alone, exactly as with batch size 1.
    lines = ["[[0, 0]]", "[[1.5, 1, 1]]", "[2, 2]", _two_inputs(3), "[[4, 4]]", "[[5.5, 5, 5]]",
             '[["s"]]']  # fmt: skip
    server = v2_server(transport)
    try:
        result = run_v2(tmp_path, server.host, transport, lines, "-s", "7")
    finally:
        server.stop()

    assert result.summary.exit_code == ExitCode.OK, result.texts
    assert len(server.requests) == 5
    shapes = sorted(r.body["inputs"][0]["shape"] for r in server.requests)
    assert shapes == [[1, 1], [1, 3], [2], [2, 2], [2, 3]]
    data = [line["outputs"][0]["data"] for line in result.lines]
    assert data == [[0, 0], [1.5, 1.0, 1.0], [2, 2], [3.0, 3.5, -3.0], [4, 4], [5.5, 5.0, 5.0],
                    ["s"]]  # fmt: skip
    assert [line["parameters"]["batch_index"] for line in result.lines] == list(range(7))


def test_a_bad_line_inside_a_batch_fails_alone(tmp_path: Path, transport: str) -> None:
    lines = [_line(0), "{oops", _line(2), "[[1, 2], [3]]", _line(4), '[1, "a"]']
    server = v2_server(transport)
    try:
        result = run_v2(tmp_path, server.host, transport, lines, "-s", "6")
    finally:
        server.stop()

    assert result.summary.exit_code == ExitCode.LINES_FAILED
    assert (result.summary.ok, result.summary.failed) == (3, 3)
    assert len(server.requests) == 1  # the three good lines still shared one request
    assert [line_ids(line)["batch_index"] for line in result.lines] == list(range(6))
    reasons = {k: result.lines[k]["status"]["reason"] for k in (1, 3, 5)}
    assert "invalid JSON" in reasons[1]
    assert "rectangular" in reasons[3]
    assert "all numbers, all booleans or all strings" in reasons[5]
    assert [result.lines[k]["outputs"][0]["data"][0] for k in (0, 2, 4)] == [0.0, 2.0, 4.0]


def _aggregate(number: int, body: dict[str, Any]) -> Fault:
    """A model that sums its batch into one row: its answer to a batch cannot be split."""
    shape = body.get("inputs", [{}])[0].get("shape", [0])
    if shape[0] < 2:
        return None
    output = {"name": "output-0", "datatype": "FP64", "shape": [1, 3], "data": [0, 0, 0]}
    return ("reply", {"model_name": "dep", "outputs": [output]})


def test_a_response_that_cannot_be_split_falls_back_to_single_requests(tmp_path: Path) -> None:
    server = HttpEcho(_aggregate)
    try:
        result = run_v2(tmp_path, server.host, "rest", [_line(k) for k in range(4)], "-s", "4")
    finally:
        server.stop()

    assert result.summary.exit_code == ExitCode.OK, result.texts
    assert len(server.requests) == 1 + 4
    assert [line["outputs"][0]["data"][0] for line in result.lines] == [0.0, 1.0, 2.0, 3.0]
    assert [line["parameters"]["batch_index"] for line in result.lines] == [0, 1, 2, 3]
