"""Response meta serialized directly when it holds only the common values.

A deployed unit adds `puid` and `requestPath`, a batch run sends scalar `tags`, a model with
custom metrics adds `metrics`: these are written here as protobuf would write them. Anything
else (nested tag values, routing, odd types, out-of-range numbers) returns None, and protobuf's
JSON mapping (`codecs.proto.fill_meta`) takes over with its own checks and errors.
"""

from __future__ import annotations

import math
import struct
from typing import Any

from seldon_server.codecs.wire import (
    ENTRY_KEY,
    ENTRY_VALUE,
    META_METRICS,
    META_PUID,
    META_REQUEST_PATH,
    META_TAGS,
    METRIC_KEY,
    METRIC_TAGS,
    METRIC_TYPE,
    METRIC_VALUE,
    VALUE_BOOL,
    VALUE_NUMBER,
    VALUE_STRING,
    field,
    scalar_field,
    varint,
)

_METRIC_TYPES = {"COUNTER": 0, "GAUGE": 1, "TIMER": 2}
_METRIC_KEYS = frozenset(("key", "type", "value", "tags"))
_FLOAT32_MAX = 3.4028234663852886e38
_BIG_INT = 2**63  # beyond this an int's conversion to double is left to protobuf


def meta_bytes(meta: dict[str, Any]) -> bytes | None:
    """Serialized Meta for a dict of the common fields and values, else None."""
    if not meta.keys() <= _META_KEYS:
        return None
    out = b""
    try:
        for name, write in _FIELDS:
            value = meta.get(name)
            if value is not None:
                encoded = write(value)
                if encoded is None:
                    return None
                out += encoded
    except (UnicodeEncodeError, OverflowError):  # lone surrogates, huge numbers: protobuf's errors
        return None
    return out


def _puid(puid: Any) -> bytes | None:
    if puid.__class__ is not str:
        return None
    return _text(META_PUID, puid) if puid else b""


def _tags(tags: Any) -> bytes | None:
    if tags.__class__ is not dict:
        return None
    out = b""
    for key, value in tags.items():
        encoded = _value(value)
        if encoded is None or key.__class__ is not str:
            return None
        out += field(META_TAGS, _text(ENTRY_KEY, key) + field(ENTRY_VALUE, encoded))
    return out


def _request_path(path: Any) -> bytes | None:
    entries = _string_map(path)
    if entries is None:
        return None
    return b"".join(field(META_REQUEST_PATH, entry) for entry in entries)


def _metrics(metrics: Any) -> bytes | None:
    if metrics.__class__ is not list:
        return None
    out = b""
    for metric in metrics:
        encoded = _metric(metric)
        if encoded is None:
            return None
        out += field(META_METRICS, encoded)
    return out


def _value(value: Any) -> bytes | None:
    kind = value.__class__
    if kind is str:
        return _text(VALUE_STRING, value)
    if kind is bool:
        return scalar_field(VALUE_BOOL, b"\x01" if value else b"\x00")
    if (kind is int and -_BIG_INT < value < _BIG_INT) or (kind is float and math.isfinite(value)):
        return scalar_field(VALUE_NUMBER, struct.pack("<d", value))
    return None


def _string_map(mapping: Any) -> list[bytes] | None:
    if mapping.__class__ is not dict:
        return None
    entries = []
    for key, value in mapping.items():
        if key.__class__ is not str or value.__class__ is not str:
            return None
        entries.append(_text(ENTRY_KEY, key) + _text(ENTRY_VALUE, value))
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
    out = _text(METRIC_KEY, key) if key else b""
    if _METRIC_TYPES[kind]:
        out += scalar_field(METRIC_TYPE, varint(_METRIC_TYPES[kind]))
    if value:
        out += scalar_field(METRIC_VALUE, struct.pack("<f", value))
    return out + b"".join(field(METRIC_TAGS, entry) for entry in entries)


# Meta's fields in field-number order, as protobuf writes them.
_FIELDS = (
    ("puid", _puid),
    ("tags", _tags),
    ("requestPath", _request_path),
    ("metrics", _metrics),
)
_META_KEYS = frozenset(name for name, _ in _FIELDS)


def _text(key: int, text: str) -> bytes:
    """A string field (UnicodeEncodeError for lone surrogates, which protobuf refuses too)."""
    return field(key, text.encode("utf-8"))
