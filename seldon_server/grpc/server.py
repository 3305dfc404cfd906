"""Building a gRPC server: the Seldon services, reflection, health, message-size limits."""

from __future__ import annotations

from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import message as protobuf_message
from google.protobuf import message_factory
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from seldon_server.codecs.proto import parse_problem
from seldon_server.dispatch import Dispatcher
from seldon_server.grpc.servicer import SeldonServicer, abort_undecodable
from seldon_server.grpc.v2_servicer import SERVICE as V2_SERVICE
from seldon_server.grpc.v2_servicer import SERVICE_NAME as V2_SERVICE_NAME
from seldon_server.grpc.v2_servicer import InferenceServicer
from seldon_server.inference import InferenceService
from seldon_server.load.gate import Gate
from seldon_server.proto import prediction_pb2
from seldon_server.request_log.log import PayloadLog

SERVICES = ("Generic", "Model", "Router", "Transformer", "OutputTransformer", "Combiner", "Seldon")
SELDON_MESSAGE = prediction_pb2.SeldonMessage.DESCRIPTOR.full_name
SERVICE_NAMES = tuple(prediction_pb2.DESCRIPTOR.services_by_name[s].full_name for s in SERVICES)


@dataclass(frozen=True)
class GrpcOptions:
    address: str = "0.0.0.0:5000"
    threads: int = 1
    max_message_size: int | None = None
    reuse_port: bool = True
    metadata: dict[str, Any] | None = None
    interceptors: tuple[grpc.ServerInterceptor, ...] = ()  # tracing, request metrics
    payload_log: PayloadLog | None = None  # request logging
    gate: Gate | None = None  # admission and deadlines; `threads` then includes its waiting room
    inference: InferenceService | None = None  # the V2 service, when set


@dataclass
class GrpcServer:
    server: grpc.Server
    health: health.HealthServicer
    port: int
    services: tuple[str, ...] = SERVICE_NAMES  # the served names health reports on

    def mark_serving(self) -> None:
        """Report SERVING on the health service once the model has loaded."""
        for name in ("", *self.services):
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)

    def mark_not_serving(self) -> None:
        self.health.enter_graceful_shutdown()


def build_server(dispatcher: Dispatcher, options: GrpcOptions) -> GrpcServer:
    """A bound, not yet started server; health reports NOT_SERVING until mark_serving()."""
    grpc_options: list[tuple[str, Any]] = [("grpc.so_reuseport", 1 if options.reuse_port else 0)]
    if options.max_message_size:
        size = options.max_message_size
        grpc_options += [
            ("grpc.max_message_length", size),
            ("grpc.max_send_message_length", size),
            ("grpc.max_receive_message_length", size),
        ]
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=options.threads),
        options=grpc_options,
        interceptors=options.interceptors,
    )
    servicer = SeldonServicer(dispatcher, options.metadata, options.payload_log, options.gate)
    _register(server, servicer)
    names = SERVICE_NAMES
    if options.inference is not None:
        v2 = InferenceServicer(options.inference, options.gate, options.payload_log)
        _register_service(server, V2_SERVICE, v2)
        names = (*names, V2_SERVICE_NAME)
    health_servicer = health.HealthServicer()
    for name in ("", *names):
        health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*names, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    port = server.add_insecure_port(options.address)
    if port == 0:
        raise OSError(f"cannot bind gRPC address {options.address}")
    return GrpcServer(server, health_servicer, port, names)


class _Undecodable:
    """Stands in for a request whose bytes are not the declared message."""

    __slots__ = ("error",)

    def __init__(self, error: str) -> None:
        self.error = error


def _tolerant(parse: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    # grpcio answers a deserializer exception with INTERNAL; bad bytes are the client's mistake.
    def deserialize(data: bytes) -> Any:
        try:
            return parse(data)
        except protobuf_message.DecodeError as exc:
            return _Undecodable(parse_problem(exc))

    return deserialize


def _guarded(method: Callable[[Any, grpc.ServicerContext], Any]) -> Callable[..., Any]:
    def handle(request: Any, context: grpc.ServicerContext) -> Any:
        if request.__class__ is _Undecodable:
            abort_undecodable(context, request.error)
        return method(request, context)

    return handle


def _method_handler(behaviour: Callable[..., Any], method: Any) -> grpc.RpcMethodHandler:
    """SeldonMessages go in and out as bytes: the servicer reads and writes them itself (most
    without protobuf objects); other messages are parsed and serialized by protobuf."""
    takes_bytes = method.input_type.full_name == SELDON_MESSAGE
    returns_bytes = method.output_type.full_name == SELDON_MESSAGE
    parse = message_factory.GetMessageClass(method.input_type).FromString
    serialize = message_factory.GetMessageClass(method.output_type).SerializeToString
    return grpc.unary_unary_rpc_method_handler(
        behaviour if takes_bytes else _guarded(behaviour),
        request_deserializer=None if takes_bytes else _tolerant(parse),
        response_serializer=None if returns_bytes else serialize,
    )


def _register(server: grpc.Server, servicer: SeldonServicer) -> None:
    """Every method of the seven services, typed from the proto descriptor, on one servicer."""
    for service_name in SERVICES:
        _register_service(
            server, prediction_pb2.DESCRIPTOR.services_by_name[service_name], servicer
        )


def _register_service(server: grpc.Server, service: Any, servicer: Any) -> None:
    """A service's methods on `servicer`, with our (de)serializers: bytes that are not the
    declared message are INVALID_ARGUMENT, never grpc's own INTERNAL and traceback."""
    handlers = {
        method.name: _method_handler(getattr(servicer, method.name), method)
        for method in service.methods
    }
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(service.full_name, handlers),)
    )
    server.add_registered_method_handlers(service.full_name, handlers)
