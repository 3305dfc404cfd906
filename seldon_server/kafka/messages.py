"""One Kafka record through the dispatcher: value and headers in, response value and headers out."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import DecodeError

from seldon_server.codecs import json as json_codec
from seldon_server.codecs import proto as proto_codec
from seldon_server.codecs.proto_json import message_json, seldon_message_json
from seldon_server.dispatch import SERVICE_OPERATION, Dispatcher
from seldon_server.errors import BadDataError
from seldon_server.proto import prediction_pb2
from seldon_server.puid import new_puid
from seldon_server.request_log.events import JSON, Convert, Payload

PUID_HEADER = "Seldon-Puid"
PROTO_NAME_HEADER = "proto-name"
METHOD_HEADER = "seldon-method"  # the executor's per-message operation, a REST path
ERROR_HEADER = "seldon-error"
JSON_TYPE = b"application/json"

PATH_OPERATION = {
    "/predict": "predict",
    "/api/v1.0/predictions": "predict",
    "/transform-input": "transform_input",
    "/transform-output": "transform_output",
    "/route": "route",
    "/aggregate": "aggregate",
    "/send-feedback": "send_feedback",
    "/api/v1.0/feedback": "send_feedback",
}
# The protobuf message each operation takes, as its `proto-name` header names it.
_PROTO_REQUEST: dict[str, Any] = {
    "aggregate": prediction_pb2.SeldonMessageList,
    "send_feedback": prediction_pb2.Feedback,
}
_SELDON_MESSAGE = "seldon.protos.SeldonMessage"
_SELDON_MESSAGE_NAME = _SELDON_MESSAGE.encode()

Headers = list[tuple[str, str | bytes | None]]


@dataclass(frozen=True, slots=True)
class Reply:
    """What goes to the output topic for one input record."""

    value: bytes
    headers: Headers
    puid: str


def header_map(headers: Sequence[tuple[str, bytes | None]] | None) -> dict[str, bytes]:
    """Headers by lower-case name; the first value of a repeated header wins."""
    found: dict[str, bytes] = {}
    for name, value in headers or ():
        found.setdefault(name.lower(), value or b"")
    return found


class RecordHandler:
    """Runs records through one dispatcher operation, in the record's own encoding."""

    def __init__(self, dispatcher: Dispatcher, service_type: str) -> None:
        self.dispatcher = dispatcher
        self.default_operation = SERVICE_OPERATION.get(service_type, "predict")

    def operation(self, headers: dict[str, bytes]) -> str:
        path = headers.get(METHOD_HEADER)
        if path is None:
            return self.default_operation
        name = PATH_OPERATION.get(path.decode("utf-8", "replace"))
        if name is None:
            raise BadDataError(
                f"Unknown {METHOD_HEADER} {path!r}: one of {', '.join(PATH_OPERATION)}"
            )
        return name

    def handle(self, value: bytes | None, headers: dict[str, bytes]) -> Reply:
        """The reply for one record; a SeldonError (or the user's exception) for a failure."""
        operation, codec, request, puid = self._request(value, headers)
        result = getattr(self.dispatcher, operation)(request, codec)
        return _render(codec, operation, result, puid)

    def handle_many(
        self, records: list[tuple[bytes | None, dict[str, bytes]]], max_size: int
    ) -> list[Reply | Exception]:
        """Replies (or failures) for records in hand: predict records in batched calls of up to
        `max_size` (JSON and protobuf records apart), the others one by one."""
        results: list[Reply | Exception] = [_PENDING] * len(records)
        batched: dict[Any, list[tuple[int, Any, str]]] = {}
        for index, (value, headers) in enumerate(records):
            try:
                operation, codec, request, puid = self._request(value, headers)
                if operation == "predict":
                    batched.setdefault(codec, []).append((index, request, puid))
                    continue
                result = getattr(self.dispatcher, operation)(request, codec)
                results[index] = _render(codec, operation, result, puid)
            except Exception as exc:
                results[index] = exc
        for codec, items in batched.items():
            answers = self.dispatcher.predict_many([item[1] for item in items], codec, max_size)
            for (index, _, puid), answer in zip(items, answers, strict=True):
                if isinstance(answer, Exception):
                    results[index] = answer
                    continue
                try:
                    results[index] = _render(codec, "predict", answer, puid)
                except Exception as exc:
                    results[index] = exc
        return results

    def _request(self, value: bytes | None, headers: dict[str, bytes]) -> tuple[str, Any, Any, str]:
        """The record's operation, codec, decoded request and puid."""
        puid = headers.get(PUID_HEADER.lower(), b"").decode("utf-8", "replace") or ""
        operation = self.operation(headers)
        proto_name = headers.get(PROTO_NAME_HEADER)
        if proto_name is not None or b"protobuf" in headers.get("content-type", b""):
            request, puid = _proto_request(operation, proto_name, value or b"", puid)
            return operation, proto_codec.GRPC_CODEC, request, puid
        request, puid = _json_request(operation, value or b"", headers, puid)
        return operation, json_codec.REST_CODEC, request, puid

    def logged_payloads(
        self, value: bytes, headers: dict[str, bytes]
    ) -> tuple[Payload, bool, tuple[str, Convert | None]]:
        """How a record is logged: its payload, whether it is feedback, and how its reply is
        (content type, conversion). Protobuf records are logged as their JSON mapping."""
        try:
            operation = self.operation(headers)
        except BadDataError:
            operation = self.default_operation
        feedback = operation == "send_feedback"
        if headers.get(PROTO_NAME_HEADER) is None and b"protobuf" not in headers.get(
            "content-type", b""
        ):
            content_type = headers.get("content-type", JSON_TYPE).decode("utf-8", "replace")
            return (value, content_type, None), feedback, (JSON, None)
        message_type = _PROTO_REQUEST.get(operation, prediction_pb2.SeldonMessage)
        convert: Convert = seldon_message_json
        if message_type is not prediction_pb2.SeldonMessage:
            convert = functools.partial(message_json, message_type)
        return (value, JSON, convert), feedback, (JSON, seldon_message_json)


_PENDING = Exception("not answered")  # a placeholder, replaced for every record


def _render(codec: Any, operation: str, result: Any, puid: str) -> Reply:
    """The reply record in the request's own encoding, with the puid in its headers."""
    if codec is proto_codec.GRPC_CODEC:
        body = proto_codec.encode_reply(result)
        out = [(PROTO_NAME_HEADER, _SELDON_MESSAGE_NAME)]
    else:
        body = json_codec.render_reply(result, feedback=operation == "send_feedback")
        out = [("Content-Type", JSON_TYPE)]
    return Reply(body, [(PUID_HEADER, puid.encode()), *out], puid)


def _json_request(
    operation: str, value: bytes, headers: dict[str, bytes], puid: str
) -> tuple[Any, str]:
    content_type = headers.get("content-type", JSON_TYPE)
    if b"json" not in content_type:
        raise BadDataError(f"Unsupported Content-Type {content_type.decode(errors='replace')!r}")
    body = json_codec.loads(value)
    if operation == "send_feedback":
        feedback = json_codec.parse_feedback(body)
        return feedback, _with_proto_puid(feedback.request, puid)
    if operation == "aggregate" or not isinstance(body, dict):
        return body, puid or new_puid()  # no single meta to carry it; the reply's headers do
    meta = body.get("meta")
    if meta is None:
        meta = body["meta"] = {}
    if isinstance(meta, dict):
        if puid:
            meta["puid"] = puid
        else:
            given = meta.get("puid")
            puid = meta["puid"] = given if isinstance(given, str) and given else new_puid()
    return body, puid or new_puid()


def _proto_request(
    operation: str, proto_name: bytes | None, value: bytes, puid: str
) -> tuple[Any, str]:
    message_type: Any = _PROTO_REQUEST.get(operation, prediction_pb2.SeldonMessage)
    expected = message_type.DESCRIPTOR.full_name
    if proto_name is not None and proto_name.decode("utf-8", "replace") != expected:
        raise BadDataError(f"{PROTO_NAME_HEADER} {proto_name!r} does not match {expected}")
    try:
        request = message_type.FromString(value)
    except DecodeError as exc:
        raise BadDataError(f"Invalid message: {proto_codec.parse_problem(exc)}") from exc
    if operation == "send_feedback":
        return request, _with_proto_puid(request.request, puid)
    if operation == "aggregate":
        return request, puid or new_puid()
    return request, _with_proto_puid(request, puid)


def _with_proto_puid(message: Any, puid: str) -> str:
    """The header's puid, else the message's own, else a new one; written into its meta."""
    puid = puid or message.meta.puid or new_puid()
    message.meta.puid = puid
    return puid
