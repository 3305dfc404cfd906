"""The floor apps: the least a Flask view and a grpcio servicer can do on the same transports."""

from __future__ import annotations

from concurrent import futures
from typing import Any

import grpc
from flask import Flask, Response, request

from seldon_server.proto import prediction_pb2_grpc

PREDICT_PATH = "/api/v1.0/predictions"


def flask_floor(body: bytes) -> Flask:
    """One POST route that reads the request bytes (as any server must) and returns `body`."""
    app = Flask(__name__)

    def predictions() -> Response:
        request.get_data()  # drain the socket, so closing the connection never resets it
        return Response(body, 200, mimetype="application/json")

    app.add_url_rule(PREDICT_PATH, "predictions", predictions, methods=["POST"])
    return app


class EchoModel(prediction_pb2_grpc.ModelServicer):  # type: ignore[misc]
    """seldon.protos.Model/Predict answering its request unchanged (other methods unimplemented)."""

    def Predict(self, request: Any, context: grpc.ServicerContext) -> Any:
        return request


def grpc_floor(address: str, threads: int) -> grpc.Server:
    """A bound, unstarted grpcio server with the echo servicer, configured like ours."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=threads), options=[("grpc.so_reuseport", 1)]
    )
    prediction_pb2_grpc.add_ModelServicer_to_server(EchoModel(), server)
    if server.add_insecure_port(address) == 0:
        raise OSError(f"cannot bind gRPC address {address}")
    return server


def flask_echo() -> Flask:
    """The V2 floor over Flask: every infer POST answered with its own body (an identity reply
    is about the request's size), plus the readiness route the benchmark polls."""
    app = Flask(__name__)

    def infer(name: str) -> Response:
        return Response(request.get_data(), 200, mimetype=request.mimetype or "application/json")

    def ready() -> Response:
        return Response(b"", 200)

    app.add_url_rule("/v2/models/<name>/infer", "infer", infer, methods=["POST"])
    app.add_url_rule("/v2/health/ready", "ready", ready, methods=["GET"])
    return app


def grpc_echo(address: str, threads: int) -> grpc.Server:
    """The V2 floor over grpcio: ModelInfer answers its request bytes unparsed, same pool."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=threads), options=[("grpc.so_reuseport", 1)]
    )
    echo = grpc.unary_unary_rpc_method_handler(lambda request, context: request)
    service = grpc.method_handlers_generic_handler(
        "inference.GRPCInferenceService", {"ModelInfer": echo}
    )
    server.add_generic_rpc_handlers((service,))
    if server.add_insecure_port(address) == 0:
        raise OSError(f"cannot bind gRPC address {address}")
    return server
