"""Protobuf messages as their JSON mapping (what json_format gives), for logging gRPC payloads.

The common SeldonMessage (`[meta] data{names, ndarray | tensor}` of finite numbers) is read
from its bytes and printed directly, about ten times faster than protobuf's own JSON printer;
anything else goes through json_format. Both give the same JSON value.
"""

from __future__ import annotations

import base64
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
    if array.ndim > MAX_NDARRAY_DIMS or not np.isfinite(array).all():
        return None
    meta = reply.meta or {}
    if not _plain_meta(meta) or not all(name.__class__ is str for name in reply.names):
        return None
    doubles = array if array.dtype == np.float64 else array.astype(np.float64)
    if reply.encoding == "tensor":
        shape = orjson.dumps(list(doubles.shape))
        values = json_codec.render_array(doubles.ravel())
        payload = b'"tensor":{"shape":%s,"values":%s}' % (shape, values)
    else:
        payload = b'"ndarray":%s' % json_codec.render_array(doubles)
    names = b'"names":%s,' % json_codec.dumps(reply.names)[:-1] if reply.names else b""
    return b'{"meta":%s,"data":{%s%s}}\n' % (json_codec.dumps(meta)[:-1], names, payload)


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
        return json_codec.dumps(
            {"undecodable": base64.b64encode(bytes(data)).decode("ascii"), "error": str(exc)}
        )


def _common_layout(data: bytes) -> bytes | None:
    message = seldon_bytes.read_request(data)
    if message is None or not isinstance(message.value, np.ndarray):
        return None
    array = message.value
    if not np.isfinite(array).all():  # protobuf's printer has its own rules for these
        return None
    if message.encoding == "tensor":
        shape = orjson.dumps(list(array.shape))
        values = json_codec.render_array(array.ravel())
        payload = b'"tensor":{"shape":%s,"values":%s}' % (shape, values)
    else:
        payload = b'"ndarray":%s' % json_codec.render_array(array)
    names = b'"names":%s,' % json_codec.dumps(message.names)[:-1] if message.names else b""
    body = b'"data":{%s%s}' % (names, payload)
    if data[:1] == _META_TAG:
        body = b'"meta":%s,%s' % (json_codec.dumps(message.meta or {})[:-1], body)
    return b"{%s}\n" % body
