"""The Open Inference Protocol's gRPC service (inference.GRPCInferenceService) on our port."""

from __future__ import annotations

import functools
import logging
from typing import Any

import grpc

from seldon_server.codecs import v2_proto
from seldon_server.codecs.proto_json import message_json
from seldon_server.codecs.v2_json import error_body
from seldon_server.errors import as_seldon_error, log_server_error
from seldon_server.grpc.servicer import abort_with, gated, metadata_puid
from seldon_server.inference import InferenceService
from seldon_server.load.gate import Gate
from seldon_server.proto import grpc_predict_v2_pb2 as pb
from seldon_server.puid import new_puid
from seldon_server.request_log.events import JSON, Payload
from seldon_server.request_log.log import PayloadLog

logger = logging.getLogger(__name__)


SERVICE = pb.DESCRIPTOR.services_by_name["GRPCInferenceService"]
SERVICE_NAME = SERVICE.full_name


class InferenceServicer:
    """Health, metadata and ModelInfer over InferenceService; failures as gRPC status codes."""

    def __init__(
        self,
        service: InferenceService,
        gate: Gate | None = None,
        payload_log: PayloadLog | None = None,
    ) -> None:
        self.service = service
        self.gate = gate
        self.payload_log = payload_log

    def ServerLive(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.ServerLiveResponse(live=True)

    def ServerReady(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.ServerReadyResponse(ready=self.service.ready)

    def ModelReady(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._answer(
            context,
            lambda: pb.ModelReadyResponse(
                ready=self.service.model_ready(request.name, request.version or None)
            ),
        )

    def ServerMetadata(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.ServerMetadataResponse(**self.service.server_metadata())

    def ModelMetadata(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._answer(
            context,
            lambda: pb.ModelMetadataResponse(
                **self.service.model_metadata(request.name, request.version or None)
            ),
        )

    def ModelInfer(self, request: Any, context: grpc.ServicerContext) -> Any:
        def infer() -> Any:
            name, version = request.model_name, request.model_version or None
            self.service.check(name, version)
            response = gated(
                self.gate,
                context,
                lambda: self.service.infer(name, version, v2_proto.decode_infer_request(request)),
            )
            reply = v2_proto.encode_infer_response(response, raw=v2_proto.uses_raw(request))
            if self.payload_log is not None:
                self._log(context, request, (reply, JSON, _RESPONSE_JSON))
            return reply

        return self._answer(context, infer, request)

    def _answer(self, context: grpc.ServicerContext, call: Any, logged: Any = None) -> Any:
        try:
            return call()
        except Exception as exc:
            error = as_seldon_error(exc)
        if logged is not None and self.payload_log is not None:
            self._log(context, logged, (error_body(error.message), JSON, None))
        log_server_error(logger, error)
        abort_with(context, error)
        return None  # unreachable: abort raises

    def _log(self, context: grpc.ServicerContext, request: Any, response: Payload) -> None:
        """The call to the request log as the JSON mapping of its messages (printed in a sender
        thread); logging must never cost a call its answer."""
        assert self.payload_log is not None
        try:
            puid = metadata_puid(context) or request.id or new_puid()
            self.payload_log.exchange(puid, (request, JSON, _REQUEST_JSON), response)
        except Exception:
            logger.warning("Request log: cannot log a V2 gRPC call", exc_info=True)


_REQUEST_JSON = functools.partial(message_json, pb.ModelInferRequest)
_RESPONSE_JSON = functools.partial(message_json, pb.ModelInferResponse)
