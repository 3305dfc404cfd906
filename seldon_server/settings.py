"""Resolve the server settings once from the command line, the environment and defaults."""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import textwrap
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from seldon_server.annotations import (
    DEFAULT_ANNOTATIONS_PATH,
    GRPC_MAX_MESSAGE_SIZE_ANNOTATION,
    REST_TIMEOUT_ANNOTATION,
    load_annotations,
)
from seldon_server.options import BOOL_EXPECTED, env_value, parse_bool

PROG = "seldon-microservice"
NOT_IMPLEMENTED = "NOT_IMPLEMENTED"
# The original passed its 5000 (meant as ms) to gunicorn as seconds; a minute is a sane bound
# for one request and still far above the executor's own default REST timeout.
DEFAULT_REST_TIMEOUT = 60
DEFAULT_MAX_REQUEST_SIZE = 100 * 1024 * 1024
DEFAULT_MAX_BATCH_TIME_MS = 5.0
MAX_BATCH_TIME_MS = 60_000.0
MAX_WAIT_SECONDS = 86_400.0 * 365  # --request-timeout: a year is "none" in all but name
# The derived --max-admitted: 4 per request run at once, and never so few that a burst from a
# handful of clients is refused.
ADMITTED_PER_SLOT = 4
ADMITTED_AT_LEAST = 32
SERVICE_TYPES = (
    "MODEL",
    "ROUTER",
    "TRANSFORMER",
    "OUTPUT_TRANSFORMER",
    "COMBINER",
    "OUTLIER_DETECTOR",
)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_MODES = ("all", "request", "response")
SERVER_TYPES = ("rest", "kafka")
# What kafka mode cannot start without: option name -> how the error names it.
KAFKA_REQUIRED = {
    "kafka_broker": "KAFKA_BROKER (--kafka-broker)",
    "kafka_input_topic": "KAFKA_INPUT_TOPIC (--kafka-input-topic)",
    "kafka_output_topic": "KAFKA_OUTPUT_TOPIC (--kafka-output-topic)",
}
# FLASK_DEBUG is deliberately absent: honouring it served Werkzeug's debugger, a remote shell.
FLASK_BOOL_SETTINGS = (
    "EXPLAIN_TEMPLATE_LOADING",
    "JSONIFY_PRETTYPRINT_REGULAR",
    "JSON_AS_ASCII",
    "JSON_SORT_KEYS",
    "PROPAGATE_EXCEPTIONS",
    "PRESERVE_CONTEXT_ON_EXCEPTION",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SECURE",
    "SESSION_REFRESH_EACH_REQUEST",
    "TEMPLATES_AUTO_RELOAD",
    "TESTING",
    "TRAP_HTTP_EXCEPTIONS",
    "TRAP_BAD_REQUEST_ERRORS",
    "USE_X_SENDFILE",
)


class SettingsError(ValueError):
    """A setting cannot be resolved; `str()` is one line naming the option and its source."""


class HelpRequested(Exception):
    """`-h`/`--help` was given: the caller prints `help_text()` and exits 0."""


# --- value parsers: each takes the raw text and raises ValueError(<what was expected>) ----------


def _bool_or_int(raw: str) -> bool:
    """A boolean word, or an integer where non-zero means true (`TRACING=1` and `=true`)."""
    try:
        return parse_bool(raw)
    except ValueError:
        pass
    try:
        return int(raw.strip()) != 0
    except ValueError:
        raise ValueError(BOOL_EXPECTED + " or an integer") from None


def _int_range(low: int, high: int | None = None) -> Callable[[str], int]:
    expected = (
        f"expected an integer from {low} to {high}" if high else f"expected an integer >= {low}"
    )

    def parse(raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ValueError(expected) from None
        if value < low or (high is not None and value > high):
            raise ValueError(expected)
        return value

    return parse


def _float_up_to(high: float) -> Callable[[str], float]:
    """A number from 0 to `high` (waits longer than threading accepts would fail every call)."""

    def parse(raw: str) -> float:
        value = _non_negative_float(raw)
        if value > high:
            raise ValueError(f"expected a number from 0 to {high:g}")
        return value

    return parse


def _non_negative_float(raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ValueError("expected a number >= 0")
    return value


def _text(raw: str) -> str:
    value = raw.strip()
    if not value:
        raise ValueError("expected a non-empty value")
    return value


def _raw(raw: str) -> str:
    return raw


def _lower(raw: str) -> str:
    return raw.strip().lower()


def _upper(raw: str) -> str:
    return raw.strip().upper()


def _url_path(raw: str) -> str:
    value = raw.strip()
    if not value.startswith("/"):
        raise ValueError("expected a URL path starting with '/'")
    return value


def _http_url(raw: str) -> str:
    """An absolute http(s) URL with a host (and a valid port, if any)."""
    value = raw.strip()
    try:
        parts = urllib.parse.urlsplit(value)
        parts.port  # noqa: B018  # raises ValueError for a port that is not a number in range
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("expected an http:// or https:// URL with a host")
    if not value.isascii() or parts.netloc.endswith(":"):
        raise ValueError("expected an ASCII URL (IDNA host, %-escaped path) with a numeric port")
    return value


def _tags(raw: str) -> tuple[str, ...]:
    return tuple(tag.strip() for tag in raw.split(",") if tag.strip())


def _labels_version(raw: str) -> str:
    """PREDICTOR_LABELS is the predictor's labels as JSON; only `version` is used."""
    try:
        labels = json.loads(raw)
    except ValueError:
        labels = None
    if not isinstance(labels, dict):
        raise ValueError("expected a JSON object of labels")
    return str(labels.get("version", NOT_IMPLEMENTED))


def _timeout_from_ms(raw: str) -> int:
    """The annotation is in milliseconds; gunicorn wants whole seconds, at least one."""
    try:
        millis = _non_negative_float(raw)
    except ValueError:
        raise ValueError("expected milliseconds as a number >= 0") from None
    return max(1, int(millis / 1000))


def _parameter_entries(raw: str) -> list[dict[str, Any]]:
    """`--parameters` as given: a JSON list of {name, value, type} objects (typed at load)."""
    try:
        entries = json.loads(raw)
    except ValueError:
        entries = None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ValueError("expected a JSON list of {name, value, type} objects")
    if not all(isinstance(e.get("name"), str) and e["name"] for e in entries):
        raise ValueError("every parameter needs a non-empty string 'name'")
    return entries


_PORT = _int_range(0, 65535)


# --- the option table -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    """One setting: its flags, env vars (legacy Seldon names included), parser and default.

    Precedence is the command line, then each env var in order, then the pod annotation, then
    the computed (`derive`) or plain default. An empty or blank env var counts as unset
    (`seldon_server.options`, the rule both commands share).
    """

    name: str
    flags: tuple[str, ...]
    env: tuple[str, ...]
    parse: Callable[[str], Any]
    default: Any
    help: str
    metavar: str = "VALUE"
    choices: tuple[str, ...] = ()
    bare: str | None = None  # the value of the flag given alone; None: it needs a value
    annotation: str = ""
    annotation_parse: Callable[[str], Any] | None = None
    derive: Callable[[Mapping[str, Any]], Any] | None = None  # from options resolved earlier
    shown_default: str = ""  # how --help shows a computed or unusual default
    gather_prefix: str = ""  # collect every set env var into a dict keyed without the prefix
    ignored: bool = False  # accepted for compatibility, never stored

    @property
    def label(self) -> str:
        """How errors name the option: its flag, or its env var when it has no flag."""
        return self.flags[0] if self.flags else self.env[0]


_OPTION_KEY = "seldon_option"


def option(
    *flags: str,
    env: str | tuple[str, ...] = (),
    parse: Callable[[str], Any],
    default: Any,
    help: str,
    **details: Any,
) -> Any:
    """One row of the option table, as a `Settings` field (see `Option` for `details`)."""
    names = (env,) if isinstance(env, str) else env
    row = Option("", flags, names, parse, default, help, **details)
    return field(metadata={_OPTION_KEY: row})


@dataclass(frozen=True)
class Settings:
    """Every server setting, resolved once by `resolve()`; see `help_text()` for each option.

    The fields below are the option table: each is declared once, with its flags, env vars,
    parser, default and help, and `OPTIONS` is read off them in this order (an option's `derive`
    may use the ones before it).
    """

    interface_name: str  # the positional INTERFACE_NAME, not an option
    # fmt: off
    service_type: str = option(
        "--service-type", env="SERVICE_TYPE", parse=_upper, default="MODEL",
        help="kind of predictive unit; every endpoint is served whatever the type", metavar="TYPE",
        choices=SERVICE_TYPES,
    )
    persistence: int = option(
        "--persistence", env="PERSISTENCE", parse=_int_range(0), default=0,
        help="deprecated and ignored; non-zero only logs an error", metavar="N", bare="1",
    )
    parameters: list[dict[str, Any]] = option(
        "--parameters", env="PREDICTIVE_UNIT_PARAMETERS", parse=_parameter_entries, default=[],
        help="JSON list of {name, value, type} passed as keyword args to the model class; type "
             "is one of INT, FLOAT, DOUBLE, STRING, BOOL", metavar="JSON", shown_default="[]",
    )
    log_level: str = option(
        "--log-level", env="SELDON_LOG_LEVEL", parse=_upper, default="INFO",
        help="log level (case-insensitive)", metavar="LEVEL", choices=LOG_LEVELS,
    )
    debug: bool = option(
        "--debug", env="SELDON_DEBUG", parse=parse_bool, default=False,
        help="serve REST and metrics with Flask's development server instead of gunicorn (never"
             " Werkzeug's interactive debugger)", metavar="BOOL", bare="true",
    )
    tracing: bool = option(
        "--tracing", env="TRACING", parse=_bool_or_int, default=False,
        help="enable OpenTracing spans (a boolean, or an integer where non-zero is true)",
        metavar="BOOL", bare="true",
    )
    workers: int = option(
        "--workers", env="GUNICORN_WORKERS", parse=_int_range(1), default=1,
        help="gunicorn worker processes for REST", metavar="N",
    )
    threads: int = option(
        "--threads", env="GUNICORN_THREADS", parse=_int_range(1), default=1,
        help="requests a gunicorn worker runs at once (more than 1 selects the gthread worker, "
             "whose extra threads hold admitted requests waiting their turn, see --max-admitted)",
        metavar="N",
    )
    max_requests: int = option(
        "--max-requests", env="GUNICORN_MAX_REQUESTS", parse=_int_range(0), default=0,
        help="recycle a gunicorn worker after this many requests (0: never)", metavar="N",
    )
    max_requests_jitter: int = option(
        "--max-requests-jitter", env="GUNICORN_MAX_REQUESTS_JITTER", parse=_int_range(0),
        default=0, help="random jitter added to --max-requests", metavar="N",
    )
    keepalive: int = option(
        "--keepalive", env="GUNICORN_KEEPALIVE", parse=_int_range(0), default=2,
        help="seconds to wait on a keep-alive connection (gthread only)", metavar="SECONDS",
    )
    single_threaded: bool = option(
        "--single-threaded", env="FLASK_SINGLE_THREADED", parse=_bool_or_int, default=False,
        help="serve REST with one thread per worker, for models that are not thread-safe",
        metavar="BOOL", bare="true",
    )
    http_port: int = option(
        "--http-port", env="PREDICTIVE_UNIT_HTTP_SERVICE_PORT", parse=_PORT, default=9000,
        help="REST port", metavar="PORT",
    )
    grpc_port: int = option(
        "--grpc-port", env="PREDICTIVE_UNIT_GRPC_SERVICE_PORT", parse=_PORT, default=5000,
        help="gRPC port", metavar="PORT",
    )
    metrics_port: int = option(
        "--metrics-port", env="PREDICTIVE_UNIT_METRICS_SERVICE_PORT", parse=_PORT, default=6000,
        help="Prometheus metrics port", metavar="PORT",
    )
    bind_address: str = option(
        "--bind-address", env="SELDON_BIND_ADDRESS", parse=_text, default="0.0.0.0",
        help="address the REST, gRPC and metrics servers listen on", metavar="ADDRESS",
    )
    pidfile: str | None = option(
        "--pidfile", parse=_text, default=None, help="write the REST master's PID to this file",
        metavar="PATH", shown_default="none",
    )
    access_log: bool = option(
        "--access-log", env="GUNICORN_ACCESS_LOG", parse=parse_bool, default=False,
        help="write gunicorn access logs to stdout", metavar="BOOL", bare="true",
    )
    grpc_threads: int = option(
        "--grpc-threads", env="GRPC_THREADS", parse=_int_range(1), default=1,
        help="calls each gRPC worker runs at once (its pool also holds the admitted calls "
             "waiting their turn, see --max-admitted)", metavar="N",
    )
    grpc_workers: int = option(
        "--grpc-workers", env="GRPC_WORKERS", parse=_int_range(0), default=1,
        help="gRPC server processes (0 disables gRPC)", metavar="N",
    )
    metrics_endpoint: str = option(
        env="PREDICTIVE_UNIT_METRICS_ENDPOINT", parse=_url_path, default="/metrics",
        help="path of the Prometheus endpoint on the metrics port", metavar="PATH",
    )
    payload_passthrough: bool = option(
        env="PAYLOAD_PASSTHROUGH", parse=parse_bool, default=False,
        help="hand *_raw hooks the undecoded request body", metavar="BOOL",
    )
    filter_metrics_access_logs: bool = option(
        env="FILTER_METRICS_ACCESS_LOGS", parse=parse_bool, default=None,
        help="drop access-log lines for the metrics path", metavar="BOOL",
        derive=lambda resolved: not resolved["debug"], shown_default="true unless debug",
    )
    include_metrics_in_client_response: bool = option(
        env="INCLUDE_METRICS_IN_CLIENT_RESPONSE", parse=parse_bool, default=True,
        help="keep custom metrics in the response's meta.metrics", metavar="BOOL",
    )
    model_metadata: str = option(
        env="MODEL_METADATA", parse=_raw, default="",
        help="model metadata as YAML or JSON, overriding init_metadata()", metavar="YAML",
        shown_default="unset",
    )
    predictive_unit_id: str = option(
        env="PREDICTIVE_UNIT_ID", parse=_raw, default="",
        help="graph node name (requestPath key, metrics model_name)", metavar="NAME",
        shown_default="unset",
    )
    model_name: str = option(
        "--model-name", env="MODEL_NAME", parse=_raw, default="",
        help="the model's name in V2 (Open Inference Protocol) paths and answers",
        metavar="NAME", shown_default="PREDICTIVE_UNIT_ID, else the class name",
    )
    predictive_unit_image: str = option(
        env="PREDICTIVE_UNIT_IMAGE", parse=_raw, default="",
        help="container image (requestPath value, metrics and metadata name/version)",
        metavar="IMAGE", shown_default="unset",
    )
    predictor_id: str = option(
        env="PREDICTOR_ID", parse=_raw, default=NOT_IMPLEMENTED,
        help="predictor name (metrics label)", metavar="NAME",
    )
    predictor_version: str = option(
        env="PREDICTOR_LABELS", parse=_labels_version, default=NOT_IMPLEMENTED,
        help="predictor labels as JSON; its 'version' is a metrics label", metavar="JSON",
    )
    deployment_id: str = option(
        env="SELDON_DEPLOYMENT_ID", parse=_raw, default=NOT_IMPLEMENTED,
        help="SeldonDeployment name (metrics label)", metavar="NAME",
    )
    executor_enabled: bool = option(
        env="SELDON_EXECUTOR_ENABLED", parse=parse_bool, default=True,
        help="false is the legacy mode: feedback reward metrics are not recorded", metavar="BOOL",
    )
    jaeger_agent_host: str = option(
        env="JAEGER_AGENT_HOST", parse=_text, default="0.0.0.0",
        help="Jaeger agent host (jaeger tracer)", metavar="HOST",
    )
    jaeger_agent_port: int = option(
        env="JAEGER_AGENT_PORT", parse=_PORT, default=5775,
        help="Jaeger agent UDP port (jaeger tracer)", metavar="PORT",
    )
    jaeger_config_path: str | None = option(
        env="JAEGER_CONFIG_PATH", parse=_text, default=None,
        help="YAML jaeger-client config file, replacing the built-in one", metavar="PATH",
        shown_default="unset",
    )
    jaeger_extra_tags: tuple[str, ...] = option(
        env="JAEGER_EXTRA_TAGS", parse=_tags, default=(),
        help="comma-separated Flask request attributes added as tags to REST spans",
        metavar="NAMES", shown_default="unset",
    )
    tracing_backend: str = option(
        "--tracing-backend", env="SELDON_TRACING_BACKEND", parse=_lower, default="otel",
        help="tracer behind the OpenTracing API: otel (OpenTelemetry SDK exporting OTLP) or "
             "jaeger (legacy jaeger-client; install seldon-server[jaeger])", metavar="BACKEND",
        choices=("otel", "jaeger"),
    )
    otlp_endpoint: str | None = option(
        env="OTEL_EXPORTER_OTLP_ENDPOINT", parse=_text, default=None,
        help="OTLP collector endpoint for the OpenTelemetry tracer", metavar="URL",
        shown_default="unset",
    )
    annotations_path: str = option(
        "--annotations-path", env="SELDON_ANNOTATIONS_PATH", parse=_text,
        default=DEFAULT_ANNOTATIONS_PATH, help="Kubernetes downward-API annotations file",
        metavar="PATH",
    )
    rest_timeout: int = option(
        "--timeout", env="GUNICORN_TIMEOUT", parse=_int_range(0), default=DEFAULT_REST_TIMEOUT,
        help="gunicorn worker timeout: a worker silent this long is killed and restarted (a "
             "one-thread worker is silent while it runs a request; for a per-request limit use "
             "--request-timeout; 0 disables it)", metavar="SECONDS",
        annotation=REST_TIMEOUT_ANNOTATION, annotation_parse=_timeout_from_ms,
        shown_default=f"from the annotation (ms, at least 1 s), else {DEFAULT_REST_TIMEOUT}",
    )
    grpc_max_message_size: int | None = option(
        "--grpc-max-message-size", env="SELDON_GRPC_MAX_MESSAGE_SIZE", parse=_int_range(1),
        default=None, help="gRPC max send and receive message size in bytes", metavar="BYTES",
        annotation=GRPC_MAX_MESSAGE_SIZE_ANNOTATION, annotation_parse=_int_range(1),
        shown_default="annotation, else grpcio's default",
    )
    max_request_size: int = option(
        "--max-request-size", env="SELDON_MAX_REQUEST_SIZE", parse=_int_range(1),
        default=DEFAULT_MAX_REQUEST_SIZE, help="largest REST request body in bytes",
        metavar="BYTES", shown_default=f"{DEFAULT_MAX_REQUEST_SIZE} (100 MiB)",
    )
    preload: bool = option(
        "--preload", env="SELDON_PRELOAD", parse=parse_bool, default=False,
        help="load the model once before forking workers (for fork-safe models)", metavar="BOOL",
        bare="true",
    )
    max_batch_size: int = option(
        "--max-batch-size", env="SELDON_MAX_BATCH_SIZE", parse=_int_range(0), default=0,
        help="adaptive batching: join up to N concurrent predict requests whose data are "
             "numeric arrays of one dtype, trailing shape and names into one predict call, "
             "rows concatenated, and split the result back (0 or 1: off; for row-wise models "
             "only)", metavar="N", shown_default="0 (off)",
    )
    max_batch_time: float = option(
        "--max-batch-time", env="SELDON_MAX_BATCH_TIME", parse=_float_up_to(MAX_BATCH_TIME_MS),
        default=DEFAULT_MAX_BATCH_TIME_MS, help="milliseconds a batch's first request waits "
        "for more before the batch is called", metavar="MS",
        shown_default=f"{DEFAULT_MAX_BATCH_TIME_MS:g}",
    )
    max_admitted: int = option(
        "--max-admitted", env="SELDON_MAX_ADMITTED", parse=_int_range(0), default=0,
        help="requests a serving process holds at once, running plus waiting; past it REST "
             "answers 503 with Retry-After and gRPC RESOURCE_EXHAUSTED at once, without "
             "touching the model (health, readiness and metrics are never refused)",
        metavar="N", shown_default=f"0: {ADMITTED_PER_SLOT} x the requests it runs at once, at "
        f"least {ADMITTED_AT_LEAST}",
    )
    request_timeout: float = option(
        "--request-timeout", env="SELDON_REQUEST_TIMEOUT", parse=_float_up_to(MAX_WAIT_SECONDS),
        default=0.0, help="seconds a request may wait and run; at the deadline REST answers "
        "504 and gRPC DEADLINE_EXCEEDED, and the model call's late result is discarded",
        metavar="SECONDS", shown_default="0 (none)",
    )
    graceful_timeout: float = option(
        "--graceful-timeout", env="SELDON_GRACEFUL_TIMEOUT", parse=_non_negative_float,
        default=30.0, help="seconds to drain in-flight requests on shutdown", metavar="SECONDS",
        shown_default="30",
    )
    server_type: str = option(
        "--server-type", env="SERVER_TYPE", parse=_lower, default="rest", choices=SERVER_TYPES,
        help="rest: REST and gRPC; kafka: also Kafka consumer processes that answer every "
             "message of KAFKA_INPUT_TOPIC on KAFKA_OUTPUT_TOPIC", metavar="TYPE",
    )
    kafka_broker: str | None = option(
        "--kafka-broker", "--kafka_broker", env="KAFKA_BROKER", parse=_text, default=None,
        help="Kafka bootstrap servers, host:port[,host:port] (kafka mode: required)",
        metavar="HOSTS", shown_default="unset",
    )
    kafka_input_topic: str | None = option(
        "--kafka-input-topic", "--kafka_input_topic", env="KAFKA_INPUT_TOPIC", parse=_text,
        default=None, help="topic of the requests (kafka mode: required)", metavar="TOPIC",
        shown_default="unset",
    )
    kafka_output_topic: str | None = option(
        "--kafka-output-topic", "--kafka_output_topic", env="KAFKA_OUTPUT_TOPIC", parse=_text,
        default=None, help="topic of the responses, keyed as their requests (kafka mode: required)",
        metavar="TOPIC", shown_default="unset",
    )
    kafka_dead_letter_topic: str | None = option(
        "--kafka-dead-letter-topic", env="KAFKA_DEAD_LETTER_TOPIC", parse=_text, default=None,
        help="where a message that fails goes, unchanged, with the error in its headers; unset: "
             "the Seldon status body goes to the output topic with a seldon-error header",
        metavar="TOPIC", shown_default="unset",
    )
    kafka_workers: int = option(
        "--kafka-workers", "--kafka_workers", env="KAFKA_WORKERS", parse=_int_range(1), default=1,
        help="Kafka consumer processes, each a member of the group with its own copy of the model",
        metavar="N",
    )
    kafka_auto_commit: bool = option(
        "--kafka-auto-commit", "--kafka_auto_commit", env="KAFKA_AUTO_COMMIT", parse=parse_bool,
        default=True, help="commit in the background; false: synchronously after each batch "
                           "(either way only offsets whose outputs the broker acknowledged)",
        metavar="BOOL", bare="true",
    )
    kafka_group_id: str | None = option(
        "--kafka-group-id", env="KAFKA_GROUP_ID", parse=_text, default=None,
        help="consumer group", metavar="GROUP",
        shown_default="<PREDICTOR_ID>.<SELDON_DEPLOYMENT_ID>.<namespace>",
    )
    namespace: str = option(
        "--namespace", env=("SELDON_NAMESPACE", "POD_NAMESPACE"), parse=_text, default="default",
        help="Kubernetes namespace (the consumer group's last part)", metavar="NAME",
    )
    kafka_security_protocol: str = option(
        "--kafka-security-protocol", env="KAFKA_SECURITY_PROTOCOL", parse=_lower,
        default="plaintext", choices=("plaintext", "ssl", "sasl_ssl", "sasl_plaintext"),
        help="how to reach the broker (case-insensitive)", metavar="PROTOCOL",
    )
    kafka_ssl_ca_cert: str = option(
        "--kafka-ssl-ca-cert", env="KAFKA_SSL_CA_CERT", parse=_raw, default="",
        help="CA certificate, PEM text", metavar="PEM", shown_default="unset",
    )
    kafka_ssl_client_cert: str = option(
        "--kafka-ssl-client-cert", env="KAFKA_SSL_CLIENT_CERT", parse=_raw, default="",
        help="client certificate, PEM text", metavar="PEM", shown_default="unset",
    )
    kafka_ssl_client_key: str = option(
        "--kafka-ssl-client-key", env="KAFKA_SSL_CLIENT_KEY", parse=_raw, default="",
        help="client private key, PEM text", metavar="PEM", shown_default="unset",
    )
    kafka_ssl_ca_cert_file: str = option(
        "--kafka-ssl-ca-cert-file", env="KAFKA_SSL_CA_CERT_FILE", parse=_text, default="",
        help="CA certificate file (instead of the PEM text)", metavar="PATH", shown_default="unset",
    )
    kafka_ssl_client_cert_file: str = option(
        "--kafka-ssl-client-cert-file", env="KAFKA_SSL_CLIENT_CERT_FILE", parse=_text, default="",
        help="client certificate file", metavar="PATH", shown_default="unset",
    )
    kafka_ssl_client_key_file: str = option(
        "--kafka-ssl-client-key-file", env="KAFKA_SSL_CLIENT_KEY_FILE", parse=_text, default="",
        help="client private key file", metavar="PATH", shown_default="unset",
    )
    kafka_ssl_client_key_pass: str = option(
        "--kafka-ssl-client-key-pass", env="KAFKA_SSL_CLIENT_KEY_PASS", parse=_raw, default="",
        help="password of the client private key", metavar="PASSWORD", shown_default="unset",
    )
    kafka_sasl_username: str = option(
        "--kafka-sasl-username", env="KAFKA_SASL_USERNAME", parse=_raw, default="",
        help="SASL user name", metavar="USER", shown_default="unset",
    )
    kafka_sasl_password: str = option(
        "--kafka-sasl-password", env="KAFKA_SASL_PASSWORD", parse=_raw, default="",
        help="SASL password", metavar="PASSWORD", shown_default="unset",
    )
    kafka_sasl_mechanism: str = option(
        "--kafka-sasl-mechanism", env="KAFKA_SASL_MECHANISM", parse=_upper, default="PLAIN",
        help="SASL mechanism: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, ...", metavar="MECHANISM",
    )
    log_url: str | None = option(
        "--log-url", "--log_url", env="SELDON_LOG_URL", parse=_http_url, default=None,
        help="request logging: POST every request and response as a CloudEvent (binary mode) to "
             "this http(s) URL, e.g. a seldon-request-logger or a Knative broker", metavar="URL",
        shown_default="unset (no logging)",
    )
    log_kafka_broker: str | None = option(
        "--log-kafka-broker", "--log_kafka_broker", env="LOG_KAFKA_BROKER", parse=_text,
        default=None, help="request logging to Kafka instead: bootstrap servers (with "
                           "--log-kafka-topic; the --kafka-security-* options apply)",
        metavar="HOST:PORT", shown_default="unset",
    )
    log_kafka_topic: str | None = option(
        "--log-kafka-topic", "--log_kafka_topic", env="LOG_KAFKA_TOPIC", parse=_text,
        default=None, help="topic of the logged events, keyed by puid", metavar="TOPIC",
        shown_default="unset",
    )
    log_mode: str = option(
        "--log-mode", "--log_mode", env="SELDON_LOG_MODE", parse=_lower, default="all",
        choices=LOG_MODES, help="which payloads are logged once a sink is set: all, request, or "
                                "response (responses and feedback, as the executor)",
        metavar="MODE",
    )
    logger_workers: int = option(
        "--logger-workers", "--logger_workers", env="LOGGER_WORKERS", parse=_int_range(1, 64),
        default=2, help="sender threads per serving process, each with its own kept-alive "
                        "connection", metavar="N",
    )
    log_work_buffer_size: int = option(
        "--log-work-buffer-size", "--log_work_buffer_size", env="LOG_WORK_BUFFER_SIZE",
        parse=_int_range(1), default=10000, help="events a serving process holds for its "
        "senders; past it new events are dropped (and counted), never waited for",
        metavar="EVENTS",
    )
    flask_config: dict[str, bool] = option(
        env=tuple(f"FLASK_{name}" for name in FLASK_BOOL_SETTINGS), parse=parse_bool, default={},
        help="booleans copied into the Flask config of the REST and metrics apps", metavar="BOOL",
        shown_default="unset", gather_prefix="FLASK_",
    )
    # fmt: on

    @property
    def rest_threads(self) -> int:
        """Threads per REST worker: 1 when single-threaded, else `threads`."""
        return 1 if self.single_threaded else self.threads


# Environment variables accepted for compatibility and never stored.
IGNORED: tuple[Option, ...] = (
    Option("use_multiprocess_package", (), ("USE_MULTIPROCESS_PACKAGE",), _raw, None,
           "accepted for compatibility and ignored (no multiprocessing IPC is used)",
           ignored=True),
    Option("kafka_full_graph", (), ("KAFKA_FULL_GRAPH",), _raw, None,
           "accepted and ignored: this server is one graph node; each node that needs Kafka "
           "runs its own kafka mode", ignored=True),
    Option("flask_debug", (), ("FLASK_DEBUG",), _raw, None,
           "never honoured: Werkzeug's interactive debugger is a remote shell", ignored=True),
)  # fmt: skip
OPTIONS: tuple[Option, ...] = (
    *(
        dataclasses.replace(f.metadata[_OPTION_KEY], name=f.name)
        for f in dataclasses.fields(Settings)
        if _OPTION_KEY in f.metadata
    ),
    *IGNORED,
)
_BY_FLAG: dict[str, Option] = {flag: opt for opt in OPTIONS for flag in opt.flags}


# --- resolution -----------------------------------------------------------------------------


def resolve(
    argv: Sequence[str],
    environ: Mapping[str, str],
    read_annotations: Callable[[str], Mapping[str, str]] = load_annotations,
) -> Settings:
    """Resolve every option: command line > env > annotation > default.

    `argv` excludes the program name. Raises `SettingsError` (one line) on a bad value, an
    unknown option or a missing INTERFACE_NAME, and `HelpRequested` for `-h`/`--help`.
    The annotations file is read only if an option still needs it.
    """
    cli, interface_name = _parse_argv(argv)
    sources = _Sources(cli, environ, read_annotations, {"interface_name": interface_name})
    for opt in OPTIONS:
        if not opt.ignored:
            sources.resolved[opt.name] = sources.value_of(opt)
    settings = Settings(**sources.resolved)
    if settings.server_type == "kafka":
        missing = [text for name, text in KAFKA_REQUIRED.items() if not getattr(settings, name)]
        if missing:
            raise SettingsError(f"--server-type kafka needs {', '.join(missing)}")
    _check_log_sink(settings)
    return settings


def _check_log_sink(settings: Settings) -> None:
    """One request-log sink at most, and a Kafka one needs both its broker and its topic."""
    broker, topic = settings.log_kafka_broker, settings.log_kafka_topic
    if bool(broker) != bool(topic):
        given, needed = (
            ("--log-kafka-broker", "LOG_KAFKA_TOPIC (--log-kafka-topic)")
            if broker
            else ("--log-kafka-topic", "LOG_KAFKA_BROKER (--log-kafka-broker)")
        )
        raise SettingsError(f"{given} needs {needed}")
    if broker and settings.log_url:
        raise SettingsError(
            "--log-url and --log-kafka-broker name two request-log sinks: set one of them"
        )


@dataclass
class _Sources:
    cli: dict[str, tuple[str, str]]  # option name -> (flag as typed, raw value)
    environ: Mapping[str, str]
    read_annotations: Callable[[str], Mapping[str, str]]
    resolved: dict[str, Any]
    _annotations: Mapping[str, str] | None = field(default=None, repr=False)

    def value_of(self, opt: Option) -> Any:
        if opt.name in self.cli:
            flag, raw = self.cli[opt.name]
            return _convert(opt, raw, flag, "the command line")
        if opt.gather_prefix:
            return self._gather(opt)
        for name in opt.env:
            from_env = env_value(self.environ, name)
            if from_env is not None:
                return _convert(opt, from_env, opt.flags[0] if opt.flags else name, f"env {name}")
        if opt.annotation and opt.annotation_parse:
            annotated = self.annotations().get(opt.annotation, "").strip()
            if annotated:
                where = f"annotation {opt.annotation} in {self.resolved['annotations_path']}"
                return _convert(opt, annotated, opt.label, where, opt.annotation_parse)
        if opt.derive:
            return opt.derive(self.resolved)
        return copy.copy(opt.default)  # no shared mutable defaults between Settings

    def _gather(self, opt: Option) -> dict[str, Any]:
        gathered = {}
        for name in opt.env:
            raw = env_value(self.environ, name)
            if raw is not None:
                key = name.removeprefix(opt.gather_prefix)
                gathered[key] = _convert(opt, raw, name, f"env {name}")
        return gathered

    def annotations(self) -> Mapping[str, str]:
        if self._annotations is None:
            path = self.resolved["annotations_path"]
            try:
                self._annotations = self.read_annotations(path)
            except OSError as exc:
                reason = exc.strerror or str(exc)
                raise SettingsError(f"cannot read annotations file {path!r}: {reason}") from exc
        return self._annotations


def _convert(
    opt: Option,
    raw: str,
    label: str,
    source: str,
    parse: Callable[[str], Any] | None = None,
) -> Any:
    try:
        value = (parse or opt.parse)(raw)
        if opt.choices and value not in opt.choices:
            raise ValueError("expected one of " + ", ".join(opt.choices))
    except ValueError as exc:
        reason = " ".join(str(exc).split())
        raise SettingsError(
            f"invalid value {_shorten(raw)} for {label} (from {source}): {reason}"
        ) from exc
    return value


def _shorten(raw: str, limit: int = 80) -> str:
    shown = repr(raw)
    return shown if len(shown) <= limit else shown[: limit - 4] + "...'"


def _parse_argv(argv: Sequence[str]) -> tuple[dict[str, tuple[str, str]], str]:
    """Split argv into flag values and the one positional INTERFACE_NAME."""
    given: dict[str, tuple[str, str]] = {}
    positionals: list[str] = []
    swallowed = ""  # an optional-value flag that took the next token, for a better hint
    tokens = list(argv)
    while tokens:
        token = tokens.pop(0)
        if token == "--":
            positionals.extend(tokens)
            break
        if token in ("-h", "--help"):
            raise HelpRequested(help_text())
        if not token.startswith("-") or token == "-":
            positionals.append(token)
            continue
        flag, has_value, inline = token.partition("=")
        opt = _BY_FLAG.get(flag)
        if opt is None:
            raise SettingsError(f"unknown option {flag!r} (see {PROG} --help)")
        before = len(tokens)
        given[opt.name] = (flag, inline if has_value else _flag_value(opt, flag, tokens))
        if opt.bare is not None and len(tokens) < before:
            swallowed = f"{flag} {given[opt.name][1]}"
    return given, _interface_name(positionals, swallowed)


def _flag_value(opt: Option, flag: str, tokens: list[str]) -> str:
    """Take the flag's value from the next token; a flag with a bare value may stand alone."""
    takes_next = bool(tokens) and not tokens[0].startswith("--")
    if opt.bare is not None:
        # Like argparse's nargs="?": a following non-option token is the value.
        return tokens.pop(0) if takes_next and not tokens[0].startswith("-") else opt.bare
    if not takes_next:
        raise SettingsError(f"option {flag} needs a value ({opt.metavar})")
    return tokens.pop(0)


def _interface_name(positionals: list[str], swallowed: str) -> str:
    if not positionals:
        hint = f" ('{swallowed}' was read as a flag and its value)" if swallowed else ""
        raise SettingsError(
            f"missing INTERFACE_NAME{hint}: the model class to serve, "
            "e.g. MyModel or package.module.MyModel"
        )
    if len(positionals) > 1:
        extra = " ".join(positionals[1:])
        raise SettingsError(
            f"unexpected argument(s) {extra!r}: since Seldon Core 1.5.0 the CLI takes no API type "
            f"(REST, GRPC); usage: {PROG} INTERFACE_NAME [options]"
        )
    return positionals[0]


# --- help -----------------------------------------------------------------------------------


def help_text(prog: str = PROG) -> str:
    """The `--help` text, generated from the option table."""
    lines = [
        f"usage: {prog} INTERFACE_NAME [options]",
        "",
        "Serve a Seldon Core v1 model class over REST, gRPC and Prometheus metrics.",
        "Each option comes from the command line, else its env var, else (where listed) a pod",
        "annotation, else its default. An env var that is empty or blank counts as unset.",
        "Booleans accept 1/0/true/false/yes/no/t/f/on/off.",
        "",
        "positional arguments:",
        "  INTERFACE_NAME",
        "      the model class: MyModel (module MyModel, class MyModel) or package.module.Class",
        "",
        "options:",
        "  -h, --help",
        "      show this help and exit",
    ]
    for opt in OPTIONS:
        if opt.flags:
            lines.extend(_help_entry(opt))
    lines += ["", "environment variables without a flag:"]
    for opt in OPTIONS:
        if not opt.flags:
            lines.extend(_help_entry(opt))
    lines += ["", *PROCESS_NOTES]
    return "\n".join(lines) + "\n"


PROCESS_NOTES = (
    "processes: this command supervises the Gunicorn REST master and its workers, GRPC_WORKERS",
    "gRPC processes, the metrics server and the optional custom_service process. Gunicorn",
    "replaces its own workers; any other serving process that dies stops the whole server",
    "(exit 1, or 4 when load() failed). SIGTERM/SIGINT drain in-flight REST requests and gRPC",
    "calls for up to --graceful-timeout seconds, then remaining processes are killed (exit 0",
    "when everything stopped by itself).",
    "",
    "exit codes: 0 clean stop; 1 a serving process failed or had to be killed; 2 bad option or",
    "--parameters value (nothing started); 3 the model class cannot be imported or created, or",
    "init_metadata() raised; 4 load() raised; 130 interrupted during start-up.",
)


def _help_entry(opt: Option) -> list[str]:
    details = []
    if opt.flags:
        value = f"[{opt.metavar}]" if opt.bare is not None else opt.metavar
        head = ", ".join(f"{flag} {value}" for flag in opt.flags)
    elif opt.gather_prefix:
        head = f"{opt.gather_prefix}<NAME>={opt.metavar}"
    else:
        head = opt.env[0] if opt.ignored else f"{opt.env[0]}={opt.metavar}"
    if opt.env and (opt.flags or len(opt.env) > 1):
        details.append("env " + ", ".join(opt.env))
    if opt.annotation:
        details.append(f"annotation {opt.annotation}")
    if opt.choices:
        details.append("choices " + ", ".join(opt.choices))
    if not opt.ignored:
        details.append("default " + _shown_default(opt))
    wrap = textwrap.TextWrapper(width=100, initial_indent="      ", subsequent_indent="        ")
    return [f"  {head}", *wrap.wrap(opt.help), *wrap.wrap("; ".join(details))]


def _shown_default(opt: Option) -> str:
    if opt.shown_default:
        return opt.shown_default
    if isinstance(opt.default, bool):
        return str(opt.default).lower()
    return str(opt.default)
