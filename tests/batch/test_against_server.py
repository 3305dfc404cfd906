"""The batch processor against the real `seldon-microservice`, started from its CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from batch_cases import CASES, LINES, expected, payload
from batch_helpers import BATCH_ID, ids, run_batch, without_instance_ids
from model_server import Server

from seldon_server.batch.config import ExitCode


@pytest.mark.parametrize("transport", ["rest", "grpc"])
@pytest.mark.parametrize("data_type,payload_type", list(CASES))
def test_each_data_and_payload_type(
    tmp_path: Path, server: Server, transport: str, data_type: str, payload_type: str
) -> None:
    make_line, key, rows = CASES[(data_type, payload_type)]
    result = run_batch(tmp_path, server.host(transport), transport,
                       [make_line(k) for k in range(LINES)],
                       "-a", data_type, "-p", payload_type, "-w", "3")  # fmt: skip

    assert result.summary.exit_code == ExitCode.OK, result.texts
    for k, (text, line) in enumerate(zip(result.texts, result.lines, strict=True)):
        assert rows(payload(line, key)) == expected(data_type, k)
        tags = line["meta"]["tags"]
        assert (tags["batch_id"], tags["batch_index"]) == (BATCH_ID, k)
        assert type(tags["batch_index"]) is int and tags["batch_instance_id"]
        if data_type == "raw" and payload_type == "ndarray":
            assert tags["who"] == k
        assert text == json.dumps(line)


@pytest.mark.parametrize("transport", ["rest", "grpc"])
@pytest.mark.parametrize("payload_type", ["ndarray", "tensor", "tftensor"])
def test_micro_batching_matches_batch_size_one(
    tmp_path: Path, server: Server, transport: str, payload_type: str
) -> None:
    lines = [json.dumps([[k, k / 2, -k]]) for k in range(7)]
    host = server.host(transport)
    runs = [run_batch(tmp_path / f"s{size}", host, transport, lines, "-p", payload_type,
                      "-s", str(size), "-w", "2") for size in (1, 3, 7)]  # fmt: skip

    def comparable(text: str) -> object:
        masked = without_instance_ids(text)
        return masked if transport == "rest" else json.loads(masked)

    first = [comparable(text) for text in runs[0].texts]
    for result in runs:
        assert result.summary.exit_code == ExitCode.OK, result.texts
        assert [comparable(text) for text in result.texts] == first


@pytest.mark.parametrize("transport", ["rest", "grpc"])
def test_feedback(tmp_path: Path, server: Server, transport: str) -> None:
    feedback = {"request": {"data": {"ndarray": [[1, 2]]}}, "truth": {"data": {"ndarray": [[1]]}},
                "reward": 0.5}  # fmt: skip
    result = run_batch(tmp_path, server.host(transport), transport, [json.dumps(feedback)] * 3,
                       "-m", "feedback", "-a", "raw")  # fmt: skip

    assert result.summary.exit_code == ExitCode.OK, result.texts
    assert [line["meta"]["tags"]["batch_index"] for line in result.lines] == [0, 1, 2]
    assert all(line["meta"]["tags"]["batch_id"] == BATCH_ID for line in result.lines)


@pytest.mark.parametrize("transport", ["rest", "grpc"])
def test_bad_lines_fail_alone_with_the_servers_reason(
    tmp_path: Path, server: Server, transport: str
) -> None:
    lines = ["[[1, 2]]", "{oops", "[[1, 2], [3]]", "[[3, 4]]", '"not an array"', "[[5, 6]]"]
    result = run_batch(tmp_path, server.host(transport), transport, lines, "-s", "3", "-r", "1")

    assert result.summary.exit_code == ExitCode.LINES_FAILED
    assert [ids(line)["batch_index"] for line in result.lines] == list(range(6))
    assert [("status" in line) for line in result.lines] == [False, True, True, False, True, False]
    assert "invalid JSON" in result.lines[1]["status"]["reason"]
    ragged = result.lines[2]["status"]["reason"]  # the server refused it: its answer is the reason
    assert ragged.startswith("HTTP 400" if transport == "rest" else "gRPC ")
    assert "a data line must be a JSON array" in result.lines[4]["status"]["reason"]
