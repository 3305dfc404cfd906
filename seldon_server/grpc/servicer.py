"""One servicer for all seven Seldon gRPC services, over the dispatcher."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import grpc

from seldon_server.codecs import json as json_codec
from seldon_server.codecs import proto as proto_codec
from seldon_server.codecs.message import Reply
from seldon_server.codecs.proto import SerializedRequest, message_puid
from seldon_server.codecs.proto_json import message_json, reply_json, seldon_message_json
from seldon_server.dispatch import Dispatcher
from seldon_server.errors import (
    BadDataError,
    SeldonError,
    as_seldon_error,
    grpc_code_name,
    log_server_error,
)
from seldon_server.load.gate import Gate
from seldon_server.proto import prediction_pb2
from seldon_server.puid import new_puid
from seldon_server.request_log.events import JSON, Payload
from seldon_server.request_log.log import PayloadLog

logger = logging.getLogger(__name__)
CODEC = proto_codec.GRPC_CODEC
PUID_KEY = "seldon-puid"
T = TypeVar("T")


class InvalidMessage(BadDataError):
    """Bytes that are not the declared message (only logged: the call is aborted as before)."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"Invalid message: {problem}")


class SeldonServicer:
    """Generic, Model, Router, Transformer, OutputTransformer, Combiner and Seldon in one object."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        metadata: dict[str, Any] | None,
        payload_log: PayloadLog | None = None,
        gate: Gate | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        self.payload_log = payload_log
        self.gate = gate
        self.metadata = prediction_pb2.SeldonModelMetadata()
        if metadata is not None:
            self.metadata = _metadata_proto(metadata)

    def Predict(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._serve(self.dispatcher.predict, request, context)

    def TransformInput(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._serve(self.dispatcher.transform_input, request, context)

    def TransformOutput(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._serve(self.dispatcher.transform_output, request, context)

    def Route(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._serve(self.dispatcher.route, request, context)

    def Aggregate(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._serve(self.dispatcher.aggregate, request, context)

    def SendFeedback(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._serve(self.dispatcher.send_feedback, request, context)

    def Metadata(self, request: Any, context: grpc.ServicerContext) -> Any:
        # An invalid metadata document answers an empty message, as the original.
        return self.metadata

    def ModelMetadata(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.metadata

    def GraphMetadata(self, request: Any, context: grpc.ServicerContext) -> Any:
        context.abort(
            grpc.StatusCode.UNIMPLEMENTED, "GraphMetadata not available on the Model level."
        )

    def _serve(
        self,
        operation: Callable[[Any, Any], Reply],
        request: Any,
        context: grpc.ServicerContext,
    ) -> Any:
        """Run one operation; the reply is always serialized here (no serializer is registered).

        A SeldonMessage request arrives as its bytes: it is checked before anything else, as a
        deserializer would, and decoded without protobuf when its layout allows (SerializedRequest).
        """
        log = self.payload_log
        if request.__class__ is bytes:
            request = SerializedRequest(request)
            problem = request.check()
            if problem is not None:
                if log is not None:
                    failure = InvalidMessage(problem)
                    _log_call(log, context, request, lambda: _failure_payload(failure))
                abort_undecodable(context, problem)
        try:
            result = gated(self.gate, context, lambda: operation(request, CODEC))
            reply = proto_codec.encode_reply(result)
        except SeldonError as exc:
            error = exc
            log_server_error(logger, error)
        except Exception as exc:
            logger.exception("Unhandled error in gRPC call")
            error = as_seldon_error(exc)
        else:
            if log is not None:
                _log_call(log, context, request, lambda: _reply_payload(result, reply))
            return reply
        if log is not None:
            _log_call(log, context, request, lambda: _failure_payload(error))
        abort_with(context, error)


def gated(gate: Gate | None, context: grpc.ServicerContext, call: Callable[[], T]) -> T:
    """`call()` once admitted, in its turn and by its deadline (the client's, or the request
    timeout's); not run if the client cancelled while it waited."""
    if gate is None:
        return call()
    with gate.admitted():
        deadline = gate.deadline(context.time_remaining())
        return gate.run(call, deadline, lambda: not context.is_active())


def abort_with(context: grpc.ServicerContext, error: SeldonError) -> None:
    """A failure as its gRPC status, the message in the details."""
    code = grpc_code_name(error.status_code, error.grpc_code)
    context.abort(getattr(grpc.StatusCode, code), error.message)


def abort_undecodable(context: grpc.ServicerContext, problem: str) -> None:
    """Bytes that are not the declared message: the client's mistake."""
    context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"Invalid message: {problem}")


# -- request logging: bodies go as protobuf's JSON mapping, converted in a sender thread ---------

# What a request that is not SeldonMessage bytes arrives as, and its JSON printer.
_REQUEST_JSON: dict[type, Any] = {
    kind: functools.partial(message_json, kind)
    for kind in (
        prediction_pb2.SeldonMessage,
        prediction_pb2.Feedback,
        prediction_pb2.SeldonMessageList,
    )
}


def _log_call(
    log: PayloadLog,
    context: grpc.ServicerContext,
    request: Any,
    response: Callable[[], Payload],
) -> None:
    """The call to the request log (feedback alone; else with `response()`); logging must never
    cost a call its answer."""
    try:
        puid = metadata_puid(context) or message_puid(request) or new_puid()
        if isinstance(request, SerializedRequest):
            body: Payload = (request.data, JSON, seldon_message_json)
        else:
            body = (request, JSON, _REQUEST_JSON[request.__class__])
        if request.__class__ is prediction_pb2.Feedback:
            log.feedback(puid, body)
        else:
            log.exchange(puid, body, response())
    except Exception:
        logger.warning("Request log: cannot log a gRPC call", exc_info=True)


def _failure_payload(error: SeldonError) -> Payload:
    return json_codec.status_body(error), JSON, None


def _reply_payload(result: Reply, reply: bytes) -> Payload:
    """The common reply printed from the message (cheaper than from its bytes), else the bytes
    converted in a sender thread."""
    printed = reply_json(result)
    return (reply, JSON, seldon_message_json) if printed is None else (printed, JSON, None)


def metadata_puid(context: grpc.ServicerContext) -> str:
    """The call's seldon-puid metadata, or "" (the caller falls back to the message's own)."""
    for key, value in context.invocation_metadata() or ():
        if key == PUID_KEY and value:
            return str(value)
    return ""


def _metadata_proto(metadata: dict[str, Any]) -> Any:
    from seldon_server.metadata import metadata_to_proto

    return metadata_to_proto(metadata)
