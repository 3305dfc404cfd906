"""`run()`: the process model in one place, from the user object to a stopped server."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from functools import partial
from typing import Any

from seldon_server import metrics
from seldon_server.logging_setup import filter_access_logs
from seldon_server.metadata import build_metadata
from seldon_server.model.adapter import UserModel
from seldon_server.serving import grpc_worker, kafka_worker, metrics_server, rest_server
from seldon_server.serving.exit_codes import ExitCode
from seldon_server.serving.process import Child
from seldon_server.serving.services import (
    ModelLoadError,
    ServingPlan,
    address,
    load_model,
    log_load_failure,
)
from seldon_server.serving.supervisor import Supervisor, child_grace
from seldon_server.settings import Settings

logger = logging.getLogger(__name__)


def run(settings: Settings, user_object: Any) -> int:
    """Serve `user_object` until SIGTERM/SIGINT or a failure; returns the exit code.

    This process becomes the supervisor. It forks, in this order: the metrics server,
    GRPC_WORKERS gRPC servers (none when 0) sharing the gRPC port through SO_REUSEPORT, the
    REST server (the Gunicorn master, which forks GUNICORN_WORKERS workers, or Flask's
    development server with SELDON_DEBUG) and, when the model has one, a process running its
    custom_service(). Each serving process runs load() once after fork, unless --preload ran it
    here before forking. grpc is never imported here.

    A serving process that dies unexpectedly takes the whole server down with a non-zero exit
    (4 when load() failed, else 1), so the orchestrator restarts a known-good whole rather
    than a server that silently lost a transport; Gunicorn still replaces its own workers
    (recycling, crashes, timeouts). A custom_service() that returns is not a failure.

    On SIGTERM or SIGINT every child is told to stop: REST and gRPC stop accepting and drain
    in-flight requests for the grace period (--graceful-timeout, default 30 s, less a margin),
    and whatever remains at the deadline is SIGKILLed. Exit 0 when everything stopped in time.
    Children are SIGKILLed by the kernel should this process die abruptly (Linux).
    """
    if settings.tracing:
        settings = _tracing_or_off(settings)
    model = UserModel(user_object)
    try:
        init_metadata = model.optional("init_metadata", None)
    except Exception as exc:
        logger.error(
            "%s.init_metadata() failed: %s: %s", settings.interface_name, type(exc).__name__, exc
        )
        return ExitCode.USER_MODEL
    metadata = build_metadata(
        init_metadata, settings.model_metadata, settings.predictive_unit_image
    )
    if settings.filter_metrics_access_logs:
        filter_access_logs(settings.metrics_endpoint)  # before fork: every child inherits it
    with _metrics_dir():
        if settings.preload:
            try:
                load_model(model, settings.interface_name)
            except ModelLoadError as exc:
                log_load_failure(exc)
                return ExitCode.LOAD_FAILED
            logger.info("Model loaded once before forking (--preload)")
        return _serve(settings, model, metadata.value)


def _tracing_or_off(settings: Settings) -> Settings:
    """Tracing that cannot start is switched off with one error line; serving goes on."""
    from seldon_server import tracing  # stdlib-only at import; the backend is only looked up

    try:
        tracing.check_backend(settings.tracing_backend, settings.jaeger_config_path)
    except tracing.TracingError as exc:
        logger.error("Tracing is off: %s", exc)
        return dataclasses.replace(settings, tracing=False)
    return settings


def _plan(settings: Settings, model: UserModel, metadata: Any, grpc_port: int) -> ServingPlan:
    return ServingPlan(settings, model, metadata, grpc_port, child_grace(settings.graceful_timeout))


def _serve(settings: Settings, model: UserModel, metadata: dict[str, Any] | None) -> int:
    try:
        reservation = _reserve_grpc_port(settings)
    except OSError as exc:
        logger.error("Cannot bind the gRPC port %d: %s", settings.grpc_port, exc)
        return ExitCode.FAILURE
    grpc_port = reservation.getsockname()[1] if reservation else settings.grpc_port
    plan = _plan(settings, model, metadata, grpc_port)
    supervisor = Supervisor(settings.graceful_timeout)
    supervisor.on_exit = _forget_metrics
    try:
        try:
            _start_children(supervisor, plan)
        except OSError as exc:
            logger.error("Cannot start the server: %s", exc)
            supervisor.stop()
            return ExitCode.FAILURE
        if supervisor.pending_stop():
            logger.info("Stop requested during start-up")
            return ExitCode.OK if supervisor.stop() else ExitCode.FAILURE
        return supervisor.run()
    finally:
        supervisor.close()
        if reservation:
            reservation.close()


def _start_children(supervisor: Supervisor, plan: ServingPlan) -> None:
    settings = plan.settings
    supervisor.start("metrics server", partial(metrics_server.serve, settings))
    for index in range(1, settings.grpc_workers + 1):
        supervisor.start(f"gRPC server {index}", partial(grpc_worker.serve, plan, index))
    if settings.server_type == "kafka":
        for index in range(1, settings.kafka_workers + 1):
            supervisor.start(f"Kafka consumer {index}", partial(kafka_worker.serve, plan, index))
    rest = "REST server (debug)" if settings.debug else "REST server (gunicorn master)"
    rest_signals = "server" if settings.debug else "gunicorn"
    supervisor.start(
        rest, partial(rest_server.serve, plan), signals=rest_signals, forward_hup=not settings.debug
    )
    if plan.model.has("custom_service"):
        supervisor.start(
            "custom_service", partial(_custom_service, plan), signals="user", optional=True
        )
    logger.info(
        "Serving %s: REST on %s, gRPC on %s, metrics on %s%s",
        settings.interface_name,
        address(settings.bind_address, settings.http_port),
        address(settings.bind_address, plan.grpc_port) if settings.grpc_workers else "off",
        address(settings.bind_address, settings.metrics_port),
        settings.metrics_endpoint,
    )


def _custom_service(plan: ServingPlan) -> int:
    """The user's custom_service() in its own process, with ordinary signal handling."""
    plan.model.obj.custom_service()
    return ExitCode.OK


def _forget_metrics(child: Child) -> None:
    try:
        metrics.mark_process_dead(child.pid)
    except Exception:  # bookkeeping for live gauges only: never worth failing a stop over
        logger.debug("mark_process_dead(%d) failed", child.pid, exc_info=True)


def _reserve_grpc_port(settings: Settings) -> socket.socket | None:
    """Hold the gRPC port (SO_REUSEPORT, bound, never listening) while the server runs.

    The gRPC processes join it through SO_REUSEPORT; holding it here makes a taken port fail
    at once and turns port 0 into one port that every gRPC process shares.
    """
    if not settings.grpc_workers:
        return None
    family = socket.AF_INET6 if ":" in settings.bind_address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((settings.bind_address, settings.grpc_port))
    except OSError:
        sock.close()
        raise
    return sock


@contextlib.contextmanager
def _metrics_dir() -> Iterator[str]:
    """The prometheus_client multiprocess directory, emptied now; ours is removed at the end."""
    # An operator-chosen directory (a volume, say) is reused; PROMETHEUS_MULTIPROC_DIR is
    # prometheus_client's own variable, not one of our settings.
    inherited = os.environ.get(metrics.MULTIPROC_ENV)
    path = metrics.prepare_multiprocess_dir(inherited or tempfile.mkdtemp(prefix="seldon-metrics-"))
    # Safe only now that the directory is set; imported here, its pages are shared by every child.
    import prometheus_client  # noqa: F401

    try:
        yield path
    finally:
        if not inherited:
            shutil.rmtree(path, ignore_errors=True)
