"""REST JSON bodies <-> internal messages, and the one response serializer."""

from __future__ import annotations

import base64
import binascii
import json as stdlib_json
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import orjson
from google.protobuf import json_format

from seldon_server.codecs import numpy as np_codec
from seldon_server.codecs import proto as proto_codec
from seldon_server.codecs import tftensor
from seldon_server.codecs.message import Message, Raw, Reply, hook_forms
from seldon_server.errors import BadDataError, SeldonError
from seldon_server.proto import prediction_pb2

_ORJSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_APPEND_NEWLINE
# orjson and the stdlib encoder (what Flask's jsonify used) print floats differently only for
# 1e-9 <= |x| < 1e-4 (orjson: 0.00001, 1e-7; stdlib: 1e-05, 1e-07) and for NaN/Infinity (null).
_TINY_LOW, _TINY_HIGH = 1e-9, 1e-4
_ORJSON_ONLY_FLOAT = re.compile(rb'"(?:[^"\\]|\\.)*"|-?0\.0000\d+|-?\d(?:\.\d+)?e-[5-9](?![0-9])')
_ORJSON_ONLY_MARKERS = (b"0.0000", b"e-5", b"e-6", b"e-7", b"e-8", b"e-9")
# One regex pass is cheapest on small bodies, separate substring scans on large ones.
_SUSPECT = re.compile(rb"null|0\.0000|e-[5-9]")
_SMALL = 4096
_NON_FINITE = {"nan": b"NaN", "inf": b"Infinity", "-inf": b"-Infinity"}


def dumps(obj: Any) -> bytes:
    """Compact, sorted-key JSON with a trailing newline, byte-identical to Flask's jsonify."""
    try:
        out = orjson.dumps(obj, option=_ORJSON_OPTIONS)
    except (TypeError, orjson.JSONEncodeError):
        return _stdlib_dumps(obj)
    if not out.isascii():
        return _stdlib_dumps(obj)  # the stdlib escapes non-ASCII text
    if len(out) <= _SMALL:
        if _SUSPECT.search(out) is None:
            return out
    elif b"null" not in out and not any(marker in out for marker in _ORJSON_ONLY_MARKERS):
        return out
    if b"null" in out:
        return _stdlib_dumps(obj)  # null may be a NaN or infinity orjson could not print
    return _ORJSON_ONLY_FLOAT.sub(_python_float, out)


def _python_float(match: re.Match[bytes]) -> bytes:
    token = match.group(0)
    return token if token.startswith(b'"') else repr(float(token)).encode("ascii")


def _stdlib_dumps(obj: Any) -> bytes:
    text = stdlib_json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_to_builtin)
    return text.encode("ascii") + b"\n"


def _to_builtin(value: Any) -> Any:
    if isinstance(value, orjson.Fragment):
        return float(orjson.dumps(value))
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def array_values(array: np.ndarray) -> Any:
    """array.tolist(), with the few floats orjson would print unlike the stdlib pre-rendered.

    Keeps the common case (no such floats) on orjson's fast path without a regex over the body.
    """
    values = array.tolist()
    if array.dtype.kind != "f" or array.ndim == 0 or array.size == 0:
        return values
    magnitude = np.abs(array)
    odd = ~np.isfinite(array) | ((magnitude >= _TINY_LOW) & (magnitude < _TINY_HIGH))
    if not odd.any():
        return values
    for index in zip(*np.nonzero(odd), strict=True):
        row = values
        for position in index[:-1]:
            row = row[position]
        text = repr(float(array[index]))
        row[index[-1]] = orjson.Fragment(_NON_FINITE.get(text, text.encode("ascii")))
    return values


def loads(body: bytes | str) -> Any:
    """Parse a request body; anything that is not JSON is the client's mistake."""
    if not _may_hold_big_int(body):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    try:
        # orjson rejects NaN/Infinity, which the stdlib parser (and so the original server)
        # accepts, and reads integers beyond 64 bits as floats, which the stdlib keeps exact.
        return stdlib_json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise BadDataError("Can't find JSON in data") from exc


# An integer orjson would turn into a float has at least 19 digits in a row (2**63 has 19);
# float literals have at most 17 significant digits. Only bodies up to _BIG_INT_SCAN are
# scanned (a large numeric payload would pay for it on every request): beyond, such integers
# arrive as floats.
_DIGITS = bytes(0x31 if 0x30 <= code <= 0x39 else 0x30 for code in range(256))
_BIG_INT_DIGITS = b"1" * 19
_BIG_INT_SCAN = 16 * 1024


def _may_hold_big_int(body: bytes | str) -> bool:
    if len(body) > _BIG_INT_SCAN or len(body) < len(_BIG_INT_DIGITS):
        return False
    data = body if isinstance(body, bytes) else body.encode("utf-8", "replace")
    return _BIG_INT_DIGITS in data.translate(_DIGITS)


def decode(body: Any) -> Message:
    """A SeldonMessage JSON object -> internal message (ints stay ints: no protobuf here)."""
    if not isinstance(body, dict):
        raise BadDataError(f"Invalid request data type: {body}")
    meta = body.get("meta")
    if meta is not None:
        _check_meta(meta)
    if "data" in body:
        return _decode_data(body, meta)
    if "jsonData" in body:
        return Message("jsonData", body["jsonData"], meta=meta)
    if "strData" in body:
        return Message("strData", body["strData"], meta=meta)
    if "binData" in body:
        return Message("binData", _b64decode(body["binData"]), meta=meta)
    raise BadDataError(f"Invalid request data type: {body}")


def _check_meta(meta: Any) -> None:
    # Field types are checked where they are merged (dispatch): the original echoed odd values.
    if not isinstance(meta, dict):
        raise BadDataError(f"Invalid meta: {meta}")


_ENCODINGS = ("tensor", "ndarray", "tftensor")


def _decode_data(body: dict[str, Any], meta: dict[str, Any] | None) -> Message:
    datadef = body["data"]
    if isinstance(datadef, list | str) and not any(k in datadef for k in _ENCODINGS):
        # The original probed `"tensor" in data` etc.; a list or string without them is empty.
        return Message("data", np_codec.EMPTY.copy(), [], None, meta)
    if not isinstance(datadef, dict):
        raise BadDataError(f"Invalid request data type: {body}")
    names = datadef.get("names", [])
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


def render_array(array: np.ndarray) -> bytes:
    """orjson for the array; small ones are checked on the output, large ones numerically."""
    if array.size <= _SMALL_ARRAY:
        out = orjson.dumps(array.tolist())
        if _SUSPECT.search(out) is None:
            return out
    elif array.dtype in _NATIVE_NUMPY and not (array.dtype.kind == "f" and _has_odd_floats(array)):
        # orjson prints float64/int64 arrays byte-identically to their tolist(), without the list.
        return orjson.dumps(np.ascontiguousarray(array), option=orjson.OPT_SERIALIZE_NUMPY)
    return orjson.dumps(array_values(array))


_NATIVE_NUMPY = (np.dtype(np.float64), np.dtype(np.int64))


def _has_odd_floats(array: np.ndarray) -> bool:
    """Values orjson prints unlike the stdlib: NaN, infinities, 1e-9 <= |x| < 1e-4."""
    magnitude = np.abs(array)
    return bool((~np.isfinite(array) | ((magnitude >= _TINY_LOW) & (magnitude < _TINY_HIGH))).any())


_SMALL_ARRAY = 256


def render(msg: Message) -> bytes:
    """The response body for an internal message: `dumps(encode(msg))`, faster for arrays.

    Numeric and boolean arrays are rendered on their own by orjson and spliced in (keys in
    sorted order), so the body scan that keeps `dumps` faithful only covers names and meta.
    """
    array = msg.array
    if msg.kind != "data" or array is None or array.dtype.kind not in "fiub":
        return dumps(encode(msg))
    if msg.encoding == "tftensor" or (msg.encoding != "tensor" and isinstance(msg.value, list)):
        return dumps(encode(msg))
    if msg.encoding == "tensor":
        payload = b'{"shape":%s,"values":%s}' % (
            orjson.dumps(list(array.shape)),
            render_array(array.ravel()),
        )
    else:
        payload = render_array(array)
    names = b"[]" if msg.names == [] else dumps(msg.names)[:-1]  # the usual case, no scan
    meta = dumps(msg.meta if msg.meta is not None else {})[:-1]
    return b'{"data":{"names":%s,"%s":%s},"meta":%s}\n' % (
        names,
        (msg.encoding or "ndarray").encode("ascii"),
        payload,
        meta,
    )


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
    if msg.encoding != "tftensor":
        np_codec.check_plain(array, msg.encoding or "ndarray")
    payload: Any
    if msg.encoding == "tensor":
        payload = {"shape": list(array.shape), "values": array_values(array.ravel())}
    elif msg.encoding == "tftensor":
        payload = tftensor.to_json(tftensor.from_array(array))
    else:
        payload = msg.value if isinstance(msg.value, list) else array_values(array)
    return {msg.encoding or "ndarray": payload, "names": msg.names}


def status_body(error: SeldonError) -> bytes:
    """A failure's Seldon status body, as every front end sends or logs it."""
    return dumps(error.to_dict())


def parse_feedback(body: Any) -> Any:
    """A Feedback JSON body -> protobuf Feedback, strictly (unknown fields are 400s).

    Unlike every other REST body, feedback goes through protobuf on purpose: the original did,
    so its users' send_feedback receives doubles and its reply follows protobuf's JSON mapping.
    """
    if not isinstance(body, dict):
        raise BadDataError(f"Invalid request data type: {body}")
    feedback = prediction_pb2.Feedback()
    try:
        json_format.ParseDict(body, feedback)
    except (json_format.ParseError, TypeError, ValueError) as exc:
        raise BadDataError(f"Invalid JSON: {exc}") from exc
    return feedback


def render_reply(result: Reply, *, feedback: bool = False) -> bytes:
    """A dispatcher result as the response body.

    A raw hook's reply goes as it is (a SeldonMessage in protobuf's JSON mapping); a feedback
    reply follows protobuf's JSON mapping too (see parse_feedback).
    """
    if isinstance(result, Raw):
        value = result.value
        if isinstance(value, proto_codec.SeldonMessage):
            value = json_format.MessageToDict(value)
        return dumps(value)
    if feedback:
        return dumps(json_format.MessageToDict(proto_codec.encode(result)))
    return render(result)


def _legacy_native(hook: str, native: Any) -> Any:
    """send_feedback_rest receives the Feedback as JSON text, the others the parsed body."""
    return json_format.MessageToJson(native) if hook == "send_feedback" else native


class RestCodec:
    """The REST side of dispatch: JSON objects, with ints kept as ints; feedback as protobuf."""

    serves_raw_hooks = True

    legacy_hooks: Mapping[str, str] = hook_forms("rest")
    decode = staticmethod(decode)
    decode_feedback = staticmethod(proto_codec.decode_feedback)
    feedback_reward = staticmethod(proto_codec.feedback_reward)
    legacy_native = staticmethod(_legacy_native)
    raw_reply = staticmethod(proto_codec.raw_reply)
    take_raw_metrics = staticmethod(proto_codec.take_raw_metrics)

    @staticmethod
    def native(native: Any) -> Any:
        return native  # raw hooks receive the parsed JSON (or the Feedback) as it is

    @staticmethod
    def decode_list(native: Any) -> list[Message]:
        if isinstance(native, list):
            messages = native
        elif isinstance(native, dict) and isinstance(native.get("seldonMessages"), list):
            messages = native["seldonMessages"]
        else:
            raise BadDataError(f"Invalid request data type: {native}")
        return [decode(message) for message in messages]


REST_CODEC = RestCodec()
