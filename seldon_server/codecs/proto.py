"""SeldonMessage protobuf <-> internal messages, with numeric payloads moved as packed bytes."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from google.protobuf import json_format
from google.protobuf.message import DecodeError

from seldon_server.codecs import numpy as np_codec
from seldon_server.codecs import seldon_bytes, tftensor
from seldon_server.codecs.message import Feedback, Message, Raw, Reply, hook_forms
from seldon_server.codecs.wire import (
    MAX_NDARRAY_DIMS,
    decode_numeric_list_value,
    decode_tensor,
    encode_numeric_list_value,
    encode_tensor,
    packs_as_doubles,
)
from seldon_server.errors import BadDataError
from seldon_server.proto import prediction_pb2

SeldonMessage = prediction_pb2.SeldonMessage


def decode(request: Any) -> Message:
    """SeldonMessage -> internal message (numbers in ndarray/jsonData/tags arrive as floats)."""
    meta = _meta_dict(request.meta) if request.HasField("meta") else {}
    kind = request.WhichOneof("data_oneof")
    if kind == "data":
        array, encoding = datadef_to_array(request.data)
        return Message("data", array, list(request.data.names), encoding, meta)
    if kind == "jsonData":
        return Message("jsonData", json_format.MessageToDict(request.jsonData), meta=meta)
    if kind == "strData":
        return Message("strData", request.strData, meta=meta)
    if kind == "binData":
        return Message("binData", request.binData, meta=meta)
    if kind == "customData":
        return Message("customData", request.customData, meta=meta)
    raise BadDataError(
        "Unknown data in SeldonMessage: no data, binData, strData, jsonData or customData"
    )


def _meta_dict(meta: Any) -> dict[str, Any]:
    try:
        return json_format.MessageToDict(meta)
    except json_format.Error as exc:  # e.g. a NaN tag, which JSON cannot hold
        raise BadDataError(f"Invalid meta: {exc}") from exc


def datadef_to_array(datadef: Any) -> tuple[np.ndarray, Any]:
    """DefaultData -> (array, encoding); an unset DefaultData is an empty array."""
    which = datadef.WhichOneof("data_oneof")
    if which == "tensor":
        return _tensor_to_array(datadef.tensor), "tensor"
    if which == "ndarray":
        array = decode_numeric_list_value(datadef.ndarray.SerializeToString())
        if array is None:
            array = np_codec.from_nested(json_format.MessageToDict(datadef.ndarray))
        return array, "ndarray"
    if which == "tftensor":
        return tftensor.to_array(datadef.tftensor), "tftensor"
    return np_codec.EMPTY.copy(), None


def _tensor_to_array(tensor: Any) -> np.ndarray:
    """The Tensor's values in its shape; read from its bytes unless protobuf must judge them."""
    array = decode_tensor(tensor.SerializeToString())
    if array is not None:
        return array
    shape = list(tensor.shape)
    if any(size < 0 for size in shape):
        raise BadDataError(f"Invalid tensor: negative dimension in shape {shape}")
    if len(tensor.values) != math.prod(shape):
        raise BadDataError(
            f"Invalid tensor: cannot reshape array of size {len(tensor.values)} into shape {shape}"
        )
    try:  # empty, or more dimensions than the byte reader takes
        return np.array(tensor.values, dtype=np.float64).reshape(shape)
    except ValueError as exc:  # more dimensions than numpy holds
        raise BadDataError(f"Invalid tensor: {exc}") from exc


def encode(msg: Message) -> Any:
    """Internal response message -> SeldonMessage (meta always present, as the original)."""
    out = SeldonMessage()
    if msg.meta:
        fill_meta(out.meta, msg.meta)
    out.meta.SetInParent()
    if msg.kind == "data":
        fill_datadef(out.data, msg)
    elif msg.kind == "strData":
        out.strData = msg.value
    elif msg.kind == "binData":
        out.binData = bytes(msg.value)
    elif msg.kind == "jsonData":
        try:
            json_format.ParseDict(msg.value, out.jsonData)
        except (json_format.ParseError, TypeError, ValueError) as exc:
            raise BadDataError(f"Invalid jsonData in response: {exc}") from exc
    elif msg.kind == "customData":
        out.customData.CopyFrom(msg.value)
    return out


def encode_bytes(msg: Message) -> bytes:
    """`encode(msg).SerializeToString()`, with the common numeric reply written directly."""
    written = seldon_bytes.write_reply(msg)
    return written if written is not None else encode(msg).SerializeToString()


def fill_datadef(datadef: Any, msg: Message) -> None:
    """Write a response array into a DefaultData in the chosen encoding."""
    array = msg.array if msg.array is not None else np.asarray(msg.value)
    try:
        datadef.names.extend(msg.names)
    except TypeError:  # class_names() may hold non-strings
        datadef.names.extend(str(name) for name in msg.names)
    if msg.encoding == "tftensor":
        datadef.tftensor.CopyFrom(tftensor.from_array(array))
        return
    np_codec.check_plain(array, msg.encoding or "ndarray")
    if msg.encoding == "tensor":
        datadef.tensor.MergeFromString(encode_tensor(array))
    else:
        _fill_list_value(datadef.ndarray, array)


def _fill_list_value(list_value: Any, array: np.ndarray) -> None:
    if array.ndim > MAX_NDARRAY_DIMS:  # protobuf would write it, but no reader would parse it
        raise BadDataError(
            f"Cannot encode a {array.ndim}-dimensional array as an ndarray: protobuf reads at"
            f" most {MAX_NDARRAY_DIMS} nested lists (a tensor has no such limit)"
        )
    list_value.SetInParent()
    if array.ndim == 0:  # a scalar array: a one-item list
        list_value.append(array.item())
    elif packs_as_doubles(array):
        list_value.MergeFromString(encode_numeric_list_value(array))
    else:
        list_value.extend(array.tolist())


def fill_meta(target: Any, meta: dict[str, Any]) -> None:
    """protobuf's JSON mapping of a response meta dict into a Meta; a bad value is bad data."""
    try:
        json_format.ParseDict(meta, target, ignore_unknown_fields=True)
    except (json_format.ParseError, TypeError, ValueError) as exc:
        raise BadDataError(f"Invalid meta in response: {exc}") from exc


def take_raw_metrics(response: Any, keep: bool) -> list[dict[str, Any]]:
    """Custom metrics in a raw hook's reply (dict or SeldonMessage); removed unless `keep`."""
    if isinstance(response, dict):
        meta = response.get("meta")
        metrics = meta.get("metrics") if isinstance(meta, dict) else None
        if not isinstance(metrics, list):
            return []
        if not keep:
            del meta["metrics"]  # type: ignore[union-attr]
        return metrics
    if not isinstance(response, SeldonMessage) or not response.meta.metrics:
        return []
    metrics = [json_format.MessageToDict(metric) for metric in response.meta.metrics]
    if not keep:
        del response.meta.metrics[:]
    return metrics


def parse_problem(exc: DecodeError) -> str:
    """What is wrong with bytes protobuf could not parse, for the client."""
    return str(exc) or "cannot parse the request"


class SerializedRequest:
    """A SeldonMessage request kept as its bytes: parsed by protobuf only when something needs it.

    The common numeric request is decoded straight from the bytes (see seldon_bytes); a raw
    hook, or any other layout, gets the parsed SeldonMessage.
    """

    __slots__ = ("data", "_decoded", "_message")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self._decoded: Message | None = None
        self._message: Any = None

    def check(self) -> str | None:
        """Why the bytes are not a SeldonMessage, or None; decodes the common layout on the way."""
        self._decoded = seldon_bytes.read_request(self.data)
        if self._decoded is not None:
            return None
        try:
            self.message()
        except DecodeError as exc:
            return parse_problem(exc)
        return None

    def message(self) -> Any:
        if self._message is None:
            self._message = SeldonMessage.FromString(self.data)
        return self._message

    def decoded(self) -> Message:
        if self._decoded is None:
            self._decoded = decode(self.message())
        return self._decoded

    def puid(self) -> str:
        """meta.puid, from whichever form was already read; "" when absent or unreadable."""
        if self._decoded is not None:
            value = (self._decoded.meta or {}).get("puid")
            return value if isinstance(value, str) else ""
        try:
            return self.message().meta.puid  # type: ignore[no-any-return]
        except DecodeError:
            return ""


def message_puid(request: Any) -> str:
    """The puid a gRPC request carries: its meta's, a feedback's response's (the prediction it
    rates) or request's, the first of a message list's; "" when none does."""
    if isinstance(request, SerializedRequest):
        return request.puid()
    if isinstance(request, prediction_pb2.Feedback):
        return request.response.meta.puid or request.request.meta.puid  # type: ignore[no-any-return]
    if isinstance(request, prediction_pb2.SeldonMessageList):
        return request.seldonMessages[0].meta.puid if request.seldonMessages else ""
    if isinstance(request, SeldonMessage):
        return request.meta.puid  # type: ignore[no-any-return]
    return ""


def decode_feedback(feedback: Any) -> Feedback:
    """A protobuf Feedback -> internal feedback (features and truth as arrays, as the original)."""
    features, encoding = datadef_to_array(feedback.request.data)
    truth, _ = datadef_to_array(feedback.truth.data)
    kind = feedback.request.WhichOneof("data_oneof")
    puid = feedback.request.meta.puid
    request = Message(
        kind,
        features,
        list(feedback.request.data.names),
        encoding if kind == "data" else None,
        {"puid": puid} if puid else {},
    )
    return Feedback(request, truth, feedback.reward, feedback.response.meta.routing)


def feedback_reward(feedback: Any) -> float:
    return feedback.reward  # type: ignore[no-any-return]


def as_seldon_message(value: Any) -> Any:
    """A feedback hook's reply (SeldonMessage, dict or JSON text) as the SeldonMessage sent back."""
    if isinstance(value, SeldonMessage):
        return value
    if isinstance(value, str | bytes):
        value = json.loads(value)
    message = SeldonMessage()
    try:
        json_format.ParseDict(value or {}, message)
    except (json_format.ParseError, TypeError, ValueError) as exc:
        raise BadDataError(f"Invalid JSON: {exc}") from exc
    return message


def raw_reply(hook: str, reply: Any) -> Any:
    """Raw hooks answer as they like, except that feedback always answers a SeldonMessage."""
    return as_seldon_message(reply) if hook == "send_feedback" else reply


def encode_reply(result: Reply) -> bytes:
    """A dispatcher result as the serialized SeldonMessage: ours, or a raw hook's reply."""
    if isinstance(result, Raw):
        return _encode_raw(result.value)
    return encode_bytes(result)


def _encode_raw(value: Any) -> bytes:
    """A raw hook's reply (SeldonMessage or dict) as the serialized SeldonMessage."""
    if isinstance(value, SeldonMessage):
        return value.SerializeToString()  # type: ignore[no-any-return]
    if isinstance(value, dict):
        message = SeldonMessage()
        json_format.ParseDict(value, message, ignore_unknown_fields=True)
        return message.SerializeToString()  # type: ignore[no-any-return]
    raise TypeError(f"raw hook returned {type(value).__name__}, expected a SeldonMessage or dict")


class GrpcCodec:
    """The gRPC side of dispatch: protobuf requests, or SeldonMessages still in their bytes."""

    serves_raw_hooks = True

    legacy_hooks: Mapping[str, str] = hook_forms("grpc")
    take_raw_metrics = staticmethod(take_raw_metrics)
    decode_feedback = staticmethod(decode_feedback)
    feedback_reward = staticmethod(feedback_reward)
    raw_reply = staticmethod(raw_reply)

    @staticmethod
    def decode(native: Any) -> Message:
        if native.__class__ is SerializedRequest:
            return native.decoded()  # type: ignore[no-any-return]
        return decode(native)

    @staticmethod
    def native(native: Any) -> Any:
        """What a raw hook receives: always a SeldonMessage."""
        return native.message() if native.__class__ is SerializedRequest else native

    @staticmethod
    def legacy_native(hook: str, native: Any) -> Any:
        return GrpcCodec.native(native)

    @staticmethod
    def decode_list(native: Any) -> list[Message]:
        return [decode(message) for message in native.seldonMessages]


GRPC_CODEC = GrpcCodec()
