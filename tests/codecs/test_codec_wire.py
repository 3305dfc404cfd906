"""codecs.wire: numeric ListValue bytes equal protobuf's own, and anything irregular falls back."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from google.protobuf import struct_pb2
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from seldon_server.codecs.wire import decode_numeric_list_value, encode_numeric_list_value

shapes = hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=5)
float_arrays = hnp.arrays(np.float64, shapes, elements=st.floats(allow_nan=False, width=64))
int_arrays = hnp.arrays(np.int64, shapes, elements=st.integers(min_value=-(2**53), max_value=2**53))


def list_value(values: list[Any]) -> struct_pb2.ListValue:
    message = struct_pb2.ListValue()
    message.extend(values)
    return message


@given(float_arrays | int_arrays)
def test_encode_equals_protobuf_serialization(array: np.ndarray) -> None:
    expected = list_value(array.tolist()).SerializeToString()
    assert encode_numeric_list_value(array) == expected


@given(float_arrays | int_arrays)
def test_decode_inverts_encode(array: np.ndarray) -> None:
    decoded = decode_numeric_list_value(encode_numeric_list_value(array))
    assert decoded is not None
    assert decoded.dtype == np.float64
    assert decoded.shape == array.shape
    np.testing.assert_array_equal(decoded, array.astype(np.float64))


@given(float_arrays)
def test_decode_of_protobuf_bytes_equals_numpy_of_the_list(array: np.ndarray) -> None:
    serialized = list_value(array.tolist()).SerializeToString()
    decoded = decode_numeric_list_value(serialized)
    assert decoded is not None
    np.testing.assert_array_equal(decoded, np.array(array.tolist()))


def test_special_floats_survive() -> None:
    array = np.array([[np.nan, np.inf], [-np.inf, -0.0]])
    encoded = encode_numeric_list_value(array)
    assert encoded == list_value(array.tolist()).SerializeToString()
    decoded = decode_numeric_list_value(encoded)
    assert decoded is not None
    np.testing.assert_array_equal(decoded, array)
    assert np.signbit(decoded[1, 1])


@pytest.mark.parametrize(
    "values",
    [
        [],
        [[]],
        [[], []],
        ["a"],
        [1, "a"],
        [True, False],
        [1.0, True],
        [None],
        [{"a": 1}],
        [[1, 2], [3]],
        [[1, 2], 3],
        [1, [2]],
        [[1, 2], [[3], [4]]],
        [[[1, 2]], [[3]]],
        [[1, 2], ["a", "b"]],
        [[[1], [2]], [[3], []]],
    ],
)
def test_irregular_or_non_numeric_lists_fall_back(values: list[Any]) -> None:
    assert decode_numeric_list_value(list_value(values).SerializeToString()) is None


@given(
    st.recursive(
        st.floats(allow_nan=False) | st.text(max_size=3) | st.booleans() | st.none(),
        lambda children: st.lists(children, max_size=4),
        max_leaves=12,
    ).filter(lambda value: isinstance(value, list))
)
def test_decode_is_none_or_equal_to_the_generic_path(values: list[Any]) -> None:
    decoded = decode_numeric_list_value(list_value(values).SerializeToString())
    if decoded is None:
        return
    generic = np.array(values, dtype=np.float64)
    assert decoded.shape == generic.shape
    np.testing.assert_array_equal(decoded, generic)


@given(st.binary(max_size=64))
def test_decode_never_raises_on_garbage(buf: bytes) -> None:
    result = decode_numeric_list_value(buf)
    assert result is None or isinstance(result, np.ndarray)
