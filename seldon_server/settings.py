"""Resolve the server settings once from the command line, the environment and defaults."""

from __future__ import annotations

import copy
import json
import math
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from seldon_server.annotations import (
    DEFAULT_ANNOTATIONS_PATH,
    GRPC_MAX_MESSAGE_SIZE_ANNOTATION,
    REST_TIMEOUT_ANNOTATION,
    load_annotations,
)
from seldon_server.errors import BadParameterError

PROG = "seldon-microservice"
NOT_IMPLEMENTED = "NOT_IMPLEMENTED"
# The original passed its 5000 (meant as ms) to gunicorn as seconds; a minute is a sane bound
# for one request and still far above the executor's own default REST timeout.
DEFAULT_REST_TIMEOUT = 60
DEFAULT_MAX_REQUEST_SIZE = 100 * 1024 * 1024
SERVICE_TYPES = (
    "MODEL",
    "ROUTER",
    "TRANSFORMER",
    "OUTPUT_TRANSFORMER",
    "COMBINER",
    "OUTLIER_DETECTOR",
)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
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
PARAMETER_TYPES = ("INT", "FLOAT", "DOUBLE", "STRING", "BOOL")


class SettingsError(ValueError):
    """A setting cannot be resolved; `str()` is one line naming the option and its source."""


class HelpRequested(Exception):
    """`-h`/`--help` was given: the caller prints `help_text()` and exits 0."""


# --- value parsers: each takes the raw text and raises ValueError(<what was expected>) ----------

_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "f", "no", "n", "off"})
_BOOL_EXPECTED = "expected a boolean (1/0/true/false/yes/no/t/f/on/off)"


def parse_bool(raw: str) -> bool:
    """Parse 1/0/true/false/yes/no/t/f/on/off (and y/n), case-insensitively."""
    word = raw.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError(_BOOL_EXPECTED)


def _bool_or_int(raw: str) -> bool:
    """A boolean word, or an integer where non-zero means true (`TRACING=1` and `=true`)."""
    try:
        return parse_bool(raw)
    except ValueError:
        pass
    try:
        return int(raw.strip()) != 0
    except ValueError:
        raise ValueError(_BOOL_EXPECTED + " or an integer") from None


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


def parse_parameters(raw: str) -> dict[str, Any]:
    """Type a `--parameters` JSON list of `{name, value, type}` into constructor kwargs.

    Conversion failures raise `BadParameterError` with the original's messages.
    """
    try:
        entries = json.loads(raw)
    except ValueError:
        entries = None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ValueError("expected a JSON list of {name, value, type} objects")
    return dict(_typed_parameter(entry) for entry in entries)


def _typed_parameter(entry: Mapping[str, Any]) -> tuple[str, Any]:
    name, value, type_ = entry.get("name"), entry.get("value"), entry.get("type")
    if not isinstance(name, str) or not name:
        raise ValueError("every parameter needs a non-empty string 'name'")
    convert = _PARAMETER_CONVERTERS.get(type_) if isinstance(type_, str) else None
    if convert is None:
        valid = ", ".join(PARAMETER_TYPES)
        raise BadParameterError(f"Bad model parameter type: {type_} valid are {valid}")
    try:
        if value is None:
            raise ValueError("no value")
        return name, convert(value)
    except (TypeError, ValueError):
        raise BadParameterError(
            f"Bad model parameter: {name} with value {value} can't be parsed as a {type_}"
        ) from None


def _parameter_int(value: Any) -> int:
    # Reject what int() would silently coerce: True -> 1, 2.5 -> 2.
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError("not an integer")
    return int(value)


def _parameter_bool(value: Any) -> bool:
    return value if isinstance(value, bool) else parse_bool(str(value))


_PARAMETER_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "INT": _parameter_int,
    "FLOAT": float,
    "DOUBLE": float,
    "STRING": str,
    "BOOL": _parameter_bool,
}

_PORT = _int_range(0, 65535)


# --- the option table -----------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    """One setting: its flags, env vars (legacy Seldon names included), parser and default.

    Precedence is the command line, then each env var in order, then the pod annotation, then
    the computed (`derive`) or plain default. An env var set to an empty string counts as unset.
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


# fmt: off
OPTIONS: tuple[Option, ...] = (
    Option("service_type", ("--service-type",), ("SERVICE_TYPE",), _upper, "MODEL",
           "kind of predictive unit; every endpoint is served whatever the type",
           metavar="TYPE", choices=SERVICE_TYPES),
    Option("persistence", ("--persistence",), ("PERSISTENCE",), _int_range(0), 0,
           "deprecated and ignored; non-zero only logs an error", metavar="N", bare="1"),
    Option("parameters", ("--parameters",), ("PREDICTIVE_UNIT_PARAMETERS",), parse_parameters,
           {}, "JSON list of {name, value, type} passed as keyword args to the model class; "
           "type is one of INT, FLOAT, DOUBLE, STRING, BOOL",
           metavar="JSON", shown_default="[]"),
    Option("log_level", ("--log-level",), ("SELDON_LOG_LEVEL",), _upper, "INFO",
           "log level (case-insensitive)", metavar="LEVEL", choices=LOG_LEVELS),
    Option("debug", ("--debug",), ("SELDON_DEBUG",), parse_bool, False,
           "serve REST and metrics with Flask's development server instead of gunicorn "
           "(never Werkzeug's interactive debugger)", metavar="BOOL", bare="true"),
    Option("tracing", ("--tracing",), ("TRACING",), _bool_or_int, False,
           "enable OpenTracing spans (a boolean, or an integer where non-zero is true)",
           metavar="BOOL", bare="true"),
    Option("workers", ("--workers",), ("GUNICORN_WORKERS",), _int_range(1), 1,
           "gunicorn worker processes for REST", metavar="N"),
    Option("threads", ("--threads",), ("GUNICORN_THREADS",), _int_range(1), 1,
           "threads per gunicorn worker (more than 1 selects the gthread worker)", metavar="N"),
    Option("max_requests", ("--max-requests",), ("GUNICORN_MAX_REQUESTS",), _int_range(0), 0,
           "recycle a gunicorn worker after this many requests (0: never)", metavar="N"),
    Option("max_requests_jitter", ("--max-requests-jitter",), ("GUNICORN_MAX_REQUESTS_JITTER",),
           _int_range(0), 0, "random jitter added to --max-requests", metavar="N"),
    Option("keepalive", ("--keepalive",), ("GUNICORN_KEEPALIVE",), _int_range(0), 2,
           "seconds to wait on a keep-alive connection (gthread only)", metavar="SECONDS"),
    Option("single_threaded", ("--single-threaded",), ("FLASK_SINGLE_THREADED",), _bool_or_int,
           False, "serve REST with one thread per worker, for models that are not thread-safe",
           metavar="BOOL", bare="true"),
    Option("http_port", ("--http-port",), ("PREDICTIVE_UNIT_HTTP_SERVICE_PORT",), _PORT, 9000,
           "REST port", metavar="PORT"),
    Option("grpc_port", ("--grpc-port",), ("PREDICTIVE_UNIT_GRPC_SERVICE_PORT",), _PORT, 5000,
           "gRPC port", metavar="PORT"),
    Option("metrics_port", ("--metrics-port",), ("PREDICTIVE_UNIT_METRICS_SERVICE_PORT",), _PORT,
           6000, "Prometheus metrics port", metavar="PORT"),
    Option("bind_address", ("--bind-address",), ("SELDON_BIND_ADDRESS",), _text, "0.0.0.0",
           "address the REST, gRPC and metrics servers listen on", metavar="ADDRESS"),
    Option("pidfile", ("--pidfile",), (), _text, None,
           "write the REST master's PID to this file", metavar="PATH", shown_default="none"),
    Option("access_log", ("--access-log",), ("GUNICORN_ACCESS_LOG",), parse_bool, False,
           "write gunicorn access logs to stdout", metavar="BOOL", bare="true"),
    Option("grpc_threads", ("--grpc-threads",), ("GRPC_THREADS",), _int_range(1), 1,
           "thread pool size of each gRPC worker", metavar="N"),
    Option("grpc_workers", ("--grpc-workers",), ("GRPC_WORKERS",), _int_range(0), 1,
           "gRPC server processes (0 disables gRPC)", metavar="N"),
    Option("metrics_endpoint", (), ("PREDICTIVE_UNIT_METRICS_ENDPOINT",), _url_path, "/metrics",
           "path of the Prometheus endpoint on the metrics port", metavar="PATH"),
    Option("payload_passthrough", (), ("PAYLOAD_PASSTHROUGH",), parse_bool, False,
           "hand *_raw hooks the undecoded request body", metavar="BOOL"),
    Option("filter_metrics_access_logs", (), ("FILTER_METRICS_ACCESS_LOGS",), parse_bool, None,
           "drop access-log lines for the metrics path", metavar="BOOL",
           derive=lambda resolved: not resolved["debug"], shown_default="true unless debug"),
    Option("include_metrics_in_client_response", (), ("INCLUDE_METRICS_IN_CLIENT_RESPONSE",),
           parse_bool, True, "keep custom metrics in the response's meta.metrics",
           metavar="BOOL"),
    Option("model_metadata", (), ("MODEL_METADATA",), _raw, "",
           "model metadata as YAML or JSON, overriding init_metadata()", metavar="YAML",
           shown_default="unset"),
    Option("predictive_unit_id", (), ("PREDICTIVE_UNIT_ID",), _raw, "",
           "graph node name (requestPath key, metrics model_name)", metavar="NAME",
           shown_default="unset"),
    Option("predictive_unit_image", (), ("PREDICTIVE_UNIT_IMAGE",), _raw, "",
           "container image (requestPath value, metrics and metadata name/version)",
           metavar="IMAGE", shown_default="unset"),
    Option("predictor_id", (), ("PREDICTOR_ID",), _raw, NOT_IMPLEMENTED,
           "predictor name (metrics label)", metavar="NAME"),
    Option("predictor_version", (), ("PREDICTOR_LABELS",), _labels_version, NOT_IMPLEMENTED,
           "predictor labels as JSON; its 'version' is a metrics label", metavar="JSON"),
    Option("deployment_id", (), ("SELDON_DEPLOYMENT_ID",), _raw, NOT_IMPLEMENTED,
           "SeldonDeployment name (metrics label)", metavar="NAME"),
    Option("executor_enabled", (), ("SELDON_EXECUTOR_ENABLED",), parse_bool, True,
           "false is the legacy mode: feedback reward metrics are not recorded", metavar="BOOL"),
    Option("jaeger_agent_host", (), ("JAEGER_AGENT_HOST",), _text, "0.0.0.0",
           "Jaeger agent host (jaeger tracer)", metavar="HOST"),
    Option("jaeger_agent_port", (), ("JAEGER_AGENT_PORT",), _PORT, 5775,
           "Jaeger agent UDP port (jaeger tracer)", metavar="PORT"),
    Option("jaeger_config_path", (), ("JAEGER_CONFIG_PATH",), _text, None,
           "YAML jaeger-client config file, replacing the built-in one", metavar="PATH",
           shown_default="unset"),
    Option("jaeger_extra_tags", (), ("JAEGER_EXTRA_TAGS",), _tags, (),
           "comma-separated Flask request attributes added as tags to REST spans",
           metavar="NAMES", shown_default="unset"),
    Option("tracing_backend", ("--tracing-backend",), ("SELDON_TRACING_BACKEND",), _lower,
           "otel", "tracer behind the OpenTracing API: otel (OpenTelemetry SDK exporting OTLP) "
           "or jaeger (legacy jaeger-client; install seldon-server[jaeger])",
           metavar="BACKEND", choices=("otel", "jaeger")),
    Option("otlp_endpoint", (), ("OTEL_EXPORTER_OTLP_ENDPOINT",), _text, None,
           "OTLP collector endpoint for the OpenTelemetry tracer", metavar="URL",
           shown_default="unset"),
    Option("use_multiprocess_package", (), ("USE_MULTIPROCESS_PACKAGE",), _raw, None,
           "accepted for compatibility and ignored (no multiprocessing IPC is used)",
           ignored=True),
    Option("annotations_path", ("--annotations-path",), ("SELDON_ANNOTATIONS_PATH",), _text,
           DEFAULT_ANNOTATIONS_PATH, "Kubernetes downward-API annotations file", metavar="PATH"),
    Option("rest_timeout", ("--timeout",), ("GUNICORN_TIMEOUT",), _int_range(0),
           DEFAULT_REST_TIMEOUT, "REST worker timeout in seconds (0 disables it)",
           metavar="SECONDS", annotation=REST_TIMEOUT_ANNOTATION,
           annotation_parse=_timeout_from_ms,
           shown_default=f"from the annotation (ms, at least 1 s), else {DEFAULT_REST_TIMEOUT}"),
    Option("grpc_max_message_size", ("--grpc-max-message-size",),
           ("SELDON_GRPC_MAX_MESSAGE_SIZE",), _int_range(1), None,
           "gRPC max send and receive message size in bytes", metavar="BYTES",
           annotation=GRPC_MAX_MESSAGE_SIZE_ANNOTATION, annotation_parse=_int_range(1),
           shown_default="annotation, else grpcio's default"),
    Option("max_request_size", ("--max-request-size",), ("SELDON_MAX_REQUEST_SIZE",),
           _int_range(1), DEFAULT_MAX_REQUEST_SIZE, "largest REST request body in bytes",
           metavar="BYTES", shown_default=f"{DEFAULT_MAX_REQUEST_SIZE} (100 MiB)"),
    Option("preload", ("--preload",), ("SELDON_PRELOAD",), parse_bool, False,
           "load the model once before forking workers (for fork-safe models)",
           metavar="BOOL", bare="true"),
    Option("graceful_timeout", ("--graceful-timeout",), ("SELDON_GRACEFUL_TIMEOUT",),
           _non_negative_float, 30.0, "seconds to drain in-flight requests on shutdown",
           metavar="SECONDS", shown_default="30"),
    Option("flask_config", (), tuple(f"FLASK_{name}" for name in FLASK_BOOL_SETTINGS), parse_bool,
           {}, "booleans copied into the Flask config of the REST and metrics apps",
           metavar="BOOL", gather_prefix="FLASK_", shown_default="unset"),
    Option("flask_debug", (), ("FLASK_DEBUG",), _raw, None,
           "never honoured: Werkzeug's interactive debugger is a remote shell", ignored=True),
)
# fmt: on

_BY_FLAG: dict[str, Option] = {flag: opt for opt in OPTIONS for flag in opt.flags}


# --- the resolved settings ------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """Every server setting, resolved once by `resolve()`; see `help_text()` for each option."""

    interface_name: str
    service_type: str
    persistence: int
    parameters: dict[str, Any]
    log_level: str
    debug: bool
    tracing: bool
    workers: int
    threads: int
    max_requests: int
    max_requests_jitter: int
    keepalive: int
    single_threaded: bool
    http_port: int
    grpc_port: int
    metrics_port: int
    bind_address: str
    pidfile: str | None
    access_log: bool
    grpc_threads: int
    grpc_workers: int
    metrics_endpoint: str
    payload_passthrough: bool
    filter_metrics_access_logs: bool
    include_metrics_in_client_response: bool
    model_metadata: str
    predictive_unit_id: str
    predictive_unit_image: str
    predictor_id: str
    predictor_version: str
    deployment_id: str
    executor_enabled: bool
    jaeger_agent_host: str
    jaeger_agent_port: int
    jaeger_config_path: str | None
    jaeger_extra_tags: tuple[str, ...]
    tracing_backend: str
    otlp_endpoint: str | None
    annotations_path: str
    rest_timeout: int
    grpc_max_message_size: int | None
    max_request_size: int
    preload: bool
    graceful_timeout: float
    flask_config: dict[str, bool]

    @property
    def rest_threads(self) -> int:
        """Threads per REST worker: 1 when single-threaded, else `threads`."""
        return 1 if self.single_threaded else self.threads


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
    return Settings(**sources.resolved)


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
            from_env = _env(self.environ, name)
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
            raw = _env(self.environ, name)
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


def _env(environ: Mapping[str, str], name: str) -> str | None:
    # Templates often render an unset value as VAR="": treat it as unset, not as garbage.
    raw = environ.get(name)
    return raw if raw is not None and raw.strip() else None


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
    except (ValueError, BadParameterError) as exc:
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
        "annotation, else its default. An env var set to an empty string counts as unset.",
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
