"""A gRPC server process: one of GRPC_WORKERS sharing the port through SO_REUSEPORT.

grpc is imported inside the child only: its core must never be initialised before a fork.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any, Protocol

from seldon_server.serving.exit_codes import ExitCode
from seldon_server.serving.process import wait_for_stop
from seldon_server.serving.services import (
    ModelLoadError,
    ServingPlan,
    address,
    load_model,
    log_load_failure,
    start_services,
    stop_services,
)

logger = logging.getLogger(__name__)


class RequestObserver(Protocol):
    """Where a served call is counted (PrometheusRecorder in production)."""

    def observe_request(self, method: str, code: int | str, seconds: float) -> None: ...


def serve(plan: ServingPlan, index: int) -> int:
    """Serve until SIGTERM, then drain in-flight calls for up to the grace period.

    The server listens before load() so that health checks can answer NOT_SERVING (and calls
    UNAVAILABLE) while the model loads; it reports SERVING once load() has returned.
    """
    from seldon_server.grpc.server import GrpcOptions, build_server

    settings = plan.settings
    services = start_services(plan)
    where = address(settings.bind_address, plan.grpc_port)
    options = GrpcOptions(
        address=where,
        threads=settings.grpc_threads,
        max_message_size=settings.grpc_max_message_size,
        reuse_port=True,
        metadata=plan.metadata,
        interceptors=(make_interceptor(services.recorder, services.tracer),),
    )
    server = build_server(services.dispatcher, options)
    server.server.start()
    try:
        load_model(plan.model, settings.interface_name)
    except ModelLoadError as exc:
        log_load_failure(exc, plan.first_failure)
        server.server.stop(None)
        return ExitCode.LOAD_FAILED
    server.mark_serving()
    logger.info("gRPC server %d serving on %s with %d threads", index, where, settings.grpc_threads)
    wait_for_stop()
    logger.info(
        "gRPC server %d stopping: draining in-flight calls for up to %.1fs", index, plan.grace
    )
    server.mark_not_serving()
    server.server.stop(plan.grace).wait(plan.grace + 5)
    stop_services(services)
    return ExitCode.OK


def make_interceptor(recorder: RequestObserver, tracer: Any) -> Any:
    """A server interceptor timing every unary call (and tracing it when `tracer` is set)."""
    import grpc

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
