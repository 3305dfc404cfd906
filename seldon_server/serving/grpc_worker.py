"""A gRPC server process: one of GRPC_WORKERS sharing the port through SO_REUSEPORT."""

from __future__ import annotations

import logging
import time

from seldon_server.serving.exit_codes import ExitCode
from seldon_server.serving.process import wait_for_stop
from seldon_server.serving.services import (
    ModelLoadError,
    ServingPlan,
    address,
    limit_unbatched_calls,
    load_model,
    log_load_failure,
    make_inference,
    start_services,
    stop_services,
)

# grpc is imported inside the child only: its core must never be initialised before a fork.

logger = logging.getLogger(__name__)


def serve(plan: ServingPlan, index: int) -> int:
    """Serve until SIGTERM, then drain in-flight calls for up to the grace period.

    The server listens before load() so that health checks can answer NOT_SERVING (and calls
    UNAVAILABLE) while the model loads; it reports SERVING once load() has returned.
    """
    from seldon_server.grpc.interceptor import make_interceptor
    from seldon_server.grpc.server import GrpcOptions, build_server
    from seldon_server.load.gate import grpc_plan, make_gate

    settings = plan.settings
    services = start_services(plan)
    where = address(settings.bind_address, plan.grpc_port)
    gate_plan = grpc_plan(settings, services.dispatcher.batcher is not None)
    limit_unbatched_calls(services.dispatcher, settings.grpc_threads)
    options = GrpcOptions(
        address=where,
        threads=gate_plan.threads,
        max_message_size=settings.grpc_max_message_size,
        reuse_port=True,
        metadata=plan.metadata,
        interceptors=(make_interceptor(services.recorder, services.tracer),),
        payload_log=services.payload_log,
        gate=make_gate(gate_plan, "grpc"),
        inference=make_inference(plan, services.dispatcher),
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
    logger.info(
        "gRPC server %d serving on %s, %d calls at once, %s admitted",
        index, where, gate_plan.slots, gate_plan.limit or "all",
    )  # fmt: skip
    wait_for_stop()
    logger.info(
        "gRPC server %d stopping: draining in-flight calls for up to %.1fs", index, plan.grace
    )
    server.mark_not_serving()
    stopping = time.monotonic()
    server.server.stop(plan.grace).wait(plan.grace + 5)
    stop_services(services, max(0.0, plan.grace - (time.monotonic() - stopping)))
    return ExitCode.OK
