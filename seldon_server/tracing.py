"""OpenTracing tracer set-up (OTel SDK behind the shim, or jaeger-client) and server/child spans."""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal
from urllib.parse import unquote

logger = logging.getLogger(__name__)

Backend = Literal["otel", "jaeger"]

TRACEPARENT: Final = "traceparent"
UBER_TRACE_ID: Final = "uber-trace-id"
OTLP_GRPC_PORT: Final = 4317
DEFAULT_AGENT_HOST: Final = "0.0.0.0"
DEFAULT_AGENT_PORT: Final = 5775  # jaeger-client's compact thrift UDP port (legacy backend only)
EXPORT_TIMEOUT_S: Final = 5.0


class TracingError(RuntimeError):
    """Tracing cannot start: a missing extra or a bad JAEGER_CONFIG_PATH file."""


@dataclass(frozen=True, slots=True)
class SamplerConfig:
    """The `sampler` section of a jaeger-client config file."""

    type: str = "const"
    param: float = 1.0


@dataclass(slots=True)
class _State:
    tracer: Any
    backend: Backend
    provider: Any = None


_state: _State | None = None


def load_tracing_config(path: str | None) -> dict[str, Any]:
    """The jaeger-client YAML config at JAEGER_CONFIG_PATH ({} without a path)."""
    if not path:
        return {}
    import yaml

    try:
        with open(path, encoding="utf-8") as handle:
            config = yaml.safe_load(handle) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise TracingError(f"JAEGER_CONFIG_PATH {path!r} cannot be read: {exc}") from exc
    if not isinstance(config, dict):
        raise TracingError(f"JAEGER_CONFIG_PATH {path!r} is not a YAML mapping")
    return config


def sampler_config(config: Mapping[str, Any]) -> SamplerConfig:
    """The sampler of a jaeger-client config; const 1 (trace everything) by default."""
    section = config.get("sampler") or {}
    try:
        return SamplerConfig(str(section.get("type", "const")), float(section.get("param", 1)))
    except (AttributeError, TypeError, ValueError) as exc:
        raise TracingError(f"bad sampler in the tracing config: {section!r}") from exc


def init_tracer(
    service_name: str,
    *,
    jaeger_agent_host: str | None = None,
    jaeger_agent_port: int | None = None,
    jaeger_config_path: str | None = None,
    otlp_endpoint: str | None = None,
    backend: Backend = "otel",
) -> Any:
    """Start this process's tracer and make it the global OpenTracing tracer; call after fork.

    The default backend is the OpenTelemetry SDK behind the OpenTracing shim, exporting OTLP over
    gRPC to `otlp_endpoint`, else to `http://{jaeger_agent_host}:4317` (Jaeger accepts OTLP). It
    accepts and injects both W3C `traceparent` and Jaeger `uber-trace-id`. `backend="jaeger"`
    uses the legacy jaeger-client (extra `seldon-server[jaeger]`) with the agent host and port.
    The sampler comes from the JAEGER_CONFIG_PATH file, whose local_agent host also wins, as in
    the original. Returns an `opentracing.Tracer`.
    """
    global _state
    config = load_tracing_config(jaeger_config_path)
    agent = config.get("local_agent")
    agent = agent if isinstance(agent, dict) else {}
    host = agent.get("reporting_host") or jaeger_agent_host or DEFAULT_AGENT_HOST
    if backend == "jaeger":
        port = int(agent.get("reporting_port") or jaeger_agent_port or DEFAULT_AGENT_PORT)
        _state = _State(_init_jaeger(service_name, config, host, port), "jaeger")
    elif backend == "otel":
        endpoint = otlp_endpoint or f"http://{host}:{OTLP_GRPC_PORT}"
        tracer, provider = _init_otel(service_name, sampler_config(config), endpoint)
        _state = _State(tracer, "otel", provider)
    else:
        raise TracingError(f"unknown tracing backend {backend!r} (choose otel or jaeger)")
    import opentracing

    opentracing.set_global_tracer(_state.tracer)
    logger.info("Tracing with the %s backend, service %s", backend, service_name)
    return _state.tracer


def shutdown_tracer(timeout_s: float = EXPORT_TIMEOUT_S) -> None:
    """Export what is buffered and stop this process's tracer (call before the process exits)."""
    global _state
    state, _state = _state, None
    if state is None:
        return
    if state.provider is not None:
        state.provider.force_flush(int(timeout_s * 1000))
        state.provider.shutdown()
    else:
        state.tracer.close()  # jaeger-client flushes its reporter asynchronously


def active_tracer() -> Any:
    """This process's tracer, or None when tracing was not started here."""
    return None if _state is None else _state.tracer


# The modules each backend imports, and how to install them when one is missing.
_BACKEND_MODULES: Final[dict[str, tuple[tuple[str, ...], str]]] = {
    "otel": (
        (
            "opentracing",
            "opentelemetry.sdk.trace",
            "opentelemetry.shim.opentracing_shim",
            "opentelemetry.exporter.otlp.proto.grpc.trace_exporter",
        ),
        "pip install seldon-server",
    ),
    "jaeger": (("opentracing", "jaeger_client"), "pip install 'seldon-server[jaeger]'"),
}


def check_backend(backend: str, jaeger_config_path: str | None) -> None:
    """Fail early, without importing the backend, if tracing could not start in a worker.

    Raises:
        TracingError: a module the backend needs is not installed, or the config file is bad.
    """
    modules, install = _BACKEND_MODULES[backend]
    for name in modules:
        try:
            found = importlib.util.find_spec(name) is not None
        except ImportError:  # a parent package is missing
            found = False
        if not found:
            raise TracingError(f"the {backend} backend needs {name!r}: {install}")
    load_tracing_config(jaeger_config_path)


def _import_otel() -> None:
    try:
        import opentelemetry.exporter.otlp.proto.grpc.trace_exporter  # noqa: F401
        import opentelemetry.sdk.trace  # noqa: F401
        import opentelemetry.shim.opentracing_shim  # noqa: F401
        import opentracing  # noqa: F401
    except ImportError as exc:
        raise TracingError(f"the otel backend cannot be imported: {exc}") from exc


def _init_otel(service_name: str, sampler: SamplerConfig, endpoint: str) -> tuple[Any, Any]:
    _import_otel()
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.shim.opentracing_shim import create_tracer

    if "://" not in endpoint:
        endpoint = f"http://{endpoint}"  # no scheme: plaintext, as a Jaeger agent would be
    provider = TracerProvider(
        resource=Resource.create({SERVICE_NAME: service_name}), sampler=_otel_sampler(sampler)
    )
    exporter = OTLPSpanExporter(endpoint=endpoint, timeout=EXPORT_TIMEOUT_S)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    _install_propagators()
    # Let user code on the OTel API join our traces; the global can be set once per process.
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        trace.set_tracer_provider(provider)
    return create_tracer(provider), provider


def _otel_sampler(config: SamplerConfig) -> Any:
    """Jaeger's sampler for root spans; like jaeger-client, a sampled parent is followed."""
    from opentelemetry.sdk.trace import sampling

    root: Any
    if config.type == "const":
        root = sampling.ALWAYS_ON if config.param else sampling.ALWAYS_OFF
    elif config.type == "probabilistic":
        root = sampling.TraceIdRatioBased(min(max(config.param, 0.0), 1.0))
    elif config.type == "ratelimiting":
        root = _rate_limiting_sampler(config.param)
    else:
        logger.warning("Sampler type %r is not supported; tracing every request", config.type)
        root = sampling.ALWAYS_ON
    return sampling.ParentBased(root)


class TokenBucket:
    """At most `rate` acquisitions per second on average, bursts up to max(rate, 1). Thread-safe."""

    def __init__(self, rate: float, clock: Any = time.monotonic) -> None:
        self._rate = max(rate, 0.0)
        self._capacity = max(self._rate, 1.0) if self._rate else 0.0
        self._tokens = self._capacity
        self._clock = clock
        self._last = clock()
        self._lock = threading.Lock()

    def acquire(self) -> bool:
        with self._lock:
            now = self._clock()
            self._tokens = min(self._capacity, self._tokens + (now - self._last) * self._rate)
            self._last = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False


def _rate_limiting_sampler(per_second: float) -> Any:
    from opentelemetry.sdk.trace import sampling

    class RateLimitingSampler(sampling.Sampler):
        """Jaeger's `ratelimiting` sampler: at most `param` new traces per second."""

        def __init__(self) -> None:
            self._bucket = TokenBucket(per_second)

        def should_sample(self, parent_context: Any, trace_id: int, *args: Any, **kw: Any) -> Any:
            chosen = sampling.ALWAYS_ON if self._bucket.acquire() else sampling.ALWAYS_OFF
            return chosen.should_sample(parent_context, trace_id, *args, **kw)

        def get_description(self) -> str:
            return f"RateLimitingSampler{{{per_second}}}"

    return RateLimitingSampler()


def _install_propagators() -> None:
    from opentelemetry.baggage.propagation import W3CBaggagePropagator
    from opentelemetry.propagate import set_global_textmap
    from opentelemetry.propagators.composite import CompositePropagator
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    # Extraction runs in order, so W3C wins when a request carries both headers.
    propagators = [_uber_trace_id_propagator(), TraceContextTextMapPropagator()]
    set_global_textmap(CompositePropagator([*propagators, W3CBaggagePropagator()]))


def parse_uber_trace_id(value: str) -> tuple[int, int, bool] | None:
    """(trace id, span id, sampled) from `trace:span:parent:flags` (hex), None if malformed."""
    parts = unquote(value).strip().split(":")
    if len(parts) != 4 or len(parts[0]) > 32 or len(parts[1]) > 16:
        return None
    try:
        trace_id, span_id, flags = int(parts[0], 16), int(parts[1], 16), int(parts[3], 16)
    except ValueError:
        return None
    if trace_id == 0 or span_id == 0:
        return None
    return trace_id, span_id, bool(flags & 0b11)  # the debug bit implies sampled


def format_uber_trace_id(trace_id: int, span_id: int, sampled: bool) -> str:
    """An `uber-trace-id` header value (parent span id 0 is deprecated and always 0)."""
    return f"{trace_id:032x}:{span_id:016x}:0:{int(sampled)}"


def parse_traceparent(value: str) -> tuple[int, int, bool] | None:
    """(trace id, span id, sampled) from a W3C `traceparent`, None if malformed."""
    parts = value.strip().split("-")
    if len(parts) < 4 or len(parts[0]) != 2 or len(parts[1]) != 32 or len(parts[2]) != 16:
        return None
    try:
        trace_id, span_id, flags = int(parts[1], 16), int(parts[2], 16), int(parts[3][:2], 16)
    except ValueError:
        return None
    if parts[0] == "ff" or trace_id == 0 or span_id == 0:
        return None
    return trace_id, span_id, bool(flags & 1)


def _uber_trace_id_propagator() -> Any:
    from opentelemetry import trace
    from opentelemetry.context import Context
    from opentelemetry.propagators import textmap

    class UberTraceIdPropagator(textmap.TextMapPropagator):
        """Jaeger's `uber-trace-id` header, as the Seldon executor sends it."""

        def extract(
            self,
            carrier: Any,
            context: Context | None = None,
            getter: textmap.Getter[Any] = textmap.default_getter,
        ) -> Context:
            context = Context() if context is None else context
            values = getter.get(carrier, UBER_TRACE_ID)
            parsed = parse_uber_trace_id(values[0]) if values else None
            if parsed is None:
                return context
            trace_id, span_id, sampled = parsed
            flags = trace.TraceFlags(trace.TraceFlags.SAMPLED if sampled else 0)
            remote = trace.SpanContext(trace_id, span_id, is_remote=True, trace_flags=flags)
            return trace.set_span_in_context(trace.NonRecordingSpan(remote), context)

        def inject(
            self,
            carrier: Any,
            context: Context | None = None,
            setter: textmap.Setter[Any] = textmap.default_setter,
        ) -> None:
            span_context = trace.get_current_span(context).get_span_context()
            if span_context.is_valid:
                header = format_uber_trace_id(
                    span_context.trace_id, span_context.span_id, span_context.trace_flags.sampled
                )
                setter.set(carrier, UBER_TRACE_ID, header)

        @property
        def fields(self) -> set[str]:
            return {UBER_TRACE_ID}

    return UberTraceIdPropagator()


def _init_jaeger(service_name: str, config: dict[str, Any], host: str, port: int) -> Any:
    try:
        import jaeger_client
    except ImportError as exc:
        raise TracingError(
            f"the jaeger backend cannot be imported: {exc} ({_BACKEND_MODULES['jaeger'][1]})"
        ) from exc
    settings = config or {
        "sampler": {"type": "const", "param": 1},
        "local_agent": {"reporting_host": host, "reporting_port": port},
        "logging": True,
    }
    # new_tracer, not initialize_tracer: the latter is once per process and returns None after.
    return jaeger_client.Config(config=settings, service_name=service_name).new_tracer()


def carrier_from_headers(
    headers: Mapping[str, str] | Iterable[tuple[str, str | bytes]],
) -> dict[str, str]:
    """Lower-cased headers or gRPC metadata, plus `uber-trace-id` derived from `traceparent`.

    The derived header lets the legacy jaeger-client backend accept W3C callers too.
    """
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    carrier = {str(key).lower(): value for key, value in pairs if isinstance(value, str)}
    if TRACEPARENT in carrier and UBER_TRACE_ID not in carrier:
        parsed = parse_traceparent(carrier[TRACEPARENT])
        if parsed is not None:
            carrier[UBER_TRACE_ID] = format_uber_trace_id(*parsed)
    return carrier


def _mark_error(span: Any, exc: BaseException) -> None:
    span.set_tag("error", True)
    span.log_kv({"event": "error", "error.kind": type(exc).__name__, "message": str(exc)})


@contextlib.contextmanager
def server_span(
    tracer: Any,
    operation: str,
    headers: Mapping[str, str] | Iterable[tuple[str, str | bytes]],
    tags: Mapping[str, Any] | None = None,
) -> Iterator[Any]:
    """One active server span for a request, its parent taken from the request headers.

    Yields the OpenTracing span (None when `tracer` is None) so the caller can add tags such as
    `http.status_code`; an exception marks the span with the `error` tag and propagates.
    """
    if tracer is None:
        yield None
        return
    carrier = carrier_from_headers(headers)
    span_tags = {"span.kind": "server", **(tags or {})}
    shim = sys.modules.get("opentelemetry.shim.opentracing_shim")
    if shim is not None and isinstance(tracer, shim.TracerShim):
        active = _otel_server_scope(tracer, operation, carrier, span_tags)
    else:
        active = _opentracing_server_scope(tracer, operation, carrier, span_tags)
    with active as span:
        try:
            yield span
        except BaseException as exc:
            _mark_error(span, exc)
            raise


@contextlib.contextmanager
def _otel_server_scope(
    tracer: Any, operation: str, carrier: dict[str, str], tags: dict[str, Any]
) -> Iterator[Any]:
    """The OTel span itself with kind SERVER (the shim would make it INTERNAL), seen as a shim."""
    from opentelemetry import propagate, trace
    from opentelemetry.shim.opentracing_shim import SpanContextShim, SpanShim

    otel_span = tracer.unwrap().start_span(
        operation, context=propagate.extract(carrier), kind=trace.SpanKind.SERVER, attributes=tags
    )
    with trace.use_span(otel_span, end_on_exit=True):
        yield SpanShim(tracer, SpanContextShim(otel_span.get_span_context()), otel_span)


@contextlib.contextmanager
def _opentracing_server_scope(
    tracer: Any, operation: str, carrier: dict[str, str], tags: dict[str, Any]
) -> Iterator[Any]:
    parent = _extract(tracer, carrier)
    with tracer.start_active_span(
        operation, child_of=parent, tags=tags, ignore_active_span=True
    ) as scope:
        yield scope.span


def _extract(tracer: Any, carrier: dict[str, str]) -> Any:
    from opentracing import Format

    try:
        return tracer.extract(Format.HTTP_HEADERS, carrier)
    except Exception:  # a corrupt header starts a new trace rather than failing the request
        logger.debug("Ignoring unreadable trace headers", exc_info=True)
        return None


@contextlib.contextmanager
def child_span(name: str, tracer: Any = None) -> Iterator[Any]:
    """A span around the user's method, child of the active server span; no-op without tracing."""
    tracer = tracer if tracer is not None else active_tracer()
    if tracer is None:
        yield None
        return
    with tracer.start_active_span(name, finish_on_close=True) as scope:
        try:
            yield scope.span
        except BaseException as exc:
            _mark_error(scope.span, exc)
            raise


def request_tags(request: Any, names: Iterable[str]) -> dict[str, str]:
    """The JAEGER_EXTRA_TAGS span tags: `str(getattr(request, name))` for each present name."""
    missing = object()
    found = {name: getattr(request, name, missing) for name in names}
    return {name: str(value) for name, value in found.items() if value is not missing}
