"""The common SeldonMessage request and reply read and written as bytes, without protobuf objects.

For a small numeric message, building protobuf objects costs more than the numbers they carry.
The common request is `[meta] data{names..., ndarray | tensor}` and the common reply is
`meta data{names..., ndarray | tensor}`; both are handled here at the byte level. The reader is
strict: it accepts only the canonical layout protobuf itself writes and answers None for anything
else (other fields, other orders, ragged or non-numeric lists), so the caller falls back to
protobuf and every accepted message decodes exactly as protobuf would decode it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from google.protobuf import json_format
from google.protobuf.message import DecodeError

from seldon_server.codecs.message import Encoding, Message
from seldon_server.codecs.meta_bytes import meta_bytes
from seldon_server.codecs.wire import (
    DATA_NAMES,
    DATA_NDARRAY,
    DATA_TENSOR,
    MAX_NDARRAY_DIMS,
    SELDON_DATA,
    SELDON_META,
    decode_numeric_list_value,
    decode_tensor,
    encode_numeric_list_value,
    encode_tensor,
    field,
    packs_as_doubles,
    read_field,
)
from seldon_server.proto import prediction_pb2

# What DefaultData may hold after its names: (key, encoding, decoder).
_PAYLOADS: tuple[tuple[int, Encoding, Callable[[bytes], np.ndarray | None]], ...] = (
    (DATA_NDARRAY, "ndarray", decode_numeric_list_value),
    (DATA_TENSOR, "tensor", decode_tensor),
)


def read_request(data: bytes) -> Message | None:
    """The decoded request when `data` has the common numeric layout, else None."""
    end = len(data)
    meta_span = read_field(data, 0, end, SELDON_META)
    data_span = read_field(data, 0 if meta_span is None else meta_span[1], end, SELDON_DATA)
    if data_span is None or data_span[1] != end:
        return None
    names, pos = _names(data, data_span[0], end)
    if names is None:
        return None
    payload = _payload(data, pos, end)
    if payload is None:
        return None
    meta = _meta(data, meta_span)
    if meta is None:
        return None
    encoding, array = payload
    return Message("data", array, names, encoding, meta)


def _payload(data: bytes, pos: int, end: int) -> tuple[Encoding, np.ndarray] | None:
    """(encoding, array) of the ndarray or tensor at `pos` that ends the message, else None."""
    for key, encoding, decode in _PAYLOADS:
        span = read_field(data, pos, end, key)
        if span is not None and span[1] == end:
            array = decode(data[span[0] :])
            return None if array is None else (encoding, array)
    return None


def _names(data: bytes, pos: int, end: int) -> tuple[list[str] | None, int]:
    """DefaultData.names from `pos`, and where they end; None for text that is not UTF-8."""
    names: list[str] = []
    while (span := read_field(data, pos, end, DATA_NAMES)) is not None:
        try:
            names.append(data[span[0] : span[1]].decode("utf-8"))
        except UnicodeDecodeError:  # protobuf refuses such a string
            return None, pos
        pos = span[1]
    return names, pos


def _meta(data: bytes, span: tuple[int, int] | None) -> dict[str, Any] | None:
    """The request meta as JSON, or None when protobuf or JSON refuses it (decode reports it)."""
    if span is None or span[0] == span[1]:
        return {}
    try:  # parsed as part of a SeldonMessage, so protobuf's depth limit applies
        parsed = prediction_pb2.SeldonMessage.FromString(data[: span[1]]).meta
        return json_format.MessageToDict(parsed)  # type: ignore[no-any-return]
    except (DecodeError, json_format.Error):  # invalid bytes; a NaN tag, which JSON cannot hold
        return None


def write_reply(msg: Message) -> bytes | None:
    """Serialized SeldonMessage for a numeric ndarray/tensor reply, else None.

    Fields are written in field-number order, as protobuf writes them.
    """
    array = msg.array
    if msg.kind != "data" or array is None or msg.encoding == "tftensor":
        return None
    if not packs_as_doubles(array) or array.ndim > MAX_NDARRAY_DIMS:
        return None
    names = _names_bytes(msg.names)
    if names is None:
        return None
    meta = _meta_bytes(msg.meta)
    if meta is None:
        return None
    if msg.encoding == "tensor":
        payload = field(DATA_TENSOR, encode_tensor(array))
    else:
        payload = field(DATA_NDARRAY, encode_numeric_list_value(array))
    return field(SELDON_META, meta) + field(SELDON_DATA, names + payload)


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
            cached = b"".join(field(DATA_NAMES, name.encode("utf-8")) for name in names)
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
    # Protobuf's JSON mapping, spliced in so that a large payload is not parsed back into objects;
    # what it refuses is declined, and reported by the protobuf encoder (codecs.proto.fill_meta).
    try:
        parsed = json_format.ParseDict(meta, prediction_pb2.Meta(), ignore_unknown_fields=True)
    except (json_format.ParseError, TypeError, ValueError):
        return None
    return parsed.SerializeToString()  # type: ignore[no-any-return]
