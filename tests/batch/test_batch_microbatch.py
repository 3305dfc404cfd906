"""Micro-batching: one request per batch, split back so the output looks as with batch size 1."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from batch_helpers import ids, run_batch, without_instance_ids
from batch_servers import GrpcEcho, HttpEcho

from seldon_server.batch.config import ExitCode

ROWS = 6


def _data_line(k: int) -> str:
    return json.dumps([[k, k + 0.5, -k]])


def _raw_line(k: int, encoding: str) -> str:
    if encoding == "tensor":
        data: dict[str, Any] = {"names": ["a", "b"], "tensor": {"shape": [1, 2], "values": [k, 1]}}
    else:
        data = {"names": ["a", "b"], "ndarray": [[k, 1]]}
    return json.dumps({"data": data, "meta": {"tags": {"customer": k}}})


VARIANTS = {
    "data-ndarray": (["-a", "data", "-p", "ndarray"], _data_line),
    "data-tensor": (["-a", "data", "-p", "tensor"], _data_line),
    "data-tftensor": (["-a", "data", "-p", "tftensor"], _data_line),
    "raw-ndarray": (["-a", "raw"], lambda k: _raw_line(k, "ndarray")),
    "raw-tensor": (["-a", "raw"], lambda k: _raw_line(k, "tensor")),
}


def _comparable(transport: str, text: str) -> Any:
    # REST lines must match byte for byte; gRPC map order is the server's hash order, so compare
    # those as parsed objects.
    masked = without_instance_ids(text)
    return json.loads(masked) if transport == "grpc" else masked


@pytest.mark.parametrize("size", [2, 3, 4, 5])  # 2 and 3 divide the 6 rows, 4 and 5 do not
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_micro_batches_look_exactly_like_batch_size_one(
    tmp_path: Path, transport: str, echo: HttpEcho | GrpcEcho, variant: str, size: int
) -> None:
    flags, make_line = VARIANTS[variant]
    lines = [make_line(k) for k in range(ROWS)]
    single = run_batch(tmp_path / "one", echo.host, transport, lines, *flags)
    singles = len(echo.requests)
    batched = run_batch(tmp_path / "many", echo.host, transport, lines, *flags,
                        "-s", str(size), "-w", "2")  # fmt: skip

    assert single.summary.exit_code == batched.summary.exit_code == ExitCode.OK
    assert singles == ROWS
    assert len(echo.requests) - singles == math.ceil(ROWS / size)  # one request per batch
    assert [_comparable(transport, t) for t in batched.texts] == [
        _comparable(transport, t) for t in single.texts
    ]
    assert [ids(line)["batch_index"] for line in batched.lines] == list(range(ROWS))
    assert len({ids(line)["batch_instance_id"] for line in batched.lines}) == ROWS
    if variant.startswith("raw"):
        assert [line["meta"]["tags"]["customer"] for line in batched.lines] == list(range(ROWS))
        # As the original: the users' tags are not sent with a micro-batch, only merged back.
        for request in echo.requests[singles:]:
            if request.body["meta"]["tags"].keys() == {"batch_id"}:
                break
        else:
            pytest.fail("no micro-batch request carried only batch_id")


def test_a_trailing_batch_of_one_is_sent_as_a_single_line(
    tmp_path: Path, transport: str, echo: HttpEcho | GrpcEcho
) -> None:
    result = run_batch(tmp_path, echo.host, transport, [_data_line(k) for k in range(5)],
                       "-s", "4")  # fmt: skip

    assert result.summary.exit_code == ExitCode.OK
    assert len(echo.requests) == 2
    last = echo.requests[-1].body["meta"]["tags"]
    assert (
        last["batch_index"] == 4
        and last["batch_instance_id"] == ids(result.lines[4])["batch_instance_id"]
    )


def test_a_bad_line_inside_a_batch_fails_alone(
    tmp_path: Path, transport: str, echo: HttpEcho | GrpcEcho
) -> None:
    lines = [_data_line(0), _data_line(1), "{oops", _data_line(3), "", _data_line(5)]
    result = run_batch(tmp_path, echo.host, transport, lines, "-s", "3", "-w", "2")

    assert result.summary.exit_code == ExitCode.LINES_FAILED
    assert (result.summary.ok, result.summary.failed) == (4, 2)
    assert [ids(line)["batch_index"] for line in result.lines] == list(range(6))
    for k in (2, 4):
        status = result.lines[k]["status"]
        assert status["info"] == "FAILURE" and "invalid JSON" in status["reason"]
        assert result.lines[k]["meta"]["batch_index"] == k  # error lines: ids directly in meta
    for k in (0, 1, 3, 5):
        assert "status" not in result.lines[k]


def test_lines_that_cannot_join_a_batch_are_sent_alone(
    tmp_path: Path, transport: str, echo: HttpEcho | GrpcEcho
) -> None:
    # Two rows in one line, a different width, and a ragged array: each goes alone, so its
    # output is exactly what batch size 1 gives (here the echo, whatever the shape).
    lines = [_data_line(0), "[[1, 2, 3], [4, 5, 6]]", "[[1, 2]]", "[[1, 2], [3]]", _data_line(4)]
    result = run_batch(tmp_path, echo.host, transport, lines, "-s", "5", "-p", "ndarray")

    assert [ids(line)["batch_index"] for line in result.lines] == list(range(5))
    assert result.lines[1]["data"]["ndarray"] == [[1, 2, 3], [4, 5, 6]]
    assert result.lines[2]["data"]["ndarray"] == [[1, 2]]
    assert result.lines[3]["data"]["ndarray"] == [[1, 2], [3]]
    assert [line["data"]["ndarray"][0][0] for line in (result.lines[0], result.lines[4])] == [0, 4]
    assert len(echo.requests) == 4  # lines 0 and 4 shared one request


def test_a_response_that_cannot_be_split_falls_back_to_single_requests(tmp_path: Path) -> None:
    # A model that aggregates its batch into one row: the split fails, each line is resent.
    def aggregate(number: int, body: dict[str, Any]) -> Any:
        rows = body.get("data", {}).get("ndarray", [])
        return ("reply", {"data": {"ndarray": [[0]]}, "meta": {}}) if len(rows) > 1 else None

    server = HttpEcho(aggregate)
    try:
        result = run_batch(tmp_path, server.host, "rest", [_data_line(k) for k in range(4)],
                           "-s", "4")  # fmt: skip
    finally:
        server.stop()
    assert result.summary.exit_code == ExitCode.OK
    assert len(server.requests) == 1 + 4
    assert [line["data"]["ndarray"][0][0] for line in result.lines] == [0, 1, 2, 3]
