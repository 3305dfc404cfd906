"""The common SeldonMessage request and reply read and written as bytes, without protobuf objects.

For a small numeric message, building protobuf objects costs more than the numbers they carry.
The common request is `[meta] data{names..., ndarray | tensor}` and the common reply is
`meta data{names..., ndarray | tensor}`; both are handled here at the byte level. The reader is
strict: it accepts only the canonical layout protobuf itself writes and answers None for anything
else (other fields, other orders, ragged or non-numeric lists), so the caller falls back to
protobuf and every accepted message decodes exactly as protobuf would decode it.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError

from seldon_server.codecs.message import Message
from seldon_server.codecs.meta_bytes import fill_meta, meta_bytes
from seldon_server.codecs.wire import (
    decode_numeric_list_value,
    decode_tensor,
    delimited,
    encode_numeric_list_value,
    encode_tensor,
    packs_as_doubles,
    read_length,
)
from seldon_server.proto import prediction_pb2

# Field tags (field number << 3 | wire type 2): SeldonMessage.meta, SeldonMessage.data,
# DefaultData.names, DefaultData.tensor, DefaultData.ndarray.
_META, _DATA, _NAMES, _TENSOR, _NDARRAY = 0x12, 0x1A, 0x0A, 0x12, 0x1A


def read_request(data: bytes) -> Message | None:
    """The decoded request when `data` has the common numeric layout, else None."""
    try:
        return _read(data)
    except (IndexError, UnicodeDecodeError, DecodeError, ValueError, RecursionError):
        return None  # truncated, invalid or too deep: protobuf reports it
    except json_format.Error:
        return None  # meta protobuf reads but JSON cannot hold (NaN tags): reported by decode


# Each ndarray dimension nests two messages; protobuf's depth limit (100) is reached near 49.
_MAX_DIMS = 32


def _read(data: bytes) -> Message | None:
    size = len(data)
    pos = meta_end = 0
    if data[0] == _META:
        length, pos = read_length(data, 1)
        meta_end = pos + length
        if length < 0 or meta_end > size:
            return None
        pos = meta_end
    if data[pos] != _DATA:
        return None
    length, pos = read_length(data, pos + 1)
    if pos + length != size:
        return None
    names: list[str] = []
    while data[pos] == _NAMES:
        length, pos = read_length(data, pos + 1)
        end = pos + length
        if length < 0 or end >= size:
            return None
        names.append(data[pos:end].decode("utf-8"))
        pos = end
    kind = data[pos]
    length, pos = read_length(data, pos + 1)
    if pos + length != size:
        return None
    if kind == _NDARRAY:
        array = decode_numeric_list_value(data[pos:])
        encoding = "ndarray"
    elif kind == _TENSOR:
        array = decode_tensor(data[pos:])
        encoding = "tensor"
    else:
        return None
    if array is None or array.ndim > _MAX_DIMS:
        return None
    meta: dict[str, Any] = {}
    if meta_end > 2:  # parsed as part of a SeldonMessage, so protobuf's depth limit applies
        parsed = prediction_pb2.SeldonMessage.FromString(data[:meta_end]).meta
        meta = json_format.MessageToDict(parsed)
    return Message("data", array, names, encoding, meta)  # type: ignore[arg-type]


def write_reply(msg: Message) -> bytes | None:
    """Serialized SeldonMessage for a numeric ndarray/tensor reply, else None.

    Fields are written in field-number order, as protobuf writes them.
    """
    array = msg.array
    if msg.kind != "data" or array is None or msg.encoding == "tftensor":
        return None
    if not packs_as_doubles(array):
        return None
    names = _names_bytes(msg.names)
    if names is None:
        return None
    meta = _meta_bytes(msg.meta)  # first: a bad meta is reported before any payload problem
    if meta is None:
        return None
    if msg.encoding == "tensor":
        payload = b"\x12" + delimited(encode_tensor(array))
    else:
        payload = b"\x1a" + delimited(encode_numeric_list_value(array))
    return b"\x12" + delimited(meta) + b"\x1a" + delimited(names + payload)


# Replies repeat the same column names (class_names), so their bytes are kept.
_NAMES_CACHE: dict[tuple[str, ...], bytes] = {}
_NAMES_CACHE_SIZE = 256
_ONLY_STR = {str}


def _names_bytes(names: list[Any]) -> bytes | None:
    """Serialized names; None unless all are str (protobuf's own conversions apply to others)."""
    if not names:
        return b""
    if {*map(type, names)} != _ONLY_STR:
        return None
    key = tuple(names)
    cached = _NAMES_CACHE.get(key)
    if cached is None:
        try:
            cached = b"".join(b"\x0a" + delimited(name.encode("utf-8")) for name in names)
        except UnicodeEncodeError:  # lone surrogates: protobuf's own error
            return None
        if len(_NAMES_CACHE) >= _NAMES_CACHE_SIZE:
            _NAMES_CACHE.clear()
        _NAMES_CACHE[key] = cached
    return cached


def _meta_bytes(meta: dict[str, Any] | None) -> bytes | None:
    if not meta:
        return b""
    if meta.__class__ is not dict:
        return None
    direct = meta_bytes(meta)
    if direct is not None:
        return direct
    out = prediction_pb2.Meta()
    fill_meta(out, meta)
    return out.SerializeToString()  # type: ignore[no-any-return]
