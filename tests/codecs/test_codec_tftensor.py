"""tftensor without TensorFlow: numpy <-> TensorProto as make_tensor_proto / make_ndarray do."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from seldon_server.codecs import tftensor
from seldon_server.errors import BadDataError
from seldon_server.proto.tensorflow.core.framework import tensor_pb2, types_pb2

NUMERIC_DTYPES = [
    np.float16,
    np.float32,
    np.float64,
    np.int8,
    np.int16,
    np.int32,
    np.int64,
    np.uint8,
    np.uint16,
    np.uint32,
    np.uint64,
    np.complex64,
    np.complex128,
    np.bool_,
]
shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)


def assert_same(decoded: np.ndarray, original: np.ndarray) -> None:
    assert decoded.shape == original.shape
    if original.dtype.kind in "US":
        assert decoded.dtype == object
        as_bytes = [v if isinstance(v, bytes) else v.encode() for v in original.ravel().tolist()]
        assert decoded.ravel().tolist() == as_bytes
        return
    assert decoded.dtype == original.dtype
    np.testing.assert_array_equal(decoded, original)


# protobuf's JSON printer writes float32 max as its shortest repr, 3.4028235e+38, which as a
# double is just above FLT_MAX, so protobuf's own JSON parser rejects it ("Float value too
# large"); the same holds for complex64 parts. The JSON-form round trip therefore draws finite
# float32 values strictly below that bound (infinities are checked on their own below).
_FLOAT32_BELOW_MAX = float(np.nextafter(np.finfo(np.float32).max, np.float32(0)))
_JSON_SAFE_FLOAT32 = st.floats(
    min_value=-_FLOAT32_BELOW_MAX, max_value=_FLOAT32_BELOW_MAX, width=32, allow_nan=False
)


@st.composite
def tensors(draw: st.DrawFn, json_safe: bool = False) -> np.ndarray:
    kind = draw(st.sampled_from([*NUMERIC_DTYPES, "str", "bytes"]))
    if kind == "str":
        text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=5)
        return draw(hnp.arrays(np.dtype("U5"), shapes, elements=text))
    if kind == "bytes":
        # numpy strips trailing NULs from fixed-width bytes, so keep them out of the elements
        elements = st.binary(max_size=5).map(lambda b: b.rstrip(b"\x00"))
        return draw(hnp.arrays(np.dtype("S5"), shapes, elements=elements))
    dtype = np.dtype(kind)
    elements = None
    if json_safe and dtype == np.float32:
        elements = _JSON_SAFE_FLOAT32
    elif json_safe and dtype == np.complex64:
        elements = st.builds(complex, _JSON_SAFE_FLOAT32, _JSON_SAFE_FLOAT32)
    elif dtype.kind in "fc":
        elements = hnp.from_dtype(dtype, allow_nan=False)
    return draw(hnp.arrays(dtype, shapes, elements=elements))


@given(tensors())
def test_round_trip(array: np.ndarray) -> None:
    assert_same(tftensor.to_array(tftensor.from_array(array)), array)


@given(tensors(json_safe=True))
def test_round_trip_through_the_json_form(array: np.ndarray) -> None:
    as_json = tftensor.to_json(tftensor.from_array(array))
    assert_same(tftensor.to_array(tftensor.from_json(as_json)), array)


@pytest.mark.parametrize(
    "array",
    [
        np.array([np.inf, -np.inf, 0.0], dtype=np.float32),
        np.array([complex(np.inf, -np.inf), complex(0, np.inf)], dtype=np.complex64),
    ],
    ids=["float32", "complex64"],
)
def test_infinities_round_trip_through_the_json_form(array: np.ndarray) -> None:
    as_json = tftensor.to_json(tftensor.from_array(array))
    assert_same(tftensor.to_array(tftensor.from_json(as_json)), array)


@given(tensors())
def test_round_trip_through_bytes(array: np.ndarray) -> None:
    wire = tftensor.from_array(array).SerializeToString()
    assert_same(tftensor.to_array(tensor_pb2.TensorProto.FromString(wire)), array)


@pytest.mark.parametrize("dtype", NUMERIC_DTYPES)
def test_zero_dimensional(dtype: Any) -> None:
    array = np.array(1, dtype=dtype)
    assert_same(tftensor.to_array(tftensor.from_array(array)), array)


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_complex_with_infinite_parts(dtype: Any) -> None:
    """re + 1j*im would turn 0+infj into nan+infj: the parts must be set, not multiplied."""
    array = np.array([complex(0, np.inf), complex(-np.inf, 1)], dtype=dtype)
    decoded = tftensor.to_array(tftensor.from_array(array))
    np.testing.assert_array_equal(decoded.real, array.real)
    np.testing.assert_array_equal(decoded.imag, array.imag)


def test_object_strings_and_non_ascii() -> None:
    array = np.array([["é", b"\xff"], ["x", "😀"]], dtype=object)
    decoded = tftensor.to_array(tftensor.from_array(array))
    assert decoded.tolist() == [["é".encode(), b"\xff"], [b"x", "😀".encode()]]


def test_json_form_of_a_float_matrix() -> None:
    array = np.array([[1.0, 2.0]], dtype=np.float32)
    assert tftensor.to_json(tftensor.from_array(array)) == {
        "dtype": "DT_FLOAT",
        "tensorShape": {"dim": [{"size": "1"}, {"size": "2"}]},
        "tensorContent": "AACAPwAAAEA=",
    }


def test_typed_values_short_list_repeats_the_last_value() -> None:
    tensor = tftensor.from_json(
        {"dtype": "DT_INT32", "tensorShape": {"dim": [{"size": "4"}]}, "intVal": [7, 8]}
    )
    assert tftensor.to_array(tensor).tolist() == [7, 8, 8, 8]


def test_typed_values_empty_list_is_zeros() -> None:
    tensor = tftensor.from_json({"dtype": "DT_DOUBLE", "tensorShape": {"dim": [{"size": "2"}]}})
    assert tftensor.to_array(tensor).tolist() == [0.0, 0.0]


@pytest.mark.parametrize(
    "obj",
    [
        {"dtype": "DT_INT32", "tensorShape": {"dim": [{"size": "1"}]}, "intVal": [1, 2]},
        {"dtype": "DT_FLOAT", "tensorShape": {"dim": [{"size": "3"}]}, "tensorContent": "AACAPw=="},
        {"dtype": "DT_FLOAT", "tensorShape": {"dim": [{"size": "-1"}]}, "floatVal": [1]},
        {"dtype": "DT_RESOURCE", "tensorShape": {}},
        {"dtype": "DT_INVALID"},
        {"dtype": "DT_NOPE"},
        {"dtype": 12345},
        {"tensorShape": {"dim": [{"size": "x"}]}},
        {"unknownField": 1},
        [],
        "x",
    ],
)
def test_invalid_tftensor_is_bad_data(obj: Any) -> None:
    with pytest.raises(BadDataError):
        tftensor.to_array(tftensor.from_json(obj))


def test_unencodable_dtype_is_bad_data() -> None:
    with pytest.raises(BadDataError):
        tftensor.from_array(np.array(["2020-01-01"], dtype="datetime64[D]"))


# make_tensor_proto writes tensor_content only for more than one element of a "tensor content"
# type (float16/32/64, int8/16/32/64, uint8/32/64, quantized); otherwise the typed field.
TYPED_FIELD_CASES = [
    (np.array([1.5]), "double_val", types_pb2.DT_DOUBLE),
    (np.array(2.5, dtype=np.float32), "float_val", types_pb2.DT_FLOAT),
    (np.array([3], dtype=np.int64), "int64_val", types_pb2.DT_INT64),
    (np.array([[4]], dtype=np.int32), "int_val", types_pb2.DT_INT32),
    (np.array([1, 2], dtype=np.uint16), "int_val", types_pb2.DT_UINT16),
]


def test_field_choice_matches_make_tensor_proto() -> None:
    assert (
        tftensor.from_array(np.array([1.0, 2.0])).tensor_content == np.array([1.0, 2.0]).tobytes()
    )
    assert list(tftensor.from_array(np.array([True, False])).bool_val) == [True, False]
    assert list(tftensor.from_array(np.array(["a"])).string_val) == [b"a"]


@pytest.mark.parametrize(("array", "field", "dtype"), TYPED_FIELD_CASES)
def test_single_values_use_typed_fields_like_make_tensor_proto(
    array: np.ndarray, field: str, dtype: int
) -> None:
    tensor = tftensor.from_array(array)
    assert tensor.dtype == dtype
    assert not tensor.tensor_content
    assert list(getattr(tensor, field)) == array.ravel().tolist()
