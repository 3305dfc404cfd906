"""REST JSON <-> internal message: ints stay ints, tensor values keep their JSON type."""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from seldon_server.codecs import json as json_codec
from seldon_server.codecs import numpy as np_codec
from seldon_server.codecs.message import Message
from seldon_server.errors import BadDataError

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
FLOATS = st.floats(allow_nan=False, allow_infinity=False)


@st.composite
def matrices(draw: st.DrawFn, elements: st.SearchStrategy[Any]) -> list[list[Any]]:
    rows = draw(st.integers(min_value=1, max_value=5))
    cols = draw(st.integers(min_value=1, max_value=5))
    return [[draw(elements) for _ in range(cols)] for _ in range(rows)]


def reply(request: Message, value: Any) -> Any:
    """Encode `value` as the response to `request` and read the bytes back as JSON."""
    array = np_codec.as_array(value)
    response = Message("data", value, [], request.encoding, {}, array)
    return json.loads(json_codec.dumps(json_codec.encode(response)))


def same_json(a: Any, b: Any) -> bool:
    """Equal values and equal JSON types (1 and 1.0 differ)."""
    return json.dumps(a) == json.dumps(b)


@given(matrices(INT64))
def test_ndarray_of_ints_round_trips_as_ints(rows: list[list[int]]) -> None:
    request = json_codec.decode({"data": {"ndarray": rows}})
    assert request.kind == "data" and request.encoding == "ndarray"
    assert request.value.dtype == np.int64
    out = reply(request, request.value)
    assert same_json(out["data"]["ndarray"], rows)


@given(matrices(FLOATS))
def test_ndarray_of_floats_round_trips_exactly(rows: list[list[float]]) -> None:
    request = json_codec.decode({"data": {"ndarray": rows}})
    out = reply(request, request.value)
    assert same_json(out["data"]["ndarray"], rows)


@given(st.lists(INT64 | FLOATS, min_size=1, max_size=12), st.data())
def test_tensor_values_keep_their_json_type(values: list[Any], data: st.DataObject) -> None:
    shape = data.draw(st.sampled_from([[len(values)], [1, len(values)], [len(values), 1]]))
    request = json_codec.decode({"data": {"tensor": {"shape": shape, "values": values}}})
    assert request.encoding == "tensor"
    assert list(request.value.shape) == shape
    out = reply(request, request.value)["data"]["tensor"]
    assert out["shape"] == shape
    # numpy's own promotion: all ints stay ints, any float makes them all floats.
    expected = np.array(values).tolist()
    assert same_json(out["values"], expected)
    if all(isinstance(v, int) for v in values):
        assert same_json(out["values"], values)


def test_reference_examples() -> None:
    request = json_codec.decode({"data": {"ndarray": [[1.0, 2]]}})
    assert reply(request, request.value)["data"]["ndarray"] == [[1.0, 2.0]]
    assert json.dumps(reply(request, request.value)["data"]["ndarray"]) == "[[1.0, 2.0]]"


@pytest.mark.parametrize(
    ("body", "kind", "value"),
    [
        ({"strData": "hi"}, "strData", "hi"),
        ({"jsonData": {"a": [1, 2.5]}}, "jsonData", {"a": [1, 2.5]}),
        ({"jsonData": [1, "x"]}, "jsonData", [1, "x"]),
        ({"jsonData": 3}, "jsonData", 3),
        ({"binData": base64.b64encode(b"\x00\x01hello").decode()}, "binData", b"\x00\x01hello"),
    ],
)
def test_decode_payload_kinds(body: dict[str, Any], kind: str, value: Any) -> None:
    message = json_codec.decode({**body, "meta": {"puid": "p"}})
    assert message.kind == kind
    assert same_json(message.value, value) if kind != "binData" else message.value == value
    assert message.meta == {"puid": "p"}


def test_decode_order_data_first() -> None:
    message = json_codec.decode({"strData": "s", "jsonData": 1, "data": {"ndarray": [1]}})
    assert message.kind == "data"
    assert json_codec.decode({"strData": "s", "jsonData": 1}).kind == "jsonData"
    assert json_codec.decode({"strData": "s", "binData": ""}).kind == "strData"


def test_decode_names_and_missing_encoding() -> None:
    message = json_codec.decode({"data": {"names": ["a", "b"], "ndarray": [[1, 2]]}})
    assert message.names == ["a", "b"]
    empty = json_codec.decode({"data": {"names": ["a"]}})
    assert empty.encoding is None and empty.value.shape == (0,)


def test_unknown_keys_ignored() -> None:
    assert json_codec.decode({"strData": "x", "whatever": 1, "status": {}}).value == "x"


@pytest.mark.parametrize(
    "body",
    [
        [],
        [{"strData": "x"}],
        "text",
        1,
        None,
        {},
        {"meta": {}},
        {"meta": [], "strData": "x"},
        {"meta": "x", "strData": "x"},
        {"data": 5},
        {"data": None},
        # A list or string that holds an encoding name is probed as one and is not an object.
        {"data": ["tensor"]},
        {"data": "ndarray"},
        {"data": "a tftensor"},
        {"data": {"ndarray": [[1], [1, 2]]}},
        {"data": {"tensor": []}},
        {"data": {"tensor": {"shape": [3], "values": [1, 2]}}},
        {"data": {"tensor": {"shape": [-1, -1], "values": [1, 2]}}},
        {"data": {"tensor": {"shape": 2, "values": [1, 2]}}},
        {"data": {"tensor": {"shape": [3], "values": [[1], [2]]}}},
        {"data": {"tensor": {"shape": [2], "values": [[1], [2, 3]]}}},
        {"data": {"tensor": {"shape": [2]}}},
        {"data": {"tensor": {"values": [1]}}},
        {"data": {"tftensor": {"dtype": "NOPE"}}},
        {"data": {"tftensor": []}},
        {"binData": "abc"},
        {"binData": 12},
    ],
)
def test_decode_rejects_as_bad_data(body: Any) -> None:
    with pytest.raises(BadDataError):
        json_codec.decode(body)


@pytest.mark.parametrize("datadef", [[], [1, 2], [{"ndarray": [1]}], "", "abc"])
def test_data_list_or_string_without_an_encoding_is_empty(datadef: Any) -> None:
    # The original probed `"tensor" in data` etc. and found nothing: an empty array, no names
    # (reference case r2_identity_data_list answers {"data":{"names":[],"ndarray":[]},"meta":{}}).
    message = json_codec.decode({"data": datadef, "meta": {"puid": "p"}})
    assert message.kind == "data" and message.encoding is None
    assert message.value.shape == (0,) and message.value.dtype == np.float64
    assert message.names == []
    assert message.meta == {"puid": "p"}


@pytest.mark.parametrize("names", ["ab", None, 5, {"a": 1}, [1, None]])
def test_names_of_any_type_are_passed_through(names: Any) -> None:
    message = json_codec.decode({"data": {"names": names, "ndarray": [[1]]}})
    assert message.names == names
    assert message.value.tolist() == [[1]]


@pytest.mark.parametrize(
    ("shape", "values", "expected"),
    [
        ([2], [[1], [2]], [1, 2]),
        ([1, 2], [[1, 2]], [[1, 2]]),
        ([4], [[1, 2], [3, 4]], [1, 2, 3, 4]),
        ([2, -1], [[[1.5], [2]], [[3], [4]]], [[1.5, 2.0], [3.0, 4.0]]),
    ],
)
def test_nested_tensor_values_that_reshape_are_accepted(
    shape: list[int], values: list[Any], expected: list[Any]
) -> None:
    message = json_codec.decode({"data": {"tensor": {"shape": shape, "values": values}}})
    assert message.encoding == "tensor"
    assert same_json(message.value.tolist(), expected)
    out = reply(message, message.value)["data"]["tensor"]
    assert out == {"shape": list(np.array(expected).shape), "values": np.ravel(expected).tolist()}


@pytest.mark.parametrize(
    "meta",
    [
        {"puid": 5},
        {"puid": {"a": 1}},
        {"tags": [1]},
        {"tags": "ab"},
        {"metrics": "x"},
        {"metrics": [1]},
        {"metrics": {"a": 1}},
        {"routing": "x"},
        {"requestPath": ["a"]},
        {"requestPath": 3},
    ],
)
def test_meta_field_types_are_not_checked_by_decode(meta: dict[str, Any]) -> None:
    # Odd field values are echoed (or refused where they must be merged) by dispatch.
    assert json_codec.decode({"strData": "x", "meta": meta}).meta == meta


def test_encode_each_kind() -> None:
    meta = {"puid": "p"}
    assert json_codec.encode(Message("strData", "s", meta=meta)) == {"strData": "s", "meta": meta}
    assert json_codec.encode(Message("binData", b"\x01")) == {"binData": "AQ==", "meta": {}}
    assert json_codec.encode(Message("jsonData", {"a": 1})) == {"jsonData": {"a": 1}, "meta": {}}
    tensor = np.array([[1, 2]])
    encoded = json_codec.encode(Message("data", tensor, ["t:0", "t:1"], "tensor", None, tensor))
    assert encoded == {
        "data": {"names": ["t:0", "t:1"], "tensor": {"shape": [1, 2], "values": [1, 2]}},
        "meta": {},
    }


def test_rest_codec_decode_list_forms() -> None:
    one = {"data": {"ndarray": [1]}}
    assert len(json_codec.REST_CODEC.decode_list([one, one])) == 2
    assert len(json_codec.REST_CODEC.decode_list({"seldonMessages": [one]})) == 1
    for bad in ({"seldonMessages": one}, {"other": []}, "x", None):
        with pytest.raises(BadDataError, match="Invalid request data type"):
            json_codec.REST_CODEC.decode_list(bad)
