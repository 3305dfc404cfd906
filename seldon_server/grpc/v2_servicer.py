"""The Open Inference Protocol's gRPC service (inference.GRPCInferenceService) on our port."""

from __future__ import annotations

import logging
from typing import Any

import grpc

from seldon_server.codecs import v2_proto
from seldon_server.errors import SeldonError, as_seldon_error
from seldon_server.grpc.servicer import abort_with, gated
from seldon_server.inference import InferenceService
from seldon_server.load.gate import Gate
from seldon_server.proto import grpc_predict_v2_pb2 as pb

logger = logging.getLogger(__name__)
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["GRPCInferenceService"].full_name


class InferenceServicer:
    """Health, metadata and ModelInfer over InferenceService; failures as gRPC status codes."""

    def __init__(self, service: InferenceService, gate: Gate | None = None) -> None:
        self.service = service
        self.gate = gate

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
            self.service.check(request.model_name, request.model_version or None)
            inference = v2_proto.decode_infer_request(request)
            response = gated(
                self.gate,
                context,
                lambda: self.service.infer(
                    request.model_name, request.model_version or None, inference
                ),
            )
            return v2_proto.encode_infer_response(response, raw=v2_proto.uses_raw(request))

        return self._answer(context, infer)

    def _answer(self, context: grpc.ServicerContext, call: Any) -> Any:
        try:
            return call()
        except SeldonError as exc:
            error = exc
        except Exception as exc:
            error = as_seldon_error(exc)
        if error.status_code >= 500:
            logger.error("%s: %s", error.reason, error.message, exc_info=error.__cause__ or error)
        abort_with(context, error)
        return None  # unreachable: abort raises
