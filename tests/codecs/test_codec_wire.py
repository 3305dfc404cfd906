"""codecs.wire: numeric ListValue bytes equal protobuf's own, and anything irregular falls back.

The other side of every comparison is plain protobuf: ListValue built and serialized by the
message classes, and numpy applied to the Python lists they hold.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from google.protobuf import struct_pb2
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from protobuf_oracle import list_value, plain

from seldon_server.codecs import wire
from seldon_server.codecs.wire import (
    MAX_READ_DIMS,
    decode_numeric_list_value,
    encode_numeric_list_value,
)
from seldon_server.proto import prediction_pb2 as pb

# Every branch: flat lists (struct up to 64 numbers, numpy beyond), small 2-D (row loop), large
# 2-D (one numpy pass), 3-D and deeper (row loop with several runs of numbers), big or tiny.
shapes = st.one_of(
    hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=5),
    st.tuples(st.integers(60, 300)),
    st.tuples(st.integers(1, 40), st.integers(1, 40)),
    st.tuples(st.integers(1, 6), st.integers(1, 6), st.integers(1, 30)),
    st.sampled_from([(65,), (1, 65), (65, 1), (100, 100), (8, 8), (2, 3, 200), (2, 2, 2, 2, 2, 2)]),
)
float_arrays = hnp.arrays(np.float64, shapes, elements=st.floats(width=64))  # NaN, inf included
int_arrays = hnp.arrays(np.int64, shapes, elements=st.integers(-(2**63), 2**63 - 1))
uint_arrays = hnp.arrays(np.uint64, shapes, elements=st.integers(0, 2**64 - 1))
small_arrays = hnp.arrays(
    st.sampled_from([np.float32, np.int8, np.uint16, np.float16]), shapes, elements=None
)
numeric_arrays = float_arrays | int_arrays | uint_arrays | small_arrays


@settings(max_examples=300)
@given(numeric_arrays)
def test_encode_equals_protobuf_serialization(array: np.ndarray) -> None:
    expected = list_value(array.tolist()).SerializeToString()
    assert encode_numeric_list_value(array) == expected


@settings(max_examples=300)
@given(numeric_arrays)
def test_decode_of_protobuf_bytes_equals_numpy_of_the_list(array: np.ndarray) -> None:
    message = list_value(array.tolist())
    decoded = decode_numeric_list_value(message.SerializeToString())
    assert decoded is not None
    expected = np.array(plain(message))  # numpy's own reading of what protobuf holds
    assert decoded.dtype == expected.dtype == np.float64
    assert decoded.shape == expected.shape == array.shape
    np.testing.assert_array_equal(decoded, expected)  # NaN equals NaN here


@pytest.mark.parametrize("size", [3, 64, 65, 500])
def test_special_floats_survive(size: int) -> None:
    array = np.resize(
        np.array([np.nan, np.inf, -np.inf, -0.0, 5e-324, 1.7976931348623157e308]), size
    )
    array = array.reshape(-1, 1) if size % 2 else array.reshape(2, -1)
    encoded = encode_numeric_list_value(array)
    assert encoded == list_value(array.tolist()).SerializeToString()
    decoded = decode_numeric_list_value(encoded)
    assert decoded is not None
    np.testing.assert_array_equal(decoded, array)
    assert np.array_equal(np.signbit(decoded), np.signbit(array))


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


@given(st.binary(max_size=64) | st.binary(min_size=1000, max_size=3000))
def test_decode_never_raises_on_garbage(buf: bytes) -> None:
    result = decode_numeric_list_value(buf)
    assert result is None or isinstance(result, np.ndarray)


DEFECTS: dict[str, Any] = {
    "ragged": lambda rows: [*rows[:-1], rows[-1][:-1]],
    "string": lambda rows: [*rows[:-1], [*rows[-1][:-1], "a"]],
    "bool": lambda rows: [[True, *rows[0][1:]], *rows[1:]],
    "null": lambda rows: [*rows[:-1], [*rows[-1][:-1], None]],
    "empty-row": lambda rows: [*rows[:-1], []],
    "number-row": lambda rows: [*rows[:-1], 1.0],
    "deeper-row": lambda rows: [*rows[:-1], [rows[-1]]],
}


@pytest.mark.parametrize("defect", DEFECTS)
@pytest.mark.parametrize("shape", [(2, 3), (8, 8), (100, 100), (3, 4, 70), (70, 2)])
def test_one_defect_anywhere_falls_back(defect: str, shape: tuple[int, ...]) -> None:
    """A regular list spoilt in its last row, in every branch (row loop, matrix, deeper)."""
    rows = np.arange(float(np.prod(shape))).reshape(shape).tolist()
    if len(shape) == 3:
        rows = [rows[0], *rows[1:-1], DEFECTS[defect](rows[-1])]
    else:
        rows = DEFECTS[defect](rows)
    assert decode_numeric_list_value(list_value(rows).SerializeToString()) is None


@given(float_arrays, st.data())
def test_flipped_bytes_are_declined_or_read_as_protobuf_reads_them(
    array: np.ndarray, data: st.DataObject
) -> None:
    buf = bytearray(list_value(array.tolist()).SerializeToString())
    for _ in range(data.draw(st.integers(1, 3))):
        buf[data.draw(st.integers(0, len(buf) - 1))] = data.draw(st.integers(0, 255))
    decoded = decode_numeric_list_value(bytes(buf))
    if decoded is None:
        return
    message = struct_pb2.ListValue.FromString(bytes(buf))  # raises if we read what protobuf refuses
    np.testing.assert_array_equal(decoded, np.array(plain(message), dtype=np.float64))


def nested(depth: int) -> list[Any]:
    value: list[Any] = [1.0]
    for _ in range(depth - 1):
        value = [value]
    return value


def test_the_reader_stops_at_its_dimension_limit() -> None:
    deepest = decode_numeric_list_value(list_value(nested(MAX_READ_DIMS)).SerializeToString())
    assert deepest is not None and deepest.ndim == MAX_READ_DIMS
    assert (
        decode_numeric_list_value(list_value(nested(MAX_READ_DIMS + 1)).SerializeToString()) is None
    )


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (wire.SELDON_META, pb.SeldonMessage(meta=pb.Meta())),
        (wire.SELDON_DATA, pb.SeldonMessage(data=pb.DefaultData())),
        (wire.DATA_NAMES, pb.DefaultData(names=["a"])),
        (wire.DATA_TENSOR, pb.DefaultData(tensor=pb.Tensor())),
        (wire.DATA_NDARRAY, pb.DefaultData(ndarray=struct_pb2.ListValue())),
        (wire.TENSOR_SHAPE, pb.Tensor(shape=[1])),
        (wire.TENSOR_VALUES, pb.Tensor(values=[1.0])),
        (wire.LIST_VALUES, list_value([1.0])),
        (wire.VALUE_NUMBER, struct_pb2.Value(number_value=1.0)),
        (wire.VALUE_STRING, struct_pb2.Value(string_value="a")),
        (wire.VALUE_BOOL, struct_pb2.Value(bool_value=True)),
        (wire.VALUE_LIST, struct_pb2.Value(list_value=struct_pb2.ListValue())),
        (wire.META_PUID, pb.Meta(puid="p")),
        (wire.META_TAGS, pb.Meta(tags={"a": struct_pb2.Value()})),
        (wire.META_REQUEST_PATH, pb.Meta(requestPath={"a": "b"})),
        (wire.META_METRICS, pb.Meta(metrics=[pb.Metric()])),
        (wire.METRIC_KEY, pb.Metric(key="k")),
        (wire.METRIC_TYPE, pb.Metric(type=pb.Metric.GAUGE)),
        (wire.METRIC_VALUE, pb.Metric(value=1.0)),
        (wire.METRIC_TAGS, pb.Metric(tags={"a": "b"})),
    ],
)
def test_field_keys_are_what_protobuf_writes(key: int, message: Any) -> None:
    assert message.SerializeToString()[0] == key


def test_map_entry_keys_are_what_protobuf_writes() -> None:
    entry = pb.Meta(requestPath={"a": "b"}).SerializeToString()[2:]
    assert (entry[0], entry[3]) == (wire.ENTRY_KEY, wire.ENTRY_VALUE)
