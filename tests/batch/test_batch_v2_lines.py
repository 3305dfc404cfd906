"""--protocol v2: plain and V2-request lines over REST and gRPC, tags, formats and gateways."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from batch_helpers import BATCH_ID
from batch_servers import GrpcEcho, HttpEcho, v2_echo
from v2_helpers import TAGS, request_for, run_v2, tensor_view, v2_server

from seldon_server.batch.config import ExitCode

# A plain line -> the tensor it must travel as, and come back as from an identity model.
PLAIN: list[tuple[str, dict[str, Any]]] = [
    ("[[1, 2, 3]]", {"datatype": "INT64", "shape": [1, 3], "data": [1, 2, 3]}),
    ("[[0.5, -2]]", {"datatype": "FP64", "shape": [1, 2], "data": [0.5, -2.0]}),
    ("[[[1], [2]], [[3], [4]]]", {"datatype": "INT64", "shape": [2, 2, 1], "data": [1, 2, 3, 4]}),
    ("[true, false]", {"datatype": "BOOL", "shape": [2], "data": [True, False]}),
    ('[["a", "bé"]]', {"datatype": "BYTES", "shape": [1, 2], "data": ["a", "bé"]}),
    ("[9223372036854775808]", {"datatype": "UINT64", "shape": [1], "data": [2**63]}),
    ("[]", {"datatype": "FP64", "shape": [0], "data": []}),
]


@pytest.fixture(params=[True, False], ids=["echoing", "not-echoing"])
def echoing(request: pytest.FixtureRequest) -> bool:
    """Whether the server echoes the request's parameters into its response."""
    return bool(request.param)


@pytest.fixture
def server(transport: str, echoing: bool) -> Iterator[HttpEcho | GrpcEcho]:
    started = v2_server(transport, echo_parameters=echoing)
    yield started
    started.stop()


def _assert_tagged(line: dict[str, Any], index: int, server: HttpEcho | GrpcEcho) -> None:
    """The line carries exactly the identifiers its one request was sent with."""
    (request,) = request_for(server, index)
    sent = request.body["parameters"]
    assert {key: line["parameters"][key] for key in TAGS} == {key: sent[key] for key in TAGS}
    assert (sent["batch_id"], sent["batch_index"]) == (BATCH_ID, index)
    assert type(line["parameters"]["batch_index"]) is int


def test_plain_lines_travel_as_one_tensor_and_come_back_as_v2_lines(
    tmp_path: Path, transport: str, server: HttpEcho | GrpcEcho
) -> None:
    lines = [text for text, _ in PLAIN]
    result = run_v2(tmp_path, server.host, transport, lines, "-w", "3")

    assert result.summary.exit_code == ExitCode.OK, result.texts
    assert len(result.lines) == len(PLAIN)
    for k, (line, (_, tensor)) in enumerate(zip(result.lines, PLAIN, strict=True)):
        assert line["model_name"] == "dep"
        (output,) = line["outputs"]
        assert tensor_view(output) == {"name": "output-0", **tensor}
        if tensor["datatype"] == "BYTES":  # text goes marked as text, and comes back so
            assert output["parameters"] == {"content_type": "str"}
        _assert_tagged(line, k, server)
        (request,) = request_for(server, k)
        (sent,) = request.body["inputs"]
        assert (sent["name"], sent["datatype"], sent["shape"]) == (
            "input-0",
            tensor["datatype"],
            tensor["shape"],
        )
        if transport == "rest":
            assert request.path == "/v2/models/dep/infer"
            assert sent["data"] == tensor["data"]
        else:
            assert request.path == "ModelInfer" and request.body["model_name"] == "dep"


def test_v2_request_lines_are_sent_as_they_are_with_the_tags_added(
    tmp_path: Path, transport: str, server: HttpEcho | GrpcEcho, echoing: bool
) -> None:
    def request(k: int) -> str:
        inputs = [
            {"name": "ids", "datatype": "INT32", "shape": [2], "data": [k, -k]},
            {"name": "text", "datatype": "BYTES", "shape": [1], "data": [f"row {k}"],
             "parameters": {"content_type": "str"}},
        ]  # fmt: skip
        parameters = {"customer": f"c{k}", "batch_index": 99}  # a clash: the processor's wins
        return json.dumps({"id": f"req-{k}", "inputs": inputs, "parameters": parameters})

    lines = [request(0), "[[7]]", request(2)]
    result = run_v2(tmp_path, server.host, transport, lines, "-w", "2")

    assert result.summary.exit_code == ExitCode.OK, result.texts
    assert result.lines[1]["outputs"][0]["data"] == [7]
    for k in (0, 2):
        line = result.lines[k]
        (sent,) = request_for(server, k)
        assert sent.body["parameters"]["customer"] == f"c{k}"  # the user's parameters are kept
        assert [tensor["name"] for tensor in sent.body["inputs"]] == ["ids", "text"]
        assert line["id"] == f"req-{k}"
        assert [tensor_view(output) for output in line["outputs"]] == [
            {"name": "output-0", "datatype": "INT32", "shape": [2], "data": [k, -k]},
            {"name": "output-1", "datatype": "BYTES", "shape": [1], "data": [f"row {k}"]},
        ]
        _assert_tagged(line, k, server)
        # Only an echoing server returns the user's own parameter; the tags are always there.
        assert ("customer" in line["parameters"]) is echoing


def test_parameters_are_added_before_the_outputs_when_the_server_sends_none(
    tmp_path: Path, transport: str
) -> None:
    server = v2_server(transport)
    try:
        result = run_v2(tmp_path, server.host, transport, ["[[1]]"])
    finally:
        server.stop()
    keys = list(result.lines[0])
    assert keys.index("parameters") == keys.index("outputs") - 1
    assert list(result.lines[0]["parameters"]) == ["batch_id", "batch_instance_id", "batch_index"]


def test_str_lines_are_one_bytes_element_marked_as_text(
    tmp_path: Path, transport: str, server: HttpEcho | GrpcEcho
) -> None:
    result = run_v2(tmp_path, server.host, transport, ['"hello"', '"wörld"', "[1]"], "-a", "str")

    assert result.summary.exit_code == ExitCode.LINES_FAILED
    for k, text in enumerate(["hello", "wörld"]):
        (output,) = result.lines[k]["outputs"]
        assert tensor_view(output) == {
            "name": "output-0",
            "datatype": "BYTES",
            "shape": [1],
            "data": [text],
        }
        assert output["parameters"] == {"content_type": "str"}
        _assert_tagged(result.lines[k], k, server)
    assert result.lines[2]["status"]["reason"] == "a str line must be a JSON string, got an array"
    assert result.lines[2]["meta"]["batch_index"] == 2


def test_raw_lines_must_be_v2_requests(
    tmp_path: Path, transport: str, server: HttpEcho | GrpcEcho
) -> None:
    good = json.dumps({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [2]}]})
    lines = [good, "[[1, 2]]", '{"parameters": {}}']
    result = run_v2(tmp_path, server.host, transport, lines, "-a", "raw")

    assert (result.summary.ok, result.summary.failed) == (1, 2)
    assert result.lines[0]["outputs"][0]["data"] == [2.0]
    assert result.lines[1]["status"]["reason"] == (
        "a raw line must be a JSON object (a V2 inference request), got an array"
    )
    # REST sends the object as it is and reports the server's refusal; gRPC cannot build the
    # message, so the line fails before it is sent.
    reason = result.lines[2]["status"]["reason"]
    expected = "HTTP 400 Bad Request: " if transport == "rest" else "not a valid V2 inference"
    assert reason.startswith(expected) and "'inputs'" in reason


@pytest.mark.parametrize("gateway", ["istio", "ambassador"])
def test_the_ingress_gateways_route_by_the_seldon_prefix_or_metadata(
    tmp_path: Path, transport: str, gateway: str
) -> None:
    server = v2_server(transport)
    try:
        result = run_v2(tmp_path, server.host, transport, ["[[1]]"], "-g", gateway, "-n", "ns")
    finally:
        server.stop()
    assert result.summary.exit_code == ExitCode.OK, result.texts
    (request,) = server.requests
    if transport == "rest":
        assert request.path == "/seldon/ns/dep/v2/models/dep/infer"
    else:
        assert (request.headers["seldon"], request.headers["namespace"]) == ("dep", "ns")
        assert request.body["model_name"] == "dep"


def test_grpc_raw_output_contents_are_written_as_json_data(tmp_path: Path) -> None:
    half = {"name": "h", "datatype": "FP16", "shape": [2], "data": [0.5, -1.5]}
    blob = {"name": "b", "datatype": "BYTES", "shape": [2], "data": ["AAE=", "/w=="],
            "parameters": {"content_type": "base64"}}  # fmt: skip
    lines = [text for text, _ in PLAIN] + [json.dumps({"inputs": [half, blob]})]
    typed, raw = GrpcEcho(), GrpcEcho(raw_output=True)
    try:
        from_typed = run_v2(tmp_path / "typed", typed.host, "grpc", lines)
        from_raw = run_v2(tmp_path / "raw", raw.host, "grpc", lines)
    finally:
        typed.stop()
        raw.stop()

    assert from_raw.summary.exit_code == from_typed.summary.exit_code == ExitCode.OK
    # FP16 has no typed field: the client sent that request raw, so both servers answered raw.
    assert typed.requests[-1].body["raw_input_contents"] == 2
    assert [r.body["raw_input_contents"] for r in raw.requests[:-1]] == [0] * len(PLAIN)
    assert [line["outputs"] for line in from_raw.lines] == [
        line["outputs"] for line in from_typed.lines
    ]
    for line, (_, tensor) in zip(from_raw.lines, PLAIN, strict=False):
        assert tensor_view(line["outputs"][0]) == {"name": "output-0", **tensor}
    half_out, blob_out = from_raw.lines[-1]["outputs"]
    assert tensor_view(half_out)["data"] == [0.5, -1.5]
    assert blob_out["data"] == ["AAE=", "/w=="]
    assert blob_out["parameters"] == {"content_type": "base64"}


def test_rest_binary_outputs_are_written_as_json_data(tmp_path: Path, http_echo: HttpEcho) -> None:
    inputs = [
        {"name": "a", "datatype": "INT16", "shape": [2, 2], "data": [1, -2, 3, 4]},
        {"name": "s", "datatype": "BYTES", "shape": [1], "data": ["text"]},
    ]
    binary = {"inputs": inputs, "parameters": {"binary_data_output": True}}
    assert v2_echo(binary, "dep", False).header_length is not None  # the answer is binary
    result = run_v2(tmp_path, http_echo.host, "rest", [json.dumps(binary)])

    assert result.summary.exit_code == ExitCode.OK, result.texts
    first, second = result.lines[0]["outputs"]
    assert tensor_view(first) == {"name": "output-0", "datatype": "INT16", "shape": [2, 2],
                                  "data": [1, -2, 3, 4]}  # fmt: skip
    assert tensor_view(second) == {"name": "output-1", "datatype": "BYTES", "shape": [1],
                                   "data": ["text"]}  # fmt: skip
    assert "binary_data_size" not in json.dumps(result.lines[0])
