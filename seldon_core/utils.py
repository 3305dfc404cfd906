"""`seldon_core.utils` conversion helpers that raw-hook models commonly call."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format

from seldon_server.codecs import proto as proto_codec
from seldon_server.errors import SeldonMicroserviceException
from seldon_server.proto import prediction_pb2


def json_to_seldon_message(message_json: dict[str, Any] | None) -> Any:
    """Parse a SeldonMessage JSON object (protobuf JSON rules)."""
    return _parse(message_json or {}, prediction_pb2.SeldonMessage())


def json_to_feedback(message_json: dict[str, Any]) -> Any:
    """Parse a Feedback JSON object."""
    return _parse(message_json, prediction_pb2.Feedback())


def json_to_seldon_messages(message_json: dict[str, Any]) -> Any:
    """Parse a SeldonMessageList JSON object."""
    return _parse(message_json, prediction_pb2.SeldonMessageList())


def seldon_message_to_json(message_proto: Any) -> dict[str, Any]:
    """A SeldonMessage as a JSON object (protobuf JSON rules)."""
    return json_format.MessageToDict(message_proto)


feedback_to_json = seldon_message_to_json
seldon_messages_to_json = seldon_message_to_json


def get_data_from_proto(request: Any) -> Any:
    """The payload of a SeldonMessage as the high-level hooks receive it."""
    return proto_codec.decode(request).value


def get_meta_from_proto(request: Any) -> dict[str, Any]:
    """The meta of a SeldonMessage as a JSON object."""
    return json_format.MessageToDict(request.meta)


def _parse(message_json: Any, message: Any) -> Any:
    try:
        json_format.ParseDict(message_json, message)
    except json_format.ParseError as exc:
        raise SeldonMicroserviceException(f"Invalid JSON: {exc}") from exc
    return message
