"""V2 REST codec: JSON and binary-extension requests and responses, bit for bit, and bad data."""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import numpy as np
import pytest
import v2_client as client

from seldon_server.codecs import v2_json
from seldon_server.codecs.v2_tensors import (
    DTYPES,
    InferenceRequest,
    InferenceResponse,
    NamedTensor,
    RequestedOutput,
    datatype_of,
    output_tensor,
    select_outputs,
)
from seldon_server.errors import BadDataError, InternalError

SAMPLES, NAN_BITS, BINARY_SAMPLES = client.SAMPLES, client.NAN_BITS, client.BINARY_SAMPLES


def decode(body: Any) -> InferenceRequest:
    return v2_json.decode_request(body)


def one_input(**fields: Any) -> dict[str, Any]:
    tensor = {"name": "x", "datatype": "INT64", "shape": [2], "data": [1, 2], **fields}
    return {"inputs": [{k: v for k, v in tensor.items() if v is not None}]}


def bad(body: Any, match: str) -> None:
    with pytest.raises(BadDataError, match=match):
        decode(body)


# The datatype table


def test_the_table_has_every_datatype_of_the_protocol() -> None:
    assert list(DTYPES) == client.DATATYPES
    for name, code in client.NUMPY.items():
        assert DTYPES[name] == np.dtype(code)
        assert datatype_of(np.dtype(code)) == name
        assert datatype_of(np.dtype(code).newbyteorder(">")) == name
    assert DTYPES["BYTES"] == np.dtype(object)


@pytest.mark.parametrize("dtype", [object, "U3", "S3"])
def test_text_and_object_arrays_are_bytes(dtype: Any) -> None:
    assert datatype_of(np.dtype(dtype)) == "BYTES"


@pytest.mark.parametrize("dtype", [np.complex128, "datetime64[s]", "timedelta64[s]", "V4"])
def test_dtypes_without_a_datatype_are_a_server_error(dtype: Any) -> None:
    with pytest.raises(InternalError, match="Cannot encode dtype"):
        datatype_of(np.dtype(dtype))


# Requests: JSON and binary, every datatype bit for bit


@pytest.mark.parametrize("name", list(SAMPLES))
@pytest.mark.parametrize("nested", [False, True])
def test_json_request_keeps_every_bit(name: str, nested: bool) -> None:
    array = SAMPLES[name]
    body = {"inputs": [client.json_input("x", array, nested=nested)]}
    tensor = decode(json.loads(json.dumps(body))).inputs[0]
    assert (tensor.name, tensor.datatype, tensor.shape) == ("x", name, array.shape)
    assert client.same_bits(tensor.data, array)
    if name != "BYTES":
        assert tensor.data.dtype == DTYPES[name]
    else:
        assert all(isinstance(value, bytes) for value in tensor.data.ravel())


@pytest.mark.parametrize("name", list(BINARY_SAMPLES))
def test_binary_request_keeps_every_bit(name: str) -> None:
    array = BINARY_SAMPLES[name]
    body, length = client.binary_request({"x": array})
    tensor = v2_json.parse_body(body, str(length)).inputs[0]
    assert client.same_bits(tensor.data, array)
    assert "binary_data_size" not in tensor.parameters  # a transport detail, not for the model


def test_binary_inputs_are_writable_aligned_native_copies() -> None:
    array = np.arange(5, dtype=np.float64)
    body, length = client.binary_request({"odd": np.array([1], np.int8), "x": array})
    data = v2_json.parse_body(body, length).inputs[1].data
    assert data.flags.writeable and data.flags.aligned and data.dtype.isnative
    data[0] = 7  # models may write to their inputs


def test_json_and_binary_inputs_mix_in_order() -> None:
    a, b, c = np.arange(3, dtype=np.int32), np.array([1.5]), np.array([b"xy", b"z"], dtype=object)
    binary, _ = client.binary_request({"a": a, "c": c})
    header_end = binary.index(b"}]}") + 3
    header = json.loads(binary[:header_end])
    header["inputs"].insert(1, client.json_input("b", b))
    head = json.dumps(header).encode()
    request = v2_json.parse_body(head + binary[header_end:], len(head))
    assert [t.name for t in request.inputs] == ["a", "b", "c"]
    for tensor, expected in zip(request.inputs, [a, b, c], strict=True):
        assert client.same_bits(tensor.data, expected)


def test_a_body_without_header_length_is_all_json() -> None:
    request = v2_json.parse_body(client.json_request({"x": SAMPLES["INT64"]}, id="7"))
    assert request.id == "7" and client.same_bits(request.inputs[0].data, SAMPLES["INT64"])


def test_integers_never_go_through_float() -> None:
    big = [2**63 + 1, 1, 2**64 - 1]  # numpy alone would read these as float64
    tensor = decode(one_input(datatype="UINT64", shape=[3], data=big)).inputs[0]
    assert tensor.data.tolist() == big
    exact = [2**53 + 1, -(2**63)]
    assert decode(one_input(data=exact)).inputs[0].data.tolist() == exact


def test_nested_data_need_only_the_right_count() -> None:
    # Data are read row-major whatever their nesting, as the protocol's other servers read them.
    for data in ([[1, 2], [3, 4]], [[1], [2, 3, 4]], [1, [2, [3, [4]]]]):
        tensor = decode(one_input(shape=[2, 2], data=data)).inputs[0]
        assert tensor.data.tolist() == [[1, 2], [3, 4]]


def test_json_numbers_convert_to_the_declared_datatype() -> None:
    assert decode(one_input(datatype="FP32", data=[1, 2])).inputs[0].data.dtype == np.float32
    tensor = decode(one_input(datatype="FP16", shape=[1], data=[0.1])).inputs[0]
    assert tensor.data.tobytes() == np.float16(0.1).tobytes()
    flags = decode(one_input(datatype="INT8", data=[True, 3])).inputs[0].data
    assert flags.tolist() == [1, 3]  # JSON true/false count as 1/0, as numpy reads them


def test_scalars_and_empty_tensors() -> None:
    assert decode(one_input(shape=[], data=5)).inputs[0].data.shape == ()
    assert decode(one_input(shape=[], data=[5])).inputs[0].data.tolist() == 5
    for name in DTYPES:
        tensor = decode(one_input(datatype=name, shape=[0, 3], data=[])).inputs[0]
        assert np.asarray(tensor.data).shape == (0, 3)


def test_non_finite_json_numbers_are_accepted() -> None:
    body = (
        b'{"inputs":[{"name":"x","datatype":"FP32","shape":[3],"data":[NaN,Infinity,-Infinity]}]}'
    )
    data = v2_json.parse_body(body).inputs[0].data
    assert np.isnan(data[0]) and data[1] == np.inf and data[2] == -np.inf


def test_request_fields() -> None:
    body = {
        **one_input(parameters={"content_type": "np", "extra": 1}),
        "id": "abc",
        "parameters": {"binary_data_output": True, "custom": "x"},
        "outputs": [{"name": "y", "parameters": {"binary_data": False}}, {"name": "z"}],
    }
    request = decode(body)
    assert request.id == "abc"
    assert request.parameters == {"binary_data_output": True, "custom": "x"}
    assert request.inputs[0].parameters == {"content_type": "np", "extra": 1}
    assert request.outputs == [RequestedOutput("y", {"binary_data": False}), RequestedOutput("z")]
    assert decode(one_input()).id is None


# Content types


def bytes_input(data: list[Any], kind: str | None, shape: list[int] | None = None) -> Any:
    parameters = None if kind is None else {"content_type": kind}
    return one_input(datatype="BYTES", shape=shape or [len(data)], data=data, parameters=parameters)


def test_content_type_str_gives_text() -> None:
    tensor = decode(bytes_input(["h\u00e9", "b"], "str")).inputs[0]
    assert tensor.data == ["h\u00e9", "b"]


def test_content_type_base64_gives_decoded_bytes() -> None:
    encoded = [base64.b64encode(b"\xff\x00").decode(), ""]
    assert decode(bytes_input(encoded, "base64")).inputs[0].data == [b"\xff\x00", b""]


@pytest.mark.parametrize("kind", [None, "np", "pd", "datetime"])
def test_other_content_types_give_raw_bytes_and_keep_the_parameter(kind: str | None) -> None:
    tensor = decode(bytes_input(["a", "b", "c", "d"], kind, shape=[2, 2])).inputs[0]
    assert isinstance(tensor.data, np.ndarray) and tensor.data.dtype == object
    assert tensor.data.tolist() == [[b"a", b"b"], [b"c", b"d"]]
    assert tensor.parameters.get("content_type") == kind


def test_content_types_apply_to_binary_inputs() -> None:
    array = np.array([b"\xc3\xa9", base64.b64encode(b"\xff")], dtype=object)
    body, length = client.binary_request({"x": array[:1]})
    header = json.loads(body[:length])
    header["inputs"][0]["parameters"]["content_type"] = "str"
    head = json.dumps(header).encode()
    assert v2_json.parse_body(head + body[length:], len(head)).inputs[0].data == ["\u00e9"]
    body, length = client.binary_request({"x": array[1:]})
    head = body[:length].replace(b'"parameters": {', b'"parameters": {"content_type": "base64", ')
    assert v2_json.parse_body(head + body[length:], len(head)).inputs[0].data == [b"\xff"]


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (one_input(parameters={"content_type": "str"}), "needs datatype BYTES"),
        (one_input(parameters={"content_type": "base64"}), "needs datatype BYTES"),
        (bytes_input(["@@"], "base64"), "invalid base64"),
        (bytes_input(["YQ"], "base64"), "invalid base64"),  # missing padding
        (bytes_input(["\u00e9"], "base64"), "invalid base64"),
        (bytes_input(["a"], 5), "content_type must be a string"),  # type: ignore[arg-type]
        (bytes_input(["\ud800"], None), "not valid text"),
    ],
)
def test_bad_content_type_data(body: Any, match: str) -> None:
    bad(body, match)


def test_str_content_type_needs_utf8_in_binary() -> None:
    body, length = client.binary_request({"x": np.array([b"\xff"], dtype=object)})
    head = body[:length].replace(b'"parameters": {', b'"parameters": {"content_type": "str", ')
    with pytest.raises(BadDataError, match="not UTF-8"):
        v2_json.parse_body(head + body[length:], len(head))


# Bad requests


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ([], "must be a JSON object"),
        ({}, "needs an 'inputs' list"),
        ({"inputs": {}}, "needs an 'inputs' list"),
        ({"inputs": [5]}, "Input 0 must be a JSON object"),
        ({"inputs": [{"datatype": "INT64"}]}, "string 'name'"),
        (one_input() | {"id": 5}, "'id' must be a string"),
        (one_input() | {"parameters": []}, "'parameters' must be a JSON object"),
        (one_input(parameters="x"), "'parameters' must be a JSON object"),
        (one_input() | {"parameters": {"binary_data_output": 1}}, "must be true or false"),
        (one_input() | {"outputs": {}}, "'outputs' must be a list"),
        (one_input() | {"outputs": [{"name": 1}]}, "string 'name'"),
        (
            one_input() | {"outputs": [{"name": "y", "parameters": {"binary_data": "yes"}}]},
            "must be true or false",
        ),
        (one_input() | {"outputs": [{"name": "y"}, {"name": "y"}]}, "Repeated requested output"),
        ({"inputs": one_input()["inputs"] * 2}, "Repeated input names"),
        (one_input(data=None), "neither 'data' nor binary_data_size"),
    ],
)
def test_bad_request_structure(body: Any, match: str) -> None:
    bad(body, match)


@pytest.mark.parametrize("datatype", ["FLOAT32", "fp32", "", None, 5, ["INT64"], "STRING"])
def test_bad_datatype(datatype: Any) -> None:
    bad(one_input(datatype=datatype), "unsupported datatype")


@pytest.mark.parametrize("shape", [None, 2, [2.0], [True, 2], [-1], [2, -2], ["2"], {"a": 1}])
def test_bad_shape(shape: Any) -> None:
    body = one_input(shape=shape)  # None drops the key
    bad(body, "'shape' must be a list")


@pytest.mark.parametrize(
    ("shape", "data"),
    [([3], [1, 2]), ([1], [1, 2]), ([2, 2], [1, 2, 3]), ([], [1, 2]), ([2**70], [1]), ([0], [1])],
)
def test_wrong_count(shape: list[int], data: list[Any]) -> None:
    bad(one_input(shape=shape, data=data), "values, but the shape holds")


def test_more_dimensions_than_numpy_holds() -> None:
    bad(one_input(shape=[1] * 65, data=[1]), "cannot shape the data")


@pytest.mark.parametrize(
    ("datatype", "data", "match"),
    [
        ("INT64", [1.5, 2], "must be integers"),
        ("INT64", [1.0, 2], "must be integers"),
        ("INT64", ["1", "2"], "must be integers"),
        ("INT64", [None, 1], "must be integers"),
        ("INT64", [{}, 1], "must be integers"),
        ("UINT8", [[1, "a"]], "must be integers"),
        ("BOOL", [1, 0], "must be true or false"),
        ("BOOL", ["true", False], "must be true or false"),
        ("FP32", ["1.5", 1], "must be numbers"),
        ("FP64", [None, 1], "must be numbers"),
        ("BYTES", [1, 2], "must be strings"),
        ("BYTES", ["a", None], "must be strings"),
        ("UINT8", [256, 0], "out of range for UINT8"),
        ("INT8", [-129, 0], "out of range for INT8"),
        ("UINT64", [-1, 0], "out of range for UINT64"),
        ("UINT64", [2**64, 0], "out of range for UINT64"),
        ("INT64", [2**63, 0], "out of range for INT64"),
        ("INT32", [2**31, 0], "out of range for INT32"),
        ("FP16", [70000.0, 0], "out of range for FP16"),
        ("FP16", [70000, 0], "out of range for FP16"),
        ("FP32", [1e39, 0], "out of range for FP32"),
        ("FP64", [10**400, 0], "out of range for FP64"),
        ("FP32", [10**400, 0], "out of range for FP32"),
    ],
)
def test_values_that_do_not_fit_the_datatype(datatype: str, data: list[Any], match: str) -> None:
    bad(one_input(datatype=datatype, data=data), match)


def test_null_in_float_data_is_named() -> None:
    # Some encoders write NaN and infinities as null; the message says what to send instead.
    bad(one_input(datatype="FP64", data=[1.0, None]), "not null: send NaN and infinities as")


def test_ragged_data_with_the_wrong_count() -> None:
    bad(one_input(shape=[4], data=[[1, 2], [3]]), "values, but the shape holds")


# The binary extension's framing


def binary_body(array: np.ndarray) -> tuple[bytes, int]:
    return client.binary_request({"x": array})


@pytest.mark.parametrize("length", ["abc", "-1", "1e3", "", "0x10", "\u0661", -1, 1.5, True, None])
def test_bad_header_length(length: Any) -> None:
    body, _ = binary_body(np.arange(3))
    # Without a length (None) the binary part reads as garbage after the JSON.
    with pytest.raises(BadDataError):
        v2_json.parse_body(body, length)


def test_header_length_beyond_the_body() -> None:
    body, _ = binary_body(np.arange(3))
    with pytest.raises(BadDataError, match="exceeds the"):
        v2_json.parse_body(body, len(body) + 1)


def test_header_length_may_have_spaces() -> None:
    body, length = binary_body(np.arange(3))
    assert v2_json.parse_body(body, f" {length} ").inputs[0].data.tolist() == [0, 1, 2]


def test_header_length_that_cuts_the_json() -> None:
    body, length = binary_body(np.arange(3))
    with pytest.raises(BadDataError, match="Can't find JSON"):
        v2_json.parse_body(body, length - 1)


def test_truncated_binary_section() -> None:
    body, length = binary_body(np.arange(3))
    with pytest.raises(BadDataError, match="exceeds the 23 bytes left"):
        v2_json.parse_body(body[:-1], length)


def test_over_long_binary_section() -> None:
    body, length = binary_body(np.arange(3))
    with pytest.raises(BadDataError, match="1 bytes of binary data follow"):
        v2_json.parse_body(body + b"\0", length)
    with pytest.raises(BadDataError, match="follow the last binary input"):
        v2_json.parse_body(json.dumps(one_input()).encode() + b"xx", len(json.dumps(one_input())))


@pytest.mark.parametrize("size", [-1, True, 1.0, "8", None])
def test_bad_binary_data_size(size: Any) -> None:
    body = one_input(data=None, parameters={"binary_data_size": size})
    if size is None:
        bad(body, "neither 'data' nor")
    else:
        bad(body, "must be a non-negative integer")


def test_binary_size_that_does_not_match_the_shape() -> None:
    body = one_input(data=None, parameters={"binary_data_size": 8})
    with pytest.raises(BadDataError, match="8 bytes of INT64 data, but shape"):
        v2_json.decode_request(body, b"\0" * 8)


def test_data_and_binary_data_size_together() -> None:
    bad(one_input(parameters={"binary_data_size": 16}), "both 'data' and binary_data_size")


@pytest.mark.parametrize(
    ("tail", "count", "match"),
    [
        (b"\x01\x00\x00", 1, "truncated BYTES length prefix"),
        (b"\x05\x00\x00\x00abc", 1, "element of 5 bytes, but only 3 remain"),
        (b"\x01\x00\x00\x00a", 2, "1 BYTES elements, but shape needs 2"),
        (b"\x01\x00\x00\x00a\x00\x00\x00\x00", 1, "4 bytes left after the 1 elements"),
        (b"\xff\xff\xff\xff", 1, "element of 4294967295 bytes"),
        (b"", 1, "0 BYTES elements"),
    ],
)
def test_malformed_binary_bytes(tail: bytes, count: int, match: str) -> None:
    body = one_input(datatype="BYTES", shape=[count], data=None)
    body["inputs"][0]["parameters"] = {"binary_data_size": len(tail)}
    with pytest.raises(BadDataError, match=match):
        v2_json.decode_request(body, tail)


def test_binary_bool_must_be_zero_or_one() -> None:
    body = one_input(datatype="BOOL", shape=[2], data=None, parameters={"binary_data_size": 2})
    with pytest.raises(BadDataError, match="BOOL bytes must be 0 or 1"):
        v2_json.decode_request(body, b"\x01\x02")


# Responses


def respond(outputs: dict[str, Any], **fields: Any) -> InferenceResponse:
    return InferenceResponse("m", [output_tensor(k, v) for k, v in outputs.items()], **fields)


@pytest.mark.parametrize("name", list(SAMPLES))
def test_json_response_keeps_every_bit(name: str) -> None:
    rendered = v2_json.render_response(respond({"y": SAMPLES[name]}))
    assert rendered.header_length is None and rendered.tail == b""
    outputs = client.parse_response(rendered.body, None)
    assert client.same_bits(outputs["y"], SAMPLES[name])


@pytest.mark.parametrize("name", list(BINARY_SAMPLES))
def test_binary_response_keeps_every_bit(name: str) -> None:
    rendered = v2_json.render_response(respond({"y": BINARY_SAMPLES[name]}), {"y"})
    assert rendered.header_length == len(rendered.header)
    assert client.same_bits(
        client.parse_response(rendered.body, rendered.header_length)["y"], BINARY_SAMPLES[name]
    )


def test_json_response_numbers_keep_their_json_type() -> None:
    body = v2_json.response_body(
        respond({"i": np.array([2**63 - 1]), "h": np.array([0.5], np.float16), "b": [True]})
    )
    i, h, b = (output["data"] for output in body["outputs"])
    assert i == [2**63 - 1] and type(i[0]) is int
    assert h == [0.5] and type(h[0]) is float  # FP16 data are JSON numbers
    assert b == [True] and type(b[0]) is bool


def test_non_finite_floats_render_as_the_usual_tokens() -> None:
    rendered = v2_json.render_response(respond({"y": np.array([np.nan, np.inf, -np.inf])}))
    assert b'"data":[NaN,Infinity,-Infinity]' in rendered.header
    values = client.parse_response(rendered.body, None)["y"]
    assert np.isnan(values[0]) and list(values[1:]) == [np.inf, -np.inf]


@pytest.mark.parametrize(
    "parameters", [{}, {"p": None}, {"big": 2**70}, {"nan": float("nan")}, {"s": "null"}]
)
def test_every_serializer_path_writes_the_same_json(parameters: dict[str, Any]) -> None:
    outputs = {"f": np.array([0.1, 1e-5], np.float32), "s": ["null"], "i": np.array([2**63 - 1])}
    rendered = v2_json.render_response(respond(outputs, parameters=parameters))
    parsed = json.loads(rendered.header)
    expected = json.loads(
        json.dumps(v2_json.response_body(respond(outputs, parameters=parameters)))
    )
    assert json.dumps(parsed, sort_keys=True) == json.dumps(expected, sort_keys=True)
    assert rendered.header.endswith(b"\n")


def test_response_fields() -> None:
    body = v2_json.response_body(respond({"y": np.array([1])}))
    assert body == {
        "model_name": "m",
        "outputs": [{"name": "y", "datatype": "INT64", "shape": [1], "data": [1]}],
    }
    full = v2_json.response_body(respond({}, model_version="2", id="r", parameters={"p": 1}))
    assert full == {
        "model_name": "m",
        "model_version": "2",
        "id": "r",
        "parameters": {"p": 1},
        "outputs": [],
    }


def test_mixed_binary_and_json_outputs() -> None:
    outputs = {"a": np.arange(3), "b": np.array([[1.5]]), "c": [b"\xff", b"x"], "d": ["t"]}
    rendered = v2_json.render_response(respond(outputs, id="1"), {"a", "c"})
    header = json.loads(rendered.header)
    assert [o.get("parameters", {}).get("binary_data_size") for o in header["outputs"]] == [
        24,
        None,
        10,
        None,
    ]
    assert all(("data" in o) == (o["name"] in "bd") for o in header["outputs"])
    parsed = client.parse_response(rendered.body, rendered.header_length)
    assert parsed["a"].tolist() == [0, 1, 2] and parsed["c"].tolist() == [b"\xff", b"x"]
    assert parsed["b"].tolist() == [[1.5]] and parsed["d"].tolist() == ["t"]


def test_zero_size_binary_output_still_sets_the_header_length() -> None:
    rendered = v2_json.render_response(respond({"y": np.zeros((0, 2))}), {"y"})
    assert rendered.tail == b"" and rendered.header_length == len(rendered.header)


def test_bytes_outputs_in_json() -> None:
    text = v2_json.response_body(respond({"y": ["a", "\u00e9"]}))["outputs"][0]
    assert text["data"] == ["a", "\u00e9"] and text["parameters"] == {"content_type": "str"}
    utf8 = v2_json.response_body(respond({"y": [b"a", "\u00e9".encode()]}))["outputs"][0]
    assert utf8["data"] == ["a", "\u00e9"] and "parameters" not in utf8
    raw = v2_json.response_body(respond({"y": np.array([b"\xff", b"a"], dtype=object)}))
    marked = raw["outputs"][0]
    assert marked["parameters"] == {"content_type": "base64"}
    assert [base64.b64decode(v) for v in marked["data"]] == [b"\xff", b"a"]
    asked = output_tensor("y", [b"ab"], {"content_type": "base64"})
    body = v2_json.response_body(InferenceResponse("m", [asked]))
    assert body["outputs"][0]["data"] == ["YWI="]
    rendered = v2_json.render_response(InferenceResponse("m", [asked]), {"y"})
    assert rendered.tail == b"\x04\x00\x00\x00YWI="


def test_unicode_and_bytes_arrays_as_outputs() -> None:
    for array in (np.array(["ab", "c"]), np.array([b"ab", b"c"])):
        rendered = v2_json.render_response(respond({"y": array}), {"y"})
        assert rendered.tail == b"\x02\x00\x00\x00ab\x01\x00\x00\x00c"
        assert v2_json.response_body(respond({"y": array}))["outputs"][0]["data"] == ["ab", "c"]


@pytest.mark.parametrize(
    "value", [np.array([1, "a"], dtype=object), np.array([None], dtype=object)]
)
def test_bytes_outputs_that_are_not_text_are_a_server_error(value: np.ndarray) -> None:
    with pytest.raises(InternalError, match="BYTES elements must be str or bytes"):
        v2_json.response_body(respond({"y": value}))


def test_output_tensor_forms() -> None:
    assert output_tensor("y", 3).shape == () and output_tensor("y", 3).datatype == "INT64"
    assert output_tensor("y", [1.5, 2]).datatype == "FP64"
    assert output_tensor("y", ("a", "b")).data == ["a", "b"]
    assert output_tensor("y", []).datatype == "FP64"
    assert output_tensor("y", [[True]]).datatype == "BOOL"
    with pytest.raises(InternalError, match="not a tensor"):
        output_tensor("y", [[1], [1, 2]])
    with pytest.raises(InternalError, match="Cannot encode"):
        output_tensor("y", np.array([1j]))


# Requested outputs


def test_select_outputs() -> None:
    outputs = [NamedTensor(name, "INT64", (1,), np.array([1])) for name in "abc"]
    assert select_outputs(outputs, []) == outputs
    chosen = select_outputs(outputs, [RequestedOutput("c"), RequestedOutput("a")])
    assert [t.name for t in chosen] == ["c", "a"]
    with pytest.raises(BadDataError, match=r"\['d'\] are not among"):
        select_outputs(outputs, [RequestedOutput("a"), RequestedOutput("d")])


@pytest.mark.parametrize(
    ("default", "flags", "expected"),
    [
        (None, {}, set()),
        (True, {}, {"a", "b"}),
        (False, {"a": True}, {"a"}),
        (True, {"a": False}, {"b"}),
        (None, {"a": None, "b": True}, {"b"}),
    ],
)
def test_binary_outputs(default: Any, flags: dict[str, Any], expected: set[str]) -> None:
    parameters = {} if default is None else {"binary_data_output": default}
    requested = [
        RequestedOutput(n, {} if f is None else {"binary_data": f}) for n, f in flags.items()
    ]
    request = InferenceRequest([], parameters=parameters, outputs=requested)
    assert v2_json.binary_outputs(request, ["a", "b"]) == expected


def test_a_request_can_be_answered_end_to_end() -> None:
    body, length = client.binary_request(
        {"x": SAMPLES["FP16"]}, parameters={"binary_data_output": True}, id="q"
    )
    request = v2_json.parse_body(body, length)
    outputs = [output_tensor("y", request.inputs[0].data)]
    binary = v2_json.binary_outputs(request, [o.name for o in outputs])
    rendered = v2_json.render_response(InferenceResponse("m", outputs, id=request.id), binary)
    parsed = client.parse_response(rendered.body, rendered.header_length)
    assert client.same_bits(parsed["y"], SAMPLES["FP16"])
    assert json.loads(rendered.header)["id"] == "q"
    assert math.isinf(float(parsed["y"][4]))
