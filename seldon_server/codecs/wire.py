"""Numeric payloads (google.protobuf.ListValue, seldon Tensor) read and written as bytes.

A number inside a ListValue is the 11 bytes `0a 09 11 <8-byte little-endian double>` (entry tag,
Value length, number_value tag); a nested list is `0a <len> 32 <len> <ListValue>`. Building and
parsing these with numpy keeps a 100x100 ndarray off the per-element Python path. Anything that is
not a regular all-number nested list is left to the generic protobuf path (None is returned).
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from seldon_server.codecs import numpy as np_codec

# Below this many numbers, struct and bytes slicing beat numpy's per-call overhead.
_SMALL = 64
_NUMBER_PREFIX = b"\x0a\x09\x11"
_NUMBER = np.dtype([("entry", "u1"), ("length", "u1"), ("tag", "u1"), ("value", "<f8")])
_ENTRY_TAG, _NUMBER_LENGTH, _NUMBER_TAG, _LIST_TAG = 0x0A, 0x09, 0x11, 0x32
# Lengths and Tensor shape values are at most int32 (larger shape varints are negative or
# truncated by protobuf).
_INT32_MAX = 2**31 - 1


# One-byte varints (every length under 128) are looked up, not computed.
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


def delimited(payload: bytes) -> bytes:
    """A length-delimited field's value: its varint length, then the bytes."""
    return varint(len(payload)) + payload


def packs_as_doubles(array: np.ndarray) -> bool:
    """A non-empty, real, numeric array of rank >= 1: every value is written as a double."""
    return (
        bool(array.size)
        and array.ndim > 0
        and np_codec.is_numeric(array)
        and (array.dtype.kind != "c")
    )


def read_varint(buf: bytes | memoryview, pos: int) -> tuple[int, int]:
    """(value, position after it) of a varint field value; value -1 when the buffer ends inside
    it or it is longer than protobuf's 10 bytes (protobuf rejects those)."""
    if pos < len(buf) and buf[pos] < 0x80:
        return buf[pos], pos + 1
    return _read_long(buf, pos, 70)


def read_length(buf: bytes | memoryview, pos: int) -> tuple[int, int]:
    """A length prefix as protobuf reads one: at most 5 bytes and below 2**31, else -1."""
    if pos < len(buf) and buf[pos] < 0x80:  # lengths under 128: the common case
        return buf[pos], pos + 1
    value, pos = _read_long(buf, pos, 35)
    return (value if value <= _INT32_MAX else -1), pos


def _read_long(buf: bytes | memoryview, pos: int, max_shift: int) -> tuple[int, int]:
    result = shift = 0
    while pos < len(buf) and shift < max_shift:
        byte = buf[pos]
        result |= (byte & 0x7F) << shift
        pos += 1
        if not byte & 0x80:
            return result, pos
        shift += 7
    return -1, pos


def encode_numeric_list_value(array: np.ndarray) -> bytes:
    """Serialized ListValue for a non-empty numeric array of any rank >= 1."""
    if array.size <= _SMALL:
        return _encode_small(array.tolist())
    if array.ndim == 1:
        numbers = np.empty(array.shape[0], dtype=_NUMBER)
        numbers["entry"], numbers["length"], numbers["tag"] = (
            _ENTRY_TAG,
            _NUMBER_LENGTH,
            _NUMBER_TAG,
        )
        numbers["value"] = array
        return numbers.tobytes()
    if array.ndim == 2:
        return _encode_matrix(array)
    parts = []
    for sub in array:
        inner = encode_numeric_list_value(sub)
        parts.append(b"\x0a" + delimited(b"\x32" + delimited(inner)))
    return b"".join(parts)


def _encode_small(values: list[object]) -> bytes:
    if values[0].__class__ is not list:
        return _numbers_struct(len(values), "3sd").pack(*_interleave(values))
    parts = []
    for row in values:
        inner = _encode_small(row)  # type: ignore[arg-type]
        parts.append(b"\x0a" + delimited(b"\x32" + delimited(inner)))
    return b"".join(parts)


def _interleave(values: list[object]) -> list[object]:
    out: list[object] = [_NUMBER_PREFIX, 0.0] * len(values)
    out[1::2] = values  # ints (from int arrays) are packed as doubles by struct
    return out


# Compiled layouts of `count` numbers, packed ("3sd": prefix, double) or unpacked ("3xd").
_STRUCTS: dict[tuple[int, str], struct.Struct] = {}


def _numbers_struct(count: int, item: str) -> struct.Struct:
    layout = _STRUCTS.get((count, item))
    if layout is None:
        layout = _STRUCTS[count, item] = struct.Struct("<" + item * count)
    return layout


def _encode_matrix(array: np.ndarray) -> bytes:
    """Every row has the same header, so a 2-D array is one numpy fill and one copy."""
    rows, cols = array.shape
    numbers = np.empty((rows, cols), dtype=_NUMBER)
    numbers["entry"], numbers["length"], numbers["tag"] = _ENTRY_TAG, _NUMBER_LENGTH, _NUMBER_TAG
    numbers["value"] = array
    row_list = _NUMBER.itemsize * cols
    value_header = b"\x32" + varint(row_list)
    header = np.frombuffer(b"\x0a" + varint(len(value_header) + row_list) + value_header, np.uint8)
    out = np.empty((rows, header.size + row_list), dtype=np.uint8)
    out[:, : header.size] = header
    out[:, header.size :] = numbers.view(np.uint8).reshape(rows, row_list)
    return out.tobytes()


def decode_numeric_list_value(buf: bytes) -> np.ndarray | None:
    """float64 array for a regular all-number nested ListValue, else None."""
    if not buf:
        return None
    if len(buf) > _SMALL_BYTES:
        return _decode(memoryview(buf))
    values = _decode_small(buf)
    if values is None:
        return None
    try:
        return np.array(values, dtype=np.float64)
    except ValueError:  # ragged: the generic path reports it
        return None


# A small payload is parsed into Python lists first: one numpy call instead of one per row.
_SMALL_BYTES = 1024


def _decode_small(buf: bytes) -> list[Any] | None:
    if buf[:3] == _NUMBER_PREFIX:
        count, rest = divmod(len(buf), _NUMBER.itemsize)
        if rest or buf[0::11] != b"\x0a" * count or buf[1::11] != b"\x09" * count:
            return None
        if buf[2::11] != b"\x11" * count:
            return None
        return list(_numbers_struct(count, "3xd").unpack(buf))
    rows: list[Any] = []
    view = memoryview(buf)
    pos = 0
    while pos < len(buf):
        if buf[pos] != _ENTRY_TAG:
            return None
        length, pos = read_length(view, pos + 1)
        end = pos + length
        if length < 2 or end > len(buf) or buf[pos] != _LIST_TAG:
            return None
        inner_length, inner_pos = read_length(view, pos + 1)
        if inner_pos + inner_length != end or inner_length <= 0:
            return None
        row = _decode_small(buf[inner_pos:end])
        if row is None:
            return None
        rows.append(row)
        pos = end
    return rows


def _decode(buf: memoryview) -> np.ndarray | None:
    if (
        len(buf) >= 3
        and buf[0] == _ENTRY_TAG
        and buf[1] == _NUMBER_LENGTH
        and buf[2] == _NUMBER_TAG
    ):
        return _decode_numbers(buf)
    matrix = _decode_matrix(buf) if len(buf) > _SMALL * _NUMBER.itemsize else None
    if matrix is not None:
        return matrix
    rows: list[np.ndarray] = []
    pos = 0
    while pos < len(buf):
        if buf[pos] != _ENTRY_TAG:
            return None
        length, pos = read_length(buf, pos + 1)
        end = pos + length
        if length < 2 or end > len(buf) or buf[pos] != _LIST_TAG:
            return None
        inner_length, inner_pos = read_length(buf, pos + 1)
        if inner_pos + inner_length != end or inner_length <= 0:
            return None
        row = _decode(buf[inner_pos:end])
        if row is None or (rows and row.shape != rows[0].shape):
            return None
        rows.append(row)
        pos = end
    return np.stack(rows) if rows else None


def _decode_matrix(buf: memoryview) -> np.ndarray | None:
    """Fast path for the common 2-D case: every row has the same header and width."""
    if buf[0] != _ENTRY_TAG:
        return None
    length, pos = read_length(buf, 1)
    if length < 2 or pos + length > len(buf) or buf[pos] != _LIST_TAG:
        return None
    inner_length, inner_pos = read_length(buf, pos + 1)
    row_size = pos + length
    if inner_pos + inner_length != row_size or inner_length % _NUMBER.itemsize:
        return None
    if inner_length <= 0 or len(buf) % row_size:
        return None
    header = inner_pos
    matrix = np.frombuffer(buf, dtype=np.uint8).reshape(-1, row_size)
    if not (matrix[:, :header] == matrix[0, :header]).all():
        return None
    cells = matrix[:, header:].reshape(matrix.shape[0], -1, _NUMBER.itemsize)
    if not (
        (cells[:, :, 0] == _ENTRY_TAG).all()
        and (cells[:, :, 1] == _NUMBER_LENGTH).all()
        and (cells[:, :, 2] == _NUMBER_TAG).all()
    ):
        return None
    return np.ascontiguousarray(cells[:, :, 3:]).view("<f8")[:, :, 0].astype(np.float64)


def _decode_numbers(buf: memoryview) -> np.ndarray | None:
    if len(buf) % _NUMBER.itemsize:
        return None
    count = len(buf) // _NUMBER.itemsize
    if count <= _SMALL:
        raw = bytes(buf)
        if raw[0::11] != b"\x0a" * count or raw[1::11] != b"\x09" * count:
            return None
        if raw[2::11] != b"\x11" * count:
            return None
        return np.array(_numbers_struct(count, "3xd").unpack(raw), dtype=np.float64)
    numbers = np.frombuffer(buf, dtype=_NUMBER)
    if not (
        (numbers["entry"] == _ENTRY_TAG).all()
        and (numbers["length"] == _NUMBER_LENGTH).all()
        and (numbers["tag"] == _NUMBER_TAG).all()
    ):
        return None
    return numbers["value"].astype(np.float64)


def encode_tensor(array: np.ndarray) -> bytes:
    """Serialized seldon Tensor (packed shape, packed doubles) of any numeric array."""
    shape = b"".join(varint(size) for size in array.shape)
    values = np.ascontiguousarray(array, dtype="<f8").tobytes()
    out = b""
    if shape:
        out += b"\x0a" + delimited(shape)
    if values:
        out += b"\x12" + delimited(values)
    return out


def decode_tensor(buf: bytes) -> np.ndarray | None:
    """float64 array of a canonically serialized, consistent, non-empty Tensor, else None."""
    size, pos = len(buf), 0
    shape: list[int] = []
    count = 1
    if pos < size and buf[pos] == 0x0A:
        length, pos = read_length(buf, pos + 1)
        end = pos + length
        if length < 0 or end > size:
            return None
        while pos < end:
            dim, pos = read_varint(buf, pos)
            if dim < 0 or dim > _INT32_MAX:
                return None
            shape.append(dim)
            count *= dim
        if pos != end:
            return None
    if pos >= size or buf[pos] != 0x12:
        return None
    length, pos = read_length(buf, pos + 1)
    if pos + length != size or count == 0 or length != 8 * count:
        return None
    values = np.frombuffer(buf, dtype="<f8", count=count, offset=pos)
    return values.astype(np.float64).reshape(shape)
