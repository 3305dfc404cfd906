"""Protobuf messages as their JSON mapping (what json_format gives), for logging gRPC payloads.

The common SeldonMessage (`[meta] data{names, ndarray | tensor}` of finite numbers) is read
from its bytes and printed directly, about ten times faster than protobuf's own JSON printer;
anything else goes through json_format. Both give the same JSON value.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import numpy as np
import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError

from seldon_server.codecs import json as json_codec
from seldon_server.codecs import seldon_bytes
from seldon_server.codecs.message import Message, Reply
from seldon_server.codecs.wire import MAX_NDARRAY_DIMS, SELDON_META, packs_as_doubles
from seldon_server.proto import prediction_pb2

_META_TAG = bytes((SELDON_META,))  # how a SeldonMessage with meta begins (its key is one byte)


def seldon_message_json(data: bytes) -> bytes:
    """A serialized SeldonMessage as its JSON mapping (compact, with a trailing newline)."""
    fast = _common_layout(data)
    if fast is not None:
        return fast
    return message_json(prediction_pb2.SeldonMessage, data)


def reply_json(reply: Reply) -> bytes | None:
    """Our common reply (numbers, plain meta) as the JSON mapping of its SeldonMessage, printed
    from the message itself; None for anything else (convert its bytes instead).

    The reply's array may be the model's own, reused by its next call: call this before returning.
    """
    if not isinstance(reply, Message) or reply.kind != "data" or reply.encoding == "tftensor":
        return None
    array = reply.array if reply.array is not None else reply.value
    if not isinstance(array, np.ndarray) or not packs_as_doubles(array):
        return None
    if array.size > REPLY_JSON_LIMIT:  # printing it would hold up the request: the sender does
        return None
    meta = reply.meta or {}
    if array.ndim > MAX_NDARRAY_DIMS or not _plain_meta(meta):
        return None
    data = _data_json(array, reply.names, reply.encoding)
    if data is None:
        return None
    return b'{"meta":%s,%s}\n' % (json_codec.dumps(meta)[:-1] if meta else b"{}", data)


def _data_json(array: np.ndarray, names: list[Any], encoding: Any) -> bytes | None:
    """`"data":{...}` with a numeric payload, as protobuf prints it (every number a double);
    None when protobuf would print it otherwise (not finite, an empty tensor, odd names)."""
    names_json = _names_json(names)
    if names_json is None or (encoding == "tensor" and not array.size):
        return None
    doubles = array if array.dtype == _DOUBLE else array.astype(_DOUBLE)
    if encoding == "tensor":
        values = json_codec.render_array(doubles.ravel())
        payload = b'"tensor":{"shape":%s,"values":%s}' % (orjson.dumps(doubles.shape), values)
    else:
        values = json_codec.render_array(doubles)
        payload = b'"ndarray":%s' % values
    if _NOT_FINITE.search(values) is not None:
        return None
    return b'"data":{%s%s}' % (names_json, payload)


_DOUBLE = np.dtype(np.float64)
REPLY_JSON_LIMIT = 1024  # numbers in a reply printed on the request path
_NOT_FINITE = re.compile(rb"NaN|Infinity|null")
# Replies repeat the same class names: their JSON is kept ('"names":[...],', or b"" for none).
_NAMES_JSON: dict[tuple[str, ...], bytes] = {}
_NAMES_JSON_SIZE = 256


def _names_json(names: list[Any]) -> bytes | None:
    if not names:
        return b""
    if not all(name.__class__ is str for name in names):
        return None  # protobuf turns these into text its own way
    key = tuple(names)
    found = _NAMES_JSON.get(key)
    if found is not None:
        return found
    text = b'"names":%s,' % json_codec.dumps(names)[:-1]
    if len(_NAMES_JSON) >= _NAMES_JSON_SIZE:
        _NAMES_JSON.clear()
    _NAMES_JSON[key] = text
    return text


def _plain_meta(meta: dict[str, Any]) -> bool:
    """Meta whose JSON mapping is itself: a puid and a requestPath of strings, nothing else
    (tags and metrics change on the way through protobuf: numbers become doubles, ...; and
    protobuf leaves an empty puid or requestPath out)."""
    if meta.__class__ is not dict or not meta.keys() <= {"puid", "requestPath"}:
        return False
    puid = meta.get("puid", "x")
    path = meta.get("requestPath", {"x": "x"})
    return (
        puid.__class__ is str
        and puid != ""
        and path.__class__ is dict
        and bool(path)
        and all(k.__class__ is str and v.__class__ is str for k, v in path.items())
    )


def message_json(message_type: Any, data: Any) -> bytes:
    """A protobuf message, or its bytes, as JSON; bytes it cannot parse as a JSON string."""
    try:
        message = message_type.FromString(data) if isinstance(data, bytes) else data
        return json_codec.dumps(json_format.MessageToDict(message))
    except (DecodeError, json_format.Error, ValueError, TypeError) as exc:
        # Not the declared message (the request was refused for it): kept, so nothing is lost.
        raw = data if isinstance(data, bytes) else data.SerializeToString()
        return json_codec.dumps(
            {"undecodable": base64.b64encode(raw).decode("ascii"), "error": str(exc)}
        )


def _common_layout(data: bytes) -> bytes | None:
    message = seldon_bytes.read_request(data)
    if message is None or not isinstance(message.value, np.ndarray):
        return None
    body = _data_json(message.value, message.names, message.encoding)
    if body is None:
        return None
    if data[:1] == _META_TAG:
        body = b'"meta":%s,%s' % (json_codec.dumps(message.meta or {})[:-1], body)
    return b"{%s}\n" % body
