"""Request dicts -> protobuf messages and responses -> dicts, at the gRPC edge only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.protobuf import json_format

from seldon_server.batch.payload import PayloadError
from seldon_server.proto import prediction_pb2


class _Unusual(Exception):
    """The dict holds something the fast path does not build; json_format does it instead."""


def message_from_dict(body: dict[str, Any]) -> Any:
    """A SeldonMessage from its JSON dict; the shapes this client builds skip json_format."""
    try:
        return _fast_message(body)
    except (_Unusual, TypeError, ValueError):
        pass
    try:
        return json_format.ParseDict(body, prediction_pb2.SeldonMessage())
    except (json_format.ParseError, TypeError, ValueError, AttributeError) as exc:
        raise PayloadError(f"not a valid SeldonMessage: {exc}") from None


def feedback_from_dict(body: dict[str, Any]) -> Any:
    """A Feedback message from its JSON dict."""
    try:
        return json_format.ParseDict(body, prediction_pb2.Feedback())
    except (json_format.ParseError, TypeError, ValueError, AttributeError) as exc:
        raise PayloadError(f"not a valid Feedback: {exc}") from None


def response_to_dict(message: Any) -> dict[str, Any]:
    """The proto-JSON dict of a response, fields in proto order (meta before data).

    Equal to json_format.MessageToDict, which costs a tenth of the row budget; the common
    fields are walked directly and anything else is left to json_format.
    """
    return _fields(message, _RESPONSE_FIELDS)


def _fields(message: Any, converters: dict[str, Callable[[Any], Any]]) -> dict[str, Any]:
    """A message's set fields as proto-JSON: those in `converters` directly, others by json_format
    (rare ones, such as status, binData, customData, metrics or tftensor)."""
    out: dict[str, Any] = {}
    for descriptor, value in message.ListFields():
        convert = converters.get(descriptor.name)
        if convert is not None:
            out[descriptor.name] = convert(value)
        else:
            out[descriptor.json_name] = json_format.MessageToDict(message)[descriptor.json_name]
    return out


def _tensor_dict(tensor: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if tensor.shape:
        out["shape"] = list(tensor.shape)
    if tensor.values:
        out["values"] = list(tensor.values)
    return out


def _same(value: Any) -> Any:
    return value


def _value_py(value: Any) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "number_value":
        return value.number_value
    if kind == "string_value":
        return value.string_value
    if kind == "list_value":
        return [_value_py(item) for item in value.list_value.values]
    if kind == "struct_value":
        return {key: _value_py(item) for key, item in value.struct_value.fields.items()}
    if kind == "bool_value":
        return value.bool_value
    return None


_META_FIELDS: dict[str, Callable[[Any], Any]] = {
    "tags": lambda tags: {key: _value_py(item) for key, item in tags.items()},
    "routing": lambda routing: dict(routing.items()),
    "requestPath": lambda path: dict(path.items()),
    "puid": _same,
}
_DATA_FIELDS: dict[str, Callable[[Any], Any]] = {
    "names": list,
    "ndarray": lambda ndarray: [_value_py(item) for item in ndarray.values],
    "tensor": _tensor_dict,
}
_RESPONSE_FIELDS: dict[str, Callable[[Any], Any]] = {
    "meta": lambda meta: _fields(meta, _META_FIELDS),
    "data": lambda data: _fields(data, _DATA_FIELDS),
    "strData": _same,
    "jsonData": _value_py,
}


def _fast_message(body: dict[str, Any]) -> Any:
    message = prediction_pb2.SeldonMessage()
    for key, value in body.items():
        if key == "data" and isinstance(value, dict):
            _fill_data(message.data, value)
        elif key == "meta" and isinstance(value, dict):
            _fill_common_meta(message.meta, value)
        elif key == "strData" and isinstance(value, str):
            message.strData = value
        elif key == "jsonData":
            _set_value(message.jsonData, value)
        else:
            raise _Unusual
    return message


def _fill_data(data: Any, value: dict[str, Any]) -> None:
    data.SetInParent()  # an empty `data` is still a data payload
    for key, item in value.items():
        if key == "names" and isinstance(item, list):
            data.names.extend(item)
        elif key == "ndarray" and isinstance(item, list):
            data.ndarray.SetInParent()
            data.ndarray.extend(item)
        elif key == "tensor" and isinstance(item, dict) and set(item) <= {"shape", "values"}:
            data.tensor.SetInParent()
            data.tensor.shape.extend(item.get("shape", []))
            data.tensor.values.extend(item.get("values", []))
        elif key == "tftensor":
            json_format.ParseDict(item, data.tftensor)
        else:
            raise _Unusual


def _fill_common_meta(meta: Any, value: dict[str, Any]) -> None:
    meta.SetInParent()
    for key, item in value.items():
        if key == "tags" and isinstance(item, dict):
            for name, tag in item.items():
                _set_value(meta.tags[name], tag)
        elif key == "puid" and isinstance(item, str):
            meta.puid = item
        else:
            raise _Unusual


def _set_value(target: Any, value: Any) -> None:
    """Fill a google.protobuf.Value; bool is tested before numbers because it is an int."""
    if value is None:
        target.null_value = 0
    elif isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, int | float):
        target.number_value = value
    elif isinstance(value, str):
        target.string_value = value
    elif isinstance(value, dict):
        target.struct_value.SetInParent()
        target.struct_value.update(value)
    elif isinstance(value, list):
        target.list_value.SetInParent()
        target.list_value.extend(value)
    else:
        raise _Unusual
