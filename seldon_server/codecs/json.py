"""REST JSON bodies <-> internal messages, and the one response serializer."""

from __future__ import annotations

import base64
import binascii
import json as stdlib_json
from typing import Any

import numpy as np
import orjson

from seldon_server.codecs import numpy as np_codec
from seldon_server.codecs import tftensor
from seldon_server.codecs.message import Message
from seldon_server.codecs.proto import take_raw_metrics
from seldon_server.errors import BadDataError

_ORJSON_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_SERIALIZE_NUMPY
    | orjson.OPT_NON_STR_KEYS
    | orjson.OPT_APPEND_NEWLINE
)
# Where orjson and the stdlib encoder (what Flask's jsonify uses) print differently: small
# floats (1e-05 vs 0.00001), NaN/Infinity (null), non-ASCII text (escaped by the stdlib).
_STDLIB_MARKERS = (b"e-", b"0.0000", b"null")


def dumps(obj: Any) -> bytes:
    """Compact, sorted-key JSON with a trailing newline, byte-identical to Flask's jsonify."""
    try:
        out = orjson.dumps(obj, option=_ORJSON_OPTIONS)
    except (TypeError, orjson.JSONEncodeError):
        return _stdlib_dumps(obj)
    if out.isascii() and not any(marker in out for marker in _STDLIB_MARKERS):
        return out
    return _stdlib_dumps(obj)


def _stdlib_dumps(obj: Any) -> bytes:
    text = stdlib_json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_to_builtin)
    return text.encode("ascii") + b"\n"


def _to_builtin(value: Any) -> Any:
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def loads(body: bytes | str) -> Any:
    """Parse a request body; anything that is not JSON is the client's mistake."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        # orjson rejects NaN/Infinity and big integers, which the stdlib parser (and so the
        # original server) accepts.
        return stdlib_json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise BadDataError("Can't find JSON in data") from exc


def decode(body: Any) -> Message:
    """A SeldonMessage JSON object -> internal message (ints stay ints: no protobuf on this path)."""
    if not isinstance(body, dict):
        raise BadDataError(f"Invalid request data type: {body}")
    meta = body.get("meta")
    if meta is not None and not isinstance(meta, dict):
        raise BadDataError(f"Invalid meta: {meta}")
    if "data" in body:
        return _decode_data(body, meta)
    if "jsonData" in body:
        return Message("jsonData", body["jsonData"], meta=meta)
    if "strData" in body:
        return Message("strData", body["strData"], meta=meta)
    if "binData" in body:
        return Message("binData", _b64decode(body["binData"]), meta=meta)
    raise BadDataError(f"Invalid request data type: {body}")


def _decode_data(body: dict[str, Any], meta: dict[str, Any] | None) -> Message:
    datadef = body["data"]
    if not isinstance(datadef, dict):
        raise BadDataError(f"Invalid request data type: {body}")
    names = datadef.get("names", [])
    if not isinstance(names, list):
        raise BadDataError(f"Invalid names: {names}")
    if "tensor" in datadef:
        tensor = datadef["tensor"]
        if not isinstance(tensor, dict):
            raise BadDataError(f"Invalid tensor: {tensor}")
        array = np_codec.from_tensor(tensor.get("shape"), tensor.get("values"))
        return Message("data", array, names, "tensor", meta)
    if "ndarray" in datadef:
        return Message("data", np_codec.from_nested(datadef["ndarray"]), names, "ndarray", meta)
    if "tftensor" in datadef:
        array = tftensor.to_array(tftensor.from_json(datadef["tftensor"]))
        return Message("data", array, names, "tftensor", meta)
    return Message("data", np_codec.EMPTY.copy(), names, None, meta)


def _b64decode(value: Any) -> bytes:
    try:
        return base64.b64decode(value)
    except (binascii.Error, TypeError, ValueError) as exc:
        raise BadDataError(f"Invalid binData: {exc}") from exc


def encode(msg: Message) -> dict[str, Any]:
    """Internal response message -> SeldonMessage JSON object."""
    out: dict[str, Any] = {}
    if msg.kind == "data":
        out["data"] = _encode_data(msg)
    elif msg.kind == "binData":
        out["binData"] = base64.b64encode(msg.value).decode("ascii")
    elif msg.kind is not None:
        out[msg.kind] = msg.value
    out["meta"] = msg.meta if msg.meta is not None else {}
    return out


def _encode_data(msg: Message) -> dict[str, Any]:
    array = msg.array if msg.array is not None else np.asarray(msg.value)
    payload: Any
    if msg.encoding == "tensor":
        payload = {"shape": list(array.shape), "values": array.ravel().tolist()}
    elif msg.encoding == "tftensor":
        payload = tftensor.to_json(tftensor.from_array(array))
    else:
        payload = msg.value if isinstance(msg.value, list) else array.tolist()
    return {msg.encoding or "ndarray": payload, "names": msg.names}


class RestCodec:
    """The REST side of dispatch: JSON objects, with ints kept as ints."""

    name = "rest"
    decode = staticmethod(decode)

    @staticmethod
    def decode_list(native: Any) -> list[Message]:
        if isinstance(native, list):
            messages = native
        elif isinstance(native, dict) and isinstance(native.get("seldonMessages"), list):
            messages = native["seldonMessages"]
        else:
            raise BadDataError(f"Invalid request data type: {native}")
        return [decode(message) for message in messages]

    take_raw_metrics = staticmethod(take_raw_metrics)


REST_CODEC = RestCodec()
