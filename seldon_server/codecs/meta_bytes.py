"""Response meta serialized directly when it holds only the common values.

A deployed unit adds `puid` and `requestPath`, a batch run sends scalar `tags`, a model with
custom metrics adds `metrics`: these are written here as protobuf would write them. Anything
else (nested tag values, routing, odd types, out-of-range numbers) returns None, and protobuf's
JSON mapping (`fill_meta`, shared with the protobuf encoder) takes over with its own checks
and errors.
"""

from __future__ import annotations

import math
import struct
from typing import Any

from google.protobuf import json_format

from seldon_server.codecs.wire import delimited, varint
from seldon_server.errors import BadDataError

# Field tags (field number << 3 | wire type).
_PUID, _TAGS, _REQUEST_PATH, _METRICS = b"\x0a", b"\x12", b"\x22", b"\x2a"
_KEY, _VALUE = b"\x0a", b"\x12"  # map entries
_NUMBER, _STRING, _BOOL = b"\x11", b"\x1a", b"\x20"  # google.protobuf.Value
_METRIC_KEY, _METRIC_TYPE, _METRIC_VALUE, _METRIC_TAGS = b"\x0a", b"\x10", b"\x1d", b"\x22"
_METRIC_TYPES = {"COUNTER": 0, "GAUGE": 1, "TIMER": 2}
_META_KEYS = frozenset(("puid", "tags", "requestPath", "metrics"))
_METRIC_KEYS = frozenset(("key", "type", "value", "tags"))
_FLOAT32_MAX = 3.4028234663852886e38
_BIG_INT = 2**63  # beyond this an int's conversion to double is left to protobuf


def meta_bytes(meta: dict[str, Any]) -> bytes | None:
    """Serialized Meta for a dict of the common fields and values, else None."""
    if not meta.keys() <= _META_KEYS:
        return None
    try:
        out = b""
        puid = meta.get("puid")
        if puid is not None:
            if puid.__class__ is not str:
                return None
            if puid:
                out += _PUID + _text(puid)
        tags = meta.get("tags")
        if tags is not None:
            if tags.__class__ is not dict:
                return None
            for key, value in tags.items():
                encoded = _value(value)
                if encoded is None or key.__class__ is not str:
                    return None
                out += _TAGS + delimited(_KEY + _text(key) + _VALUE + delimited(encoded))
        path = meta.get("requestPath")
        if path is not None:
            entries = _string_map(path)
            if entries is None:
                return None
            out += b"".join(_REQUEST_PATH + delimited(entry) for entry in entries)
        metrics = meta.get("metrics")
        if metrics is not None:
            if metrics.__class__ is not list:
                return None
            for metric in metrics:
                encoded = _metric(metric)
                if encoded is None:
                    return None
                out += _METRICS + delimited(encoded)
    except (UnicodeEncodeError, OverflowError):  # lone surrogates, huge numbers: protobuf's errors
        return None
    return out


def fill_meta(target: Any, meta: dict[str, Any]) -> None:
    """protobuf's JSON mapping of a response meta dict into a Meta; a bad value is bad data."""
    try:
        json_format.ParseDict(meta, target, ignore_unknown_fields=True)
    except (json_format.ParseError, TypeError, ValueError) as exc:
        raise BadDataError(f"Invalid meta in response: {exc}") from exc


def _value(value: Any) -> bytes | None:
    kind = value.__class__
    if kind is str:
        return _STRING + _text(value)
    if kind is bool:
        return _BOOL + (b"\x01" if value else b"\x00")
    if kind is int and -_BIG_INT < value < _BIG_INT:
        return _NUMBER + struct.pack("<d", value)
    if kind is float and math.isfinite(value):
        return _NUMBER + struct.pack("<d", value)
    return None


def _string_map(mapping: Any) -> list[bytes] | None:
    if mapping.__class__ is not dict:
        return None
    entries = []
    for key, value in mapping.items():
        if key.__class__ is not str or value.__class__ is not str:
            return None
        entries.append(_KEY + _text(key) + _VALUE + _text(value))
    return entries


def _metric(metric: Any) -> bytes | None:
    if metric.__class__ is not dict or not metric.keys() <= _METRIC_KEYS:
        return None
    key, kind = metric.get("key", ""), metric.get("type", "COUNTER")
    value, tags = metric.get("value", 0), metric.get("tags", {})
    if key.__class__ is not str or kind.__class__ is not str or kind not in _METRIC_TYPES:
        return None
    if value.__class__ not in (int, float) or not abs(value) <= _FLOAT32_MAX:
        return None  # bool, NaN, out of float range: protobuf decides
    entries = _string_map(tags)
    if entries is None:
        return None
    out = _METRIC_KEY + _text(key) if key else b""
    if _METRIC_TYPES[kind]:
        out += _METRIC_TYPE + varint(_METRIC_TYPES[kind])
    if value:
        out += _METRIC_VALUE + struct.pack("<f", value)
    return out + b"".join(_METRIC_TAGS + delimited(entry) for entry in entries)


def _text(text: str) -> bytes:
    return delimited(text.encode("utf-8"))
