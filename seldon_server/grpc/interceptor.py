"""The gRPC server interceptor that counts and times every unary call, and traces it if on."""

from __future__ import annotations

import contextlib
import time
from typing import Any, Protocol

import grpc


class RequestObserver(Protocol):
    """Where a served call is counted (PrometheusRecorder in production)."""

    def observe_request(self, method: str, code: int | str, seconds: float) -> None: ...


def make_interceptor(recorder: RequestObserver, tracer: Any) -> Any:
    """A server interceptor timing every unary call (and tracing it when `tracer` is set)."""

    class ObservingInterceptor(grpc.ServerInterceptor):
        def __init__(self) -> None:
            # One observed handler per served method, built on its first call (a fixed set:
            # unknown method names find no handler and are not kept).
            self.observed: dict[str, Any] = {}

        def intercept_service(self, continuation: Any, details: Any) -> Any:
            method = details.method
            observed = self.observed.get(method)
            if observed is not None:
                return observed
            handler = continuation(details)
            if handler is None or handler.unary_unary is None:
                return handler  # streaming: the health Watch and reflection, not timed
            observed = self.observed[method] = grpc.unary_unary_rpc_method_handler(
                _observed(handler.unary_unary, method, recorder, tracer),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
            return observed

    return ObservingInterceptor()


def _observed(behaviour: Any, method: str, recorder: RequestObserver, tracer: Any) -> Any:
    """`behaviour`, counted and timed under its full name, e.g. /seldon.protos.Model/Predict."""

    def call(request: Any, context: Any) -> Any:
        started = time.perf_counter()
        code = "OK"
        try:
            with _server_span(tracer, method, context):
                return behaviour(request, context)
        except BaseException:
            # context.abort() sets the code before raising; anything else is UNKNOWN to grpc.
            status = context.code()
            code = status.name if status is not None else "UNKNOWN"
            raise
        finally:
            recorder.observe_request(method, code, time.perf_counter() - started)

    return call


def _server_span(tracer: Any, method: str, context: Any) -> Any:
    if tracer is None:
        return contextlib.nullcontext()
    from seldon_server import tracing

    return tracing.server_span(tracer, method, context.invocation_metadata(), {"component": "grpc"})
