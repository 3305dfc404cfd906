"""Building a gRPC server: the Seldon services, reflection, health, message-size limits."""

from __future__ import annotations

from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from seldon_server.dispatch import Dispatcher
from seldon_server.grpc.servicer import SeldonServicer
from seldon_server.proto import prediction_pb2, prediction_pb2_grpc

SERVICES = ("Generic", "Model", "Router", "Transformer", "OutputTransformer", "Combiner", "Seldon")
SERVICE_NAMES = tuple(prediction_pb2.DESCRIPTOR.services_by_name[s].full_name for s in SERVICES)


@dataclass(frozen=True)
class GrpcOptions:
    address: str = "0.0.0.0:5000"
    threads: int = 1
    max_message_size: int | None = None
    reuse_port: bool = True
    metadata: dict[str, Any] | None = None
    interceptors: tuple[grpc.ServerInterceptor, ...] = ()  # tracing, request metrics


@dataclass
class GrpcServer:
    server: grpc.Server
    health: health.HealthServicer
    port: int

    def mark_serving(self) -> None:
        """Report SERVING on the health service once the model has loaded."""
        for name in ("", *SERVICE_NAMES):
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
    servicer = SeldonServicer(dispatcher, options.metadata)
    for service in SERVICES:
        getattr(prediction_pb2_grpc, f"add_{service}Servicer_to_server")(servicer, server)
    health_servicer = health.HealthServicer()
    for name in ("", *SERVICE_NAMES):
        health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    port = server.add_insecure_port(options.address)
    if port == 0:
        raise OSError(f"cannot bind gRPC address {options.address}")
    return GrpcServer(server, health_servicer, port)
