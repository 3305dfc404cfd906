"""Every data type x payload type x transport x gateway through the echo servers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from batch_cases import CASES, LINES, expected, payload
from batch_helpers import BATCH_ID, run_batch
from batch_servers import GrpcEcho, HttpEcho

from seldon_server.batch.config import ExitCode


def _puid(headers: dict[str, str]) -> str:
    return {name.lower(): value for name, value in headers.items()}["seldon-puid"]


@pytest.mark.parametrize("data_type,payload_type", list(CASES))
def test_each_data_and_payload_type_round_trips(
    tmp_path: Path, transport: str, echo: HttpEcho | GrpcEcho, data_type: str, payload_type: str
) -> None:
    make_line, key, rows = CASES[(data_type, payload_type)]
    result = run_batch(tmp_path, echo.host, transport, [make_line(k) for k in range(LINES)],
                       "-a", data_type, "-p", payload_type, "-w", "3")  # fmt: skip

    assert result.summary.exit_code == ExitCode.OK
    assert (result.summary.ok, result.summary.failed) == (LINES, 0)
    sent = {req.body["meta"]["tags"]["batch_index"]: req for req in echo.requests}
    assert sorted(sent) == list(range(LINES))  # one request per line, every index once
    for k, (text, line) in enumerate(zip(result.texts, result.lines, strict=True)):
        request = sent[k]
        assert rows(payload(request.body, key)) == expected(data_type, k)
        assert rows(payload(line, key)) == expected(data_type, k)  # the echo came back
        tags = line["meta"]["tags"]
        assert tags["batch_index"] == k and type(tags["batch_index"]) is int
        assert tags["batch_id"] == BATCH_ID
        assert tags["batch_instance_id"] == _puid(request.headers)
        if data_type == "raw" and payload_type == "ndarray":
            assert tags["who"] == k  # the user's own tags travel with the batch identifiers
        # json.dumps default separators, keys in the order the server sent them.
        assert text == json.dumps(line)
        if transport == "grpc":
            assert list(line)[0] == "meta"  # proto field order: meta (2) before the payload
        else:
            assert list(line) == sorted(line)  # as the server sent it


@pytest.mark.parametrize("gateway", ["ambassador", "istio", "seldon"])
def test_every_gateway_sends_the_batch_tags_and_routes(
    tmp_path: Path, transport: str, echo: HttpEcho | GrpcEcho, gateway: str
) -> None:
    result = run_batch(tmp_path, echo.host, transport, ['"a"', '"b"'], "-a", "str",
                       "-g", gateway, "-n", "ns1", "-d", "model-a")  # fmt: skip

    assert result.summary.exit_code == ExitCode.OK
    for request in echo.requests:
        tags = request.body["meta"]["tags"]
        assert set(tags) == {"batch_id", "batch_instance_id", "batch_index"}
        headers = {name.lower(): value for name, value in request.headers.items()}
        assert headers["seldon-puid"] == tags["batch_instance_id"]
        if transport == "rest":
            prefix = "" if gateway == "seldon" else "/seldon/ns1/model-a"
            assert request.path == f"{prefix}/api/v1.0/predictions"
        elif gateway == "seldon":
            assert "seldon" not in headers and "namespace" not in headers
        else:
            assert (headers["seldon"], headers["namespace"]) == ("model-a", "ns1")
    assert [line["meta"]["tags"]["batch_index"] for line in result.lines] == [0, 1]


def test_feedback_goes_to_the_feedback_endpoint_with_ids_in_the_output(
    tmp_path: Path, transport: str, echo: HttpEcho | GrpcEcho
) -> None:
    feedback = {"request": {"data": {"ndarray": [[1, 2]]}}, "reward": 1.0}
    lines = [json.dumps(feedback), "{not json", json.dumps(feedback)]
    result = run_batch(tmp_path, echo.host, transport, lines, "-m", "feedback", "-a", "raw")

    assert result.summary.exit_code == ExitCode.LINES_FAILED
    assert len(echo.requests) == 2
    for request in echo.requests:
        assert request.path in ("/api/v1.0/feedback", "SendFeedback")
        assert request.body["reward"] == 1.0 and "meta" not in request.body
    good, bad, last = result.lines
    assert good["data"] == {"ndarray": []}
    assert good["meta"]["tags"]["batch_index"] == 0 and last["meta"]["tags"]["batch_index"] == 2
    # A feedback error line keeps its identifiers under meta.tags, as the original did.
    assert bad["status"]["status"] == 1 and "invalid JSON" in bad["status"]["reason"]
    assert bad["meta"]["tags"]["batch_index"] == 1 and bad["meta"]["tags"]["batch_id"] == BATCH_ID
