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
from seldon_server.codecs.wire import SELDON_META
from seldon_server.proto import prediction_pb2

_META_TAG = bytes((SELDON_META,))  # how a SeldonMessage with meta begins (its key is one byte)


def seldon_message_json(data: bytes) -> bytes:
    """A serialized SeldonMessage as its JSON mapping (compact, with a trailing newline)."""
    fast = _common_layout(data)
    if fast is not None:
        return fast
    return message_json(prediction_pb2.SeldonMessage, data)


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
