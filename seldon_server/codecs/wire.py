"""Protobuf's wire format by hand: the field keys, one bounds-checked reader, numeric payloads."""

from __future__ import annotations

import math
import struct
from typing import Any

import numpy as np
from google.protobuf import struct_pb2

from seldon_server.proto import prediction_pb2 as pb

VARINT, I64, LEN, I32 = 0, 1, 2, 5  # wire types


def _key(message: Any, name: str, wire_type: int) -> int:
    """A field's key (number << 3 | wire type), numbered by the generated code: it cannot drift."""
    return int(message.DESCRIPTOR.fields_by_name[name].number) << 3 | wire_type


# The one table of field keys written or read here, and by seldon_bytes and meta_bytes.
SELDON_META = _key(pb.SeldonMessage, "meta", LEN)
SELDON_DATA = _key(pb.SeldonMessage, "data", LEN)
DATA_NAMES = _key(pb.DefaultData, "names", LEN)
DATA_TENSOR = _key(pb.DefaultData, "tensor", LEN)
DATA_NDARRAY = _key(pb.DefaultData, "ndarray", LEN)
TENSOR_SHAPE = _key(pb.Tensor, "shape", LEN)  # packed
TENSOR_VALUES = _key(pb.Tensor, "values", LEN)  # packed
LIST_VALUES = _key(struct_pb2.ListValue, "values", LEN)
VALUE_NUMBER = _key(struct_pb2.Value, "number_value", I64)
VALUE_STRING = _key(struct_pb2.Value, "string_value", LEN)
VALUE_BOOL = _key(struct_pb2.Value, "bool_value", VARINT)
VALUE_LIST = _key(struct_pb2.Value, "list_value", LEN)
META_PUID = _key(pb.Meta, "puid", LEN)
META_TAGS = _key(pb.Meta, "tags", LEN)
META_REQUEST_PATH = _key(pb.Meta, "requestPath", LEN)
META_METRICS = _key(pb.Meta, "metrics", LEN)
ENTRY_KEY = _key(pb.Meta.TagsEntry, "key", LEN)  # every map entry: key 1, value 2
ENTRY_VALUE = _key(pb.Meta.TagsEntry, "value", LEN)
METRIC_KEY = _key(pb.Metric, "key", LEN)
METRIC_TYPE = _key(pb.Metric, "type", VARINT)
METRIC_VALUE = _key(pb.Metric, "value", I32)
METRIC_TAGS = _key(pb.Metric, "tags", LEN)

# -- writing ---------------------------------------------------------------------------------------

# One-byte varints (every key, and every length under 128) are looked up, not computed.
_ONE_BYTE = [bytes((value,)) for value in range(0x80)]


def varint(value: int) -> bytes:
    """Protobuf base-128 varint of a non-negative int."""
    if value < 0x80:
        return _ONE_BYTE[value]
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def field(key: int, payload: bytes) -> bytes:
    """A length-delimited field: its key, the payload's varint length, the payload."""
    return _ONE_BYTE[key] + varint(len(payload)) + payload


def scalar_field(key: int, encoded: bytes) -> bytes:
    """A varint or fixed-width field: its key, then the value already encoded."""
    return _ONE_BYTE[key] + encoded


# -- reading ---------------------------------------------------------------------------------------

# Protobuf reads a length in at most 5 bytes and below 2**31, a varint in at most 10 bytes, and
# a packed int32 above 2**31 - 1 as a negative number; the reader declines all of these.
_LENGTH_BYTES, _VARINT_BYTES, _INT32_MAX = 5, 10, 2**31 - 1


def read_varint(
    buf: bytes, pos: int, end: int, max_bytes: int = _VARINT_BYTES
) -> tuple[int, int] | None:
    """(value, position after it) of the varint at buf[pos]; None when it runs to `end` or
    past `max_bytes` without finishing."""
    if pos < end and buf[pos] < 0x80:  # one byte: the common case
        return buf[pos], pos + 1
    value = shift = 0
    for index in range(pos, min(end, pos + max_bytes)):
        byte = buf[index]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, index + 1
        shift += 7
    return None


def read_field(buf: bytes, pos: int, end: int, key: int) -> tuple[int, int] | None:
    """(start, stop) of the length-delimited field `key` at buf[pos], when it ends by `end`; None
    when another field is there or the length is malformed or runs past `end`."""
    if pos >= end or buf[pos] != key:
        return None
    pos += 1
    if pos < end and buf[pos] < 0x80:  # lengths under 128: the common case
        start, stop = pos + 1, pos + 1 + buf[pos]
    else:
        length = read_varint(buf, pos, end, _LENGTH_BYTES)
        if length is None or length[0] > _INT32_MAX:
            return None
        start, stop = length[1], length[1] + length[0]
    return (start, stop) if stop <= end else None


# The byte reader takes at most this many dimensions, what every supported numpy holds (1.x: 32);
# deeper payloads are left to protobuf, which applies its own nesting limit and numpy's.
MAX_READ_DIMS = 32

# -- ListValue of numbers --------------------------------------------------------------------------

# A number inside a ListValue: entry key, Value length 9, number_value key, 8-byte double.
_NUMBER = np.dtype([("entry", "u1"), ("length", "u1"), ("key", "u1"), ("value", "<f8")])
_NUMBER_PREFIX = bytes((LIST_VALUES, _NUMBER.itemsize - 2, VALUE_NUMBER))
_ENTRY, _LENGTH, _KEY = (_NUMBER_PREFIX[index : index + 1] for index in range(3))


# Protobuf readers refuse a message nested more than 100 deep, and every ndarray dimension nests a
# Value and a ListValue inside SeldonMessage.data: 49 dimensions is the most a message can carry.
MAX_NDARRAY_DIMS = 49


def packs_as_doubles(array: np.ndarray) -> bool:
    """A non-empty array of rank >= 1 of real ints or floats: every value is written as a double."""
    return array.dtype.kind in "iuf" and array.ndim > 0 and bool(array.size)


# Up to this many numbers, struct beats numpy's per-call overhead (both directions).
_STRUCT_NUMBERS = 64
# Compiled layouts of `count` numbers, packed ("3sd": prefix, double) or unpacked ("3xd").
_STRUCTS: dict[tuple[int, str], struct.Struct] = {}


def _numbers_struct(count: int, item: str) -> struct.Struct:
    layout = _STRUCTS.get((count, item))
    if layout is None:
        layout = _STRUCTS[count, item] = struct.Struct("<" + item * count)
    return layout


def encode_numeric_list_value(array: np.ndarray) -> bytes:
    """Serialized ListValue of an array that packs_as_doubles."""
    if array.size <= _STRUCT_NUMBERS:
        return _encode_listed(array.tolist())
    if array.ndim == 1:
        numbers = np.empty(array.shape[0], dtype=_NUMBER)
        numbers["entry"], numbers["length"], numbers["key"] = _NUMBER_PREFIX
        numbers["value"] = array
        return numbers.tobytes()
    if array.ndim == 2:
        return _encode_matrix(array)
    return b"".join(_row(encode_numeric_list_value(sub)) for sub in array)


def _row(inner: bytes) -> bytes:
    """A nested list as a ListValue entry: a Value holding the inner ListValue."""
    return field(LIST_VALUES, field(VALUE_LIST, inner))


def _encode_listed(values: list[Any]) -> bytes:
    if values[0].__class__ is not list:
        out: list[object] = [_NUMBER_PREFIX, 0.0] * len(values)
        out[1::2] = values  # ints (from int arrays) are packed as doubles by struct
        return _numbers_struct(len(values), "3sd").pack(*out)
    return b"".join(_row(_encode_listed(row)) for row in values)


def _encode_matrix(array: np.ndarray) -> bytes:
    """Every row has the same header, so a 2-D array is one numpy fill and one copy."""
    rows, cols = array.shape
    numbers = np.empty((rows, cols), dtype=_NUMBER)
    numbers["entry"], numbers["length"], numbers["key"] = _NUMBER_PREFIX
    numbers["value"] = array
    row_list = _NUMBER.itemsize * cols
    header = np.frombuffer(_row(bytes(row_list))[:-row_list], np.uint8)
    out = np.empty((rows, header.size + row_list), dtype=np.uint8)
    out[:, : header.size] = header
    out[:, header.size :] = numbers.view(np.uint8).reshape(rows, row_list)
    return out.tobytes()


def decode_numeric_list_value(buf: bytes) -> np.ndarray | None:
    """float64 array of a regular, all-number nested ListValue; None for anything else."""
    if buf.startswith(_NUMBER_PREFIX):  # a flat list: the common 1-D case, no rows to walk
        return _numbers(buf)
    if len(buf) >= _MATRIX_BYTES:
        matrix = _matrix(buf)
        if matrix is not None:
            return matrix
    leaves: list[tuple[int, int]] = []
    shape = _shape(buf, 0, len(buf), 1, leaves)
    if shape is None:
        return None
    if len(leaves) == 1:
        raw = buf[leaves[0][0] : leaves[0][1]]
    else:
        view = memoryview(buf)
        raw = b"".join([view[start:stop] for start, stop in leaves])
    numbers = _numbers(raw)
    return None if numbers is None else numbers.reshape(shape)


def _shape(
    buf: bytes, start: int, stop: int, depth: int, leaves: list[tuple[int, int]]
) -> tuple[int, ...] | None:
    """The shape of the nested lists in buf[start:stop], with each innermost run of numbers
    added to `leaves` (their entries are checked later, all at once); None unless every row
    is a list of the same shape."""
    if buf.startswith(_NUMBER_PREFIX, start):
        count, rest = divmod(stop - start, _NUMBER.itemsize)
        if rest:
            return None
        leaves.append((start, stop))
        return (count,)
    if depth == MAX_READ_DIMS:
        return None
    shape: tuple[int, ...] | None = None
    rows = 0
    pos = start
    while pos < stop:
        inner = _nested_list(buf, pos, stop)
        if inner is None:
            return None
        row = _shape(buf, inner[0], inner[1], depth + 1, leaves)
        if row is None or (shape is not None and row != shape):
            return None
        shape, rows, pos = row, rows + 1, inner[1]
    return None if shape is None else (rows, *shape)


def _nested_list(buf: bytes, pos: int, end: int) -> tuple[int, int] | None:
    """(start, stop) of the non-empty ListValue that is all of the entry at buf[pos], else None;
    the entry ends where the list does."""
    entry = read_field(buf, pos, end, LIST_VALUES)
    if entry is None:
        return None
    inner = read_field(buf, entry[0], entry[1], VALUE_LIST)
    if inner is None or inner[1] != entry[1] or inner[0] == inner[1]:
        return None
    return inner


def _numbers(raw: bytes) -> np.ndarray | None:
    """float64 values of a run of number entries; None if any entry is something else."""
    count, rest = divmod(len(raw), _NUMBER.itemsize)
    if rest or not count:
        return None
    if count <= _STRUCT_NUMBERS:  # byte-string compares of every 11th byte, then one unpack
        if raw[0::11] != _ENTRY * count or raw[1::11] != _LENGTH * count:
            return None
        if raw[2::11] != _KEY * count:
            return None
        return np.array(_numbers_struct(count, "3xd").unpack(raw), dtype=np.float64)
    return _values(np.frombuffer(raw, dtype=_NUMBER))


def _values(numbers: np.ndarray) -> np.ndarray | None:
    """A new float64 array of the values of number entries, or None unless all are numbers."""
    entry, length, key = _NUMBER_PREFIX
    if not (
        (numbers["entry"] == entry).all()
        and (numbers["length"] == length).all()
        and (numbers["key"] == key).all()
    ):
        return None
    return numbers["value"].astype(np.float64)


# From this size up, a ListValue is tried as a matrix first: below it the row loop beats numpy's
# fixed cost, above it one numpy pass beats the loop.
_MATRIX_BYTES = 1024


def _matrix(buf: bytes) -> np.ndarray | None:
    """The common large 2-D case: every row has the same header and width, checked at once."""
    first = _nested_list(buf, 0, len(buf))
    if first is None:
        return None
    header, row_size = first
    cols, rest = divmod(row_size - header, _NUMBER.itemsize)
    if rest or len(buf) % row_size:
        return None
    rows = np.frombuffer(buf, dtype=np.uint8).reshape(-1, row_size)
    if not (rows[:, :header] == rows[0, :header]).all():
        return None
    shape, strides = (rows.shape[0], cols), (row_size, _NUMBER.itemsize)
    return _values(np.ndarray(shape, _NUMBER, buf, offset=header, strides=strides))


# -- Tensor ------------------------------------------------------------------------------------


def encode_tensor(array: np.ndarray) -> bytes:
    """Serialized seldon Tensor (packed shape, packed doubles) of a real numeric array."""
    shape = b"".join(varint(size) for size in array.shape)
    values = np.ascontiguousarray(array, dtype="<f8").tobytes() if array.size else b""
    out = field(TENSOR_SHAPE, shape) if shape else b""
    return (out + field(TENSOR_VALUES, values)) if values else out


def decode_tensor(buf: bytes) -> np.ndarray | None:
    """float64 array of a canonically serialized, consistent, non-empty Tensor; else None."""
    end = len(buf)
    packed = read_field(buf, 0, end, TENSOR_SHAPE)
    shape = [] if packed is None else _dims(buf, packed[0], packed[1])
    values = read_field(buf, 0 if packed is None else packed[1], end, TENSOR_VALUES)
    if shape is None or values is None or values[1] != end:
        return None
    count = math.prod(shape)
    if count == 0 or values[1] - values[0] != 8 * count:
        return None
    array = np.frombuffer(buf, dtype="<f8", count=count, offset=values[0])
    return array.astype(np.float64).reshape(shape)


def _dims(buf: bytes, start: int, stop: int) -> list[int] | None:
    """A packed int32 shape; None for a negative dimension or more than the reader takes."""
    dims: list[int] = []
    pos = start
    while pos < stop:
        read = read_varint(buf, pos, stop)
        if read is None or read[0] > _INT32_MAX or len(dims) == MAX_READ_DIMS:
            return None
        dims.append(read[0])
        pos = read[1]
    return dims
