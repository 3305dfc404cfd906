"""--protocol v2 pieces: datatype inference, splitting, tagging, message conversions, paths."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from seldon_server.batch.client import rest_path
from seldon_server.batch.config import resolve
from seldon_server.batch.io import identify
from seldon_server.batch.payload import Line, PayloadError, Unbatchable
from seldon_server.batch.responses import SplitError
from seldon_server.batch.v2_client import (
    binary_response,
    error_text,
    request_message,
    response_dict,
)
from seldon_server.batch.v2_payload import V2Codec, datatype_of, flatten, tagged
from seldon_server.codecs.v2_raw import pack_bytes
from seldon_server.errors import BadDataError, SeldonError
from seldon_server.proto import grpc_predict_v2_pb2 as pb


def _line(index: int, raw: str) -> Line:
    return Line(index, f"id-{index}", raw.encode())


@pytest.mark.parametrize(
    "leaves,datatype",
    [
        ([1, -2], "INT64"),
        ([1, 2.5], "FP64"),
        ([0.5], "FP64"),
        ([], "FP64"),
        ([True, False], "BOOL"),
        (["a"], "BYTES"),
        ([2**63, 1], "UINT64"),
        ([-(2**63), 2**63 - 1], "INT64"),
    ],
)
def test_the_datatype_carries_the_values_exactly(leaves: list[Any], datatype: str) -> None:
    assert datatype_of(leaves) == datatype


@pytest.mark.parametrize(
    "leaves,message",
    [
        ([1, "a"], "not integers, strings"),
        ([True, 1], "not booleans, integers"),
        ([1, None], "not integers, nulls"),
        ([{"a": 1}], "not objects"),
        ([-1, 2**63], "must fit in 64 bits"),
    ],
)
def test_mixed_or_unrepresentable_values_are_refused(leaves: list[Any], message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        datatype_of(leaves)


@pytest.mark.parametrize(
    "value,shape",
    [([[1, 2], [3, 4]], [2, 2]), ([], [0]), ([[]], [1, 0]), ([[[1]], [[2]]], [2, 1, 1])],
)
def test_the_shape_comes_from_the_nesting(value: list[Any], shape: list[int]) -> None:
    assert flatten(value) == (shape, np.asarray(value).ravel().tolist())


@pytest.mark.parametrize("value", [[[1, 2], [3]], [[1], 2], [1, [2]], [[[1]], [2]]])
def test_ragged_nesting_is_refused(value: list[Any]) -> None:
    with pytest.raises(PayloadError, match="rectangular"):
        flatten(value)


def test_only_two_dimensional_or_deeper_arrays_with_rows_can_join_a_batch() -> None:
    codec = V2Codec("data", "b")
    for raw in ("[1, 2]", "[[]]", "[]", '{"inputs": []}', "[[1], 2]", "5"):
        with pytest.raises(Unbatchable):
            codec.part(_line(0, raw))
    part = codec.part(_line(0, "[[1, 2], [3, 4]]"))
    assert (part.key, part.rows.count, part.rows.data) == (("v2", (2,), "INT64"), 2, [1, 2, 3, 4])
    with pytest.raises(Unbatchable):
        V2Codec("raw", "b").part(_line(0, '{"inputs": []}'))


def test_a_v2_request_line_keeps_its_parameters_and_gets_the_tags() -> None:
    line = _line(3, '{"inputs": [], "parameters": {"mine": 1, "batch_id": "theirs"}}')
    body = V2Codec("data", "b").single(line)
    assert body["parameters"] == {"mine": 1, "batch_id": "b", "batch_instance_id": "id-3",
                                  "batch_index": 3}  # fmt: skip
    with pytest.raises(PayloadError, match="parameters must be a JSON object"):
        V2Codec("data", "b").single(_line(0, '{"inputs": [], "parameters": [1]}'))


def test_split_cuts_every_output_by_the_row_counts() -> None:
    codec = V2Codec("data", "b")
    parts = [codec.part(_line(0, "[[1, 1]]")), codec.part(_line(1, "[[2, 2], [3, 3]]"))]
    response = {
        "model_name": "m",
        "id": "r",
        "outputs": [
            {"name": "a", "datatype": "INT64", "shape": [3, 2], "data": [[1, 1], [2, 2], [3, 3]]},
            {"name": "b", "datatype": "BYTES", "shape": [3], "data": ["x", "y", "z"]},
        ],
    }
    first, second = (json.loads(text) for text in codec.split(response, parts))
    assert first["outputs"] == [
        {"name": "a", "datatype": "INT64", "shape": [1, 2], "data": [1, 1]},
        {"name": "b", "datatype": "BYTES", "shape": [1], "data": ["x"]},
    ]
    assert [out["data"] for out in second["outputs"]] == [[2, 2, 3, 3], ["y", "z"]]
    assert second["parameters"] == {"batch_id": "b", "batch_instance_id": "id-1",
                                    "batch_index": 1}  # fmt: skip
    assert list(second) == ["model_name", "id", "parameters", "outputs"]


@pytest.mark.parametrize(
    "outputs",
    [
        [],
        [{"name": "a", "datatype": "INT64", "shape": [1, 2], "data": [0, 0]}],
        [{"name": "a", "datatype": "INT64", "shape": [2, 2], "data": [0, 0]}],
        [{"name": "a", "datatype": "INT64", "shape": [2, 1], "parameters": {}}],
        [{"name": "a", "datatype": "INT64", "shape": [2, 1], "data": [1, 2]}, {"name": "s"}],
    ],
)
def test_a_response_that_does_not_split_raises(outputs: list[Any]) -> None:
    codec = V2Codec("data", "b")
    parts = [codec.part(_line(0, "[[1]]")), codec.part(_line(1, "[[2]]"))]
    with pytest.raises(SplitError):
        codec.split({"outputs": outputs}, parts)


def test_tags_win_and_a_sorting_servers_order_is_kept() -> None:
    tags = {"batch_id": "b", "batch_instance_id": "i", "batch_index": 4}
    echoed = {"a": 1, "batch_id": "b", "batch_index": 4.0, "z": 2}
    line = tagged({"outputs": [], "parameters": echoed}, tags)
    assert list(line["parameters"]) == ["a", "batch_id", "batch_index", "batch_instance_id", "z"]
    assert type(line["parameters"]["batch_index"]) is int
    assert tagged({"model_name": "m"}, tags) == {"model_name": "m", "parameters": tags}


def test_a_v2_line_is_identified_by_its_parameters() -> None:
    assert identify({"parameters": {"batch_index": 3, "batch_id": "b"}, "outputs": []}) == (3, "b")
    assert identify({"parameters": {"batch_index": 3.0}}) == (3, None)
    assert identify({"parameters": {"other": 1}}) == (None, None)
    assert identify({"status": {}, "meta": {"batch_index": 2, "batch_id": "b"}}) == (2, "b")


@pytest.mark.parametrize(
    "gateway,path",
    [("seldon", "/v2/models/dep/infer"), ("istio", "/seldon/ns/dep/v2/models/dep/infer"),
     ("ambassador", "/seldon/ns/dep/v2/models/dep/infer")],
)  # fmt: skip
def test_rest_paths(gateway: str, path: str) -> None:
    config = resolve(["-d", "dep", "-n", "ns", "-g", gateway, "--protocol", "v2"], {})
    assert rest_path(config) == path


def test_a_request_message_uses_typed_contents_unless_fp16_needs_raw() -> None:
    typed = request_message({"inputs": [{"name": "a", "datatype": "INT8", "shape": [2],
                                         "data": [1, -1]}], "id": "x",
                             "parameters": {"batch_index": 2, "f": 0.5}}, "m")  # fmt: skip
    assert (typed.model_name, typed.id, list(typed.inputs[0].contents.int_contents)) == (
        "m",
        "x",
        [1, -1],
    )
    assert typed.parameters["batch_index"].int64_param == 2
    assert typed.parameters["f"].double_param == 0.5
    half = {"name": "h", "datatype": "FP16", "shape": [1], "data": [1.5]}
    text = {"name": "t", "datatype": "BYTES", "shape": [1], "data": ["é"]}
    raw = request_message({"inputs": [half, text]}, "m")
    assert list(raw.raw_input_contents) == [np.float16(1.5).tobytes(), pack_bytes(["é".encode()])]


@pytest.mark.parametrize(
    "body,message",
    [
        ({}, "needs an 'inputs' list"),
        ({"inputs": [], "parameters": {"l": [1]}}, "parameter l"),
        ({"inputs": [{"name": "a", "datatype": "INT9", "shape": [1], "data": [1]}]}, "INT9"),
        ({"inputs": [{"name": "a", "datatype": "INT8", "shape": [1], "data": [999]}]}, "range"),
        ({"inputs": [{"name": "a", "datatype": "INT8", "shape": [1]}]}, "has no 'data'"),
    ],
)
def test_a_request_the_message_cannot_carry_fails_the_line(
    body: dict[str, Any], message: str
) -> None:
    with pytest.raises(PayloadError, match=f"not a valid V2 inference request: .*{message}"):
        request_message(body, "m")


def test_a_response_message_reads_typed_and_raw_contents() -> None:
    typed = pb.ModelInferResponse(model_name="m", id="r")
    typed.parameters["batch_index"].int64_param = 7
    out = typed.outputs.add(name="o", datatype="FP32", shape=[1, 2])
    out.contents.fp32_contents.extend([0.5, 2])
    assert response_dict(typed) == {
        "model_name": "m",
        "id": "r",
        "parameters": {"batch_index": 7},
        "outputs": [{"name": "o", "datatype": "FP32", "shape": [1, 2], "data": [0.5, 2.0]}],
    }
    raw = pb.ModelInferResponse(model_name="m", model_version="1")
    raw.outputs.add(name="b", datatype="BYTES", shape=[2])
    raw.raw_output_contents.append(pack_bytes([b"ok", b"\xff"]))
    (blob,) = response_dict(raw)["outputs"]
    # Bytes that are not text go as base64, and say so.
    assert (blob["data"], blob["parameters"]) == (["b2s=", "/w=="], {"content_type": "base64"})


def test_a_binary_rest_response_is_decoded_and_checked() -> None:
    header = {"outputs": [{"name": "o", "datatype": "INT32", "shape": [2],
                           "parameters": {"binary_data_size": 8}}]}  # fmt: skip
    head = json.dumps(header).encode()
    body = head + np.array([3, -4], dtype="<i4").tobytes()
    decoded = binary_response(body, str(len(head)).encode())
    assert decoded["outputs"] == [{"name": "o", "datatype": "INT32", "shape": [2], "data": [3, -4]}]
    with pytest.raises(SeldonError, match="binary_data_size"):
        binary_response(body[:-1], str(len(head)).encode())
    with pytest.raises(SeldonError, match="Inference-Header-Content-Length"):
        binary_response(body, b"x")


def test_a_rest_error_reads_the_v2_error_text() -> None:
    assert error_text(b'{"error": "Input x is bad"}') == "Input x is bad"
    assert error_text(b"<html>bad gateway</html>") == "<html>bad gateway</html>"
    assert error_text(b'{"status": {"info": "seldon"}}') == '{"status": {"info": "seldon"}}'
    assert error_text(b"") == "(empty body)"


def test_a_line_nested_deeper_than_numpy_holds_is_refused_without_recursion() -> None:
    deep: Any = 1
    for _ in range(1000):  # what a JSON parser takes, and far past the interpreter's recursion
        deep = [deep]
    with pytest.raises(PayloadError, match="at most 64 dimensions"):
        flatten(deep)
    assert flatten([[1, 2], [3, 4]]) == ([2, 2], [1, 2, 3, 4])


def test_out_of_range_typed_contents_in_a_grpc_answer_are_an_error_not_wrapped() -> None:
    message = pb.ModelInferResponse(model_name="m")
    output = message.outputs.add(name="o", datatype="INT8", shape=[1])
    output.contents.int_contents.append(300)
    with pytest.raises(BadDataError, match="out of range"):
        response_dict(message)
