"""One servicer for all seven Seldon gRPC services, over the dispatcher."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import grpc

from seldon_server.codecs import proto as proto_codec
from seldon_server.codecs.message import Reply
from seldon_server.codecs.proto import SerializedRequest
from seldon_server.dispatch import Dispatcher
from seldon_server.errors import SeldonError, as_seldon_error, grpc_code_name
from seldon_server.proto import prediction_pb2

logger = logging.getLogger(__name__)
CODEC = proto_codec.GRPC_CODEC


class SeldonServicer:
    """Generic, Model, Router, Transformer, OutputTransformer, Combiner and Seldon in one object."""

    def __init__(self, dispatcher: Dispatcher, metadata: dict[str, Any] | None) -> None:
        self.dispatcher = dispatcher
        self.metadata = prediction_pb2.SeldonModelMetadata()
        if metadata is not None:
            self.metadata = _metadata_proto(metadata)

    def Predict(self, request: Any, context: grpc.ServicerContext) -> Any:
        return _serve(self.dispatcher, self.dispatcher.predict, request, context)

    def TransformInput(self, request: Any, context: grpc.ServicerContext) -> Any:
        return _serve(self.dispatcher, self.dispatcher.transform_input, request, context)

    def TransformOutput(self, request: Any, context: grpc.ServicerContext) -> Any:
        return _serve(self.dispatcher, self.dispatcher.transform_output, request, context)

    def Route(self, request: Any, context: grpc.ServicerContext) -> Any:
        return _serve(self.dispatcher, self.dispatcher.route, request, context)

    def Aggregate(self, request: Any, context: grpc.ServicerContext) -> Any:
        return _serve(self.dispatcher, self.dispatcher.aggregate, request, context)

    def SendFeedback(self, request: Any, context: grpc.ServicerContext) -> Any:
        return _serve(self.dispatcher, self.dispatcher.send_feedback, request, context)

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
    dispatcher: Dispatcher,
    operation: Callable[[Any, Any], Reply],
    request: Any,
    context: grpc.ServicerContext,
) -> Any:
    """Run one operation; the reply is always serialized here (no serializer is registered).

    A SeldonMessage request arrives as its bytes: it is checked before anything else, as a
    deserializer would, and decoded without protobuf when its layout allows (SerializedRequest).
    """
    if request.__class__ is bytes:
        request = SerializedRequest(request)
        problem = request.check()
        if problem is not None:
            abort_undecodable(context, problem)
    try:
        return proto_codec.encode_reply(operation(request, CODEC))
    except SeldonError as exc:
        error = exc
        if error.status_code >= 500:
            logger.error("%s: %s", error.reason, error.message, exc_info=error.__cause__ or error)
    except Exception as exc:
        logger.exception("Unhandled error in gRPC call")
        error = as_seldon_error(exc)
    context.abort(getattr(grpc.StatusCode, grpc_code_name(error.status_code)), error.message)


def abort_undecodable(context: grpc.ServicerContext, problem: str) -> None:
    """Bytes that are not the declared message: the client's mistake."""
    context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"Invalid message: {problem}")


def _metadata_proto(metadata: dict[str, Any]) -> Any:
    from seldon_server.metadata import metadata_to_proto

    return metadata_to_proto(metadata)
