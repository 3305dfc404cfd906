"""What each serving process sets up after fork: dispatcher, metrics, tracer, the loaded model."""

from __future__ import annotations

import logging
import multiprocessing
import threading
from dataclasses import dataclass, field
from typing import Any

from seldon_server.dispatch import DispatchConfig, Dispatcher
from seldon_server.inference import InferenceService, identity, model_name
from seldon_server.load.batcher import Batcher
from seldon_server.metrics import DefaultLabels, PrometheusRecorder
from seldon_server.model.adapter import UserModel
from seldon_server.request_log import start_payload_log
from seldon_server.request_log.log import PayloadLog
from seldon_server.settings import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServingPlan:
    """Everything decided once in the supervisor and inherited by every child through fork."""

    settings: Settings
    model: UserModel  # inspected once; loaded already when preloading
    metadata: dict[str, Any] | None  # None: the metadata failed validation
    grpc_port: int  # the gRPC port actually reserved (the setting may be 0)
    grace: float  # how long a child may drain in-flight work once told to stop
    # Taken by the first serving process whose load() fails, so that one alone logs it.
    first_failure: Any = field(default_factory=multiprocessing.Lock)


@dataclass
class ProcessServices:
    """One serving process's dispatcher, metrics recorder and tracer (None without tracing)."""

    dispatcher: Dispatcher
    recorder: PrometheusRecorder
    tracer: Any = None
    payload_log: PayloadLog | None = None  # request logging, when a sink is set


def address(host: str, port: int) -> str:
    """`host:port` as servers bind and logs show it, with an IPv6 host in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class ModelLoadError(Exception):
    """The user's load() raised; `str()` is the one-line start-up error."""


def start_services(plan: ServingPlan) -> ProcessServices:
    """Build this process's services; call after fork, once per serving process.

    The recorder's metric files and the tracer's export thread belong to one process, which
    is why neither is created in the supervisor.
    """
    settings = plan.settings
    labels = DefaultLabels.from_settings(
        settings.deployment_id,
        settings.predictive_unit_id,
        settings.predictive_unit_image,
        settings.predictor_id,
        settings.predictor_version,
    )
    recorder = PrometheusRecorder(labels)
    config = DispatchConfig(
        include_metrics_in_client_response=settings.include_metrics_in_client_response,
        predictive_unit_id=settings.predictive_unit_id,
        predictive_unit_image=settings.predictive_unit_image,
        executor_enabled=settings.executor_enabled,
    )
    services = ProcessServices(Dispatcher(plan.model, config, recorder), recorder)
    services.dispatcher.batcher = make_batcher(services.dispatcher, settings)
    services.payload_log = start_payload_log(settings)
    if settings.tracing:
        services.tracer = _start_tracer(settings)
    if services.tracer is not None:
        services.dispatcher.user_span = _child_spans(services.tracer)
    return services


def make_inference(plan: ServingPlan, dispatcher: Dispatcher) -> InferenceService:
    """The V2 service of a serving process: the same model, under its V2 name."""
    settings = plan.settings
    name = model_name(settings.model_name, settings.predictive_unit_id, settings.interface_name)
    return InferenceService(dispatcher, identity(name, plan.metadata), settings.service_type)


def batches(settings: Settings, model: UserModel) -> bool:
    """Whether predict calls are joined: batching is on and the model's predict can be (a
    `predict_raw` or `predict_rest`/`_grpc` hook sees the transport's message: never joined)."""
    if settings.max_batch_size < 2:
        return False
    return model.has("predict") and not model.has_raw_variant("predict")


def make_batcher(dispatcher: Dispatcher, settings: Settings) -> Batcher | None:
    """The process's batcher when `batches()`; else None, with a warning if it was asked for."""
    if not batches(settings, dispatcher.model):
        if settings.max_batch_size > 1:
            logger.warning("--max-batch-size ignored: the model has no predict, or a raw one")
        return None
    return Batcher(dispatcher.predict_rows, settings.max_batch_size, settings.max_batch_time / 1000)


def limit_unbatched_calls(dispatcher: Dispatcher, threads: int) -> None:
    """With batching, this process takes more requests at once than --threads: its user calls
    other than batched predict stay bounded by `threads` (see load.gate._slots)."""
    if dispatcher.batcher is not None:
        dispatcher.call_limit = threading.BoundedSemaphore(threads)


def _start_tracer(settings: Settings) -> Any:
    """This process's tracer; None, with one error line, if it cannot start (serving goes on)."""
    from seldon_server import tracing  # only with tracing on: it pulls in OpenTelemetry

    try:
        return _init_tracer(settings)
    except tracing.TracingError as exc:
        logger.error("Tracing is off in this process: %s", exc)
        return None


def _init_tracer(settings: Settings) -> Any:
    from seldon_server import tracing

    return tracing.init_tracer(
        settings.interface_name,
        jaeger_agent_host=settings.jaeger_agent_host,
        jaeger_agent_port=settings.jaeger_agent_port,
        jaeger_config_path=settings.jaeger_config_path,
        otlp_endpoint=settings.otlp_endpoint,
        backend=settings.tracing_backend,  # type: ignore[arg-type]  # a validated choice
    )


def _child_spans(tracer: Any) -> Any:
    from seldon_server import tracing

    def user_span(name: str) -> Any:
        return tracing.child_span(name, tracer)

    return user_span


def stop_services(services: ProcessServices | None, grace: float = 5.0) -> None:
    """Ship the logged events still queued (for up to `grace` seconds) and export the spans
    still buffered; call as the process exits."""
    if services is None:
        return
    if services.payload_log is not None:
        services.payload_log.close(grace)
    if services.tracer is None:
        return
    from seldon_server import tracing

    try:
        tracing.shutdown_tracer()
    except Exception:  # an unreachable collector must not turn a clean stop into a crash
        logger.warning("Could not flush the tracer", exc_info=True)


def load_model(model: UserModel, interface_name: str) -> None:
    """Run the user's load() in this process unless it already ran (a preload before fork).

    Raises:
        ModelLoadError: load() raised anything but NotImplementedError; the cause is kept.
    """
    if model.ready.is_set():
        return
    try:
        model.load()
    except Exception as exc:
        message = f"{interface_name}.load() failed: {type(exc).__name__}: {exc}"
        raise ModelLoadError(message) from exc


def log_load_failure(error: ModelLoadError, first_failure: Any = None) -> None:
    """The start-up error line, with the user's traceback: the bug is in their load().

    Every serving process loads the model, so all of them usually fail alike: only the first
    (the one that takes `first_failure`, a lock shared through fork) logs it.
    """
    if first_failure is None or first_failure.acquire(block=False):
        logger.error("%s", error, exc_info=error.__cause__)
    else:
        logger.debug("%s (already reported by another process)", error)
