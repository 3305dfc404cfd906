"""The batch processor's options: one declarative table, resolved once as CLI > env > default."""

from __future__ import annotations

import argparse
import enum
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from seldon_server.batch.shard import (
    JOB_INDEX_ENV,
    PLACEHOLDER,
    Shard,
    default_output_path,
    output_path,
)
from seldon_server.options import env_value, parse_bool

PROG = "seldon-batch-processor"


class ExitCode(enum.IntEnum):
    """Process exit codes; documented in `--help`."""

    OK = 0  # every input line has a success line in the output
    LINES_FAILED = 1  # the run finished, but some output lines are error lines
    USAGE = 2  # bad flags, env vars or option combination; nothing was sent
    IO_ERROR = 3  # the input could not be read or the output could not be written
    INTERRUPTED = 130  # SIGINT/SIGTERM: the output holds what finished; rerun with --resume


_EXIT_CODE_TEXT = {
    ExitCode.OK: "every line succeeded",
    ExitCode.LINES_FAILED: "some lines failed (their output lines hold the error)",
    ExitCode.USAGE: "usage or configuration error; nothing was sent",
    ExitCode.IO_ERROR: "the input could not be read or the output could not be written",
    ExitCode.INTERRUPTED: "interrupted by SIGINT/SIGTERM; finish the job with --resume",
}


class ConfigError(Exception):
    """A one-line description of a bad option value or combination."""


@dataclass(frozen=True, slots=True)
class Option:
    """One row of the option table: the flag, its env var, its type and its default."""

    dest: str
    flag: str
    short: str | None
    env: str
    default: Any
    help: str
    convert: Callable[[str], Any] = str
    choices: tuple[str, ...] = ()
    switch: bool = False  # a flag that takes no value (`--benchmark`)


# `-t` is `--transport` (docs/compatibility.md): the original also gave it to `--batch-interval`,
# which silently won, so `-t grpc` failed. `--batch-interval` keeps its long form only.
# fmt: off
OPTIONS: tuple[Option, ...] = (
    Option("deployment_name", "--deployment-name", "-d", "SELDON_BATCH_DEPLOYMENT_NAME", None,
           "The name of the SeldonDeployment to send the requests to [required]"),
    Option("gateway_type", "--gateway-type", "-g", "SELDON_BATCH_GATEWAY_TYPE", "istio",
           "Send through the ingress (istio/ambassador) or straight to the service (seldon)",
           choices=("ambassador", "istio", "seldon")),
    Option("namespace", "--namespace", "-n", "SELDON_BATCH_NAMESPACE", "default",
           "The Kubernetes namespace of the SeldonDeployment"),
    Option("host", "--host", "-h", "SELDON_BATCH_HOST",
           "istio-ingressgateway.istio-system.svc.cluster.local:80",
           "host:port (no scheme) of the ingress or of the model's service"),
    Option("transport", "--transport", "-t", "SELDON_BATCH_TRANSPORT", "rest",
           "Transport: REST or gRPC", choices=("rest", "grpc")),
    Option("protocol", "--protocol", None, "SELDON_BATCH_PROTOCOL", "seldon",
           "Wire protocol: Seldon's SeldonMessage API (seldon), or the Open Inference Protocol "
           "(v2: POST /v2/models/<deployment-name>/infer, gRPC inference.GRPCInferenceService/"
           "ModelInfer; predict only, see below)", choices=("seldon", "v2")),
    Option("data_type", "--data-type", "-a", "SELDON_BATCH_DATA_TYPE", "data",
           "What each input line is: an array (data), any JSON value (json), a JSON string (str) "
           "or a whole request sent as it is (raw: a SeldonMessage, or a V2 inference request "
           "with --protocol v2)", choices=("data", "json", "str", "raw")),
    Option("payload_type", "--payload-type", "-p", "SELDON_BATCH_PAYLOAD_TYPE", "ndarray",
           "How a `data` line is encoded in the request (--protocol seldon only)",
           choices=("ndarray", "tensor", "tftensor")),
    Option("workers", "--workers", "-w", "SELDON_BATCH_WORKERS", 1,
           "Number of parallel request workers (each keeps one connection)", convert=int),
    Option("retries", "--retries", "-r", "SELDON_BATCH_RETRIES", 3,
           "Attempts per request (as the original: the total, not extra ones) for connection "
           "errors, timeouts, HTTP 5xx and 429 and gRPC UNAVAILABLE/CANCELLED/DEADLINE_EXCEEDED/"
           "RESOURCE_EXHAUSTED; never for other answers such as HTTP 400. An overloaded server's "
           "Retry-After is honoured, up to 60 s", convert=int),
    Option("input_data_path", "--input-data-path", "-i", "SELDON_BATCH_INPUT_DATA_PATH",
           Path("/assets/input-data.txt"), "The input file, one request per line", convert=Path),
    Option("output_data_path", "--output-data-path", "-o", "SELDON_BATCH_OUTPUT_DATA_PATH", None,
           "The output file, one line per input line; `{shard}` in it becomes the shard index "
           "[default: beside the input, e.g. input-data.out.txt, or input-data.out-<i>.txt for "
           "shard i; never the input itself]", convert=Path),
    Option("method", "--method", "-m", "SELDON_BATCH_METHOD", "predict",
           "predict, or feedback (needs --data-type raw; each line a Feedback message)",
           choices=("predict", "feedback")),
    Option("log_level", "--log-level", "-l", "SELDON_BATCH_LOG_LEVEL", "info",
           "Log level", choices=("debug", "info", "warning", "error")),
    Option("benchmark", "--benchmark", "-b", "SELDON_BATCH_BENCHMARK", False,
           "Log the elapsed time and rows/s at the default level", convert=parse_bool, switch=True),
    Option("batch_id", "--batch-id", "-u", "SELDON_BATCH_ID", None,
           "Batch id sent with every request [default: a new uuid1, or the one in the output "
           "file when resuming]"),
    Option("batch_size", "--batch-size", "-s", "SELDON_BATCH_SIZE", 1,
           "Lines per request (micro-batching; data type data or raw); responses are split back "
           "so the output looks as with batch size 1", convert=int),
    Option("batch_interval", "--batch-interval", None, "SELDON_BATCH_MIN_INTERVAL", 0.0,
           "Minimum seconds each worker spends per request (rate limiting)", convert=float),
    Option("use_ssl", "--use-ssl", None, "SELDON_BATCH_USE_SSL", False,
           "Use TLS (https / secure gRPC channel)", convert=parse_bool),
    Option("call_credentials_token", "--call-credentials-token", None,
           "SELDON_BATCH_CALL_CREDENTIALS_TOKEN", "",
           "Sent as X-Auth-Token (REST) or x-auth-token metadata (gRPC); implies TLS"),
    Option("ssl_verify", "--ssl-verify", None, "SELDON_BATCH_SSL_VERIFY", True,
           "Verify the server certificate (REST; gRPC always verifies)", convert=parse_bool),
    Option("unordered", "--unordered", None, "SELDON_BATCH_UNORDERED", False,
           "Write output lines as they complete instead of in input order",
           convert=parse_bool, switch=True),
    Option("resume", "--resume", None, "SELDON_BATCH_RESUME", False,
           "Keep the lines already in the output file and process only the missing ones",
           convert=parse_bool, switch=True),
    Option("timeout", "--timeout", None, "SELDON_BATCH_TIMEOUT", 60.0,
           "Seconds before one request attempt is abandoned", convert=float),
    Option("retry_backoff", "--retry-backoff", None, "SELDON_BATCH_RETRY_BACKOFF", 0.2,
           "First retry delay in seconds; doubles per attempt (capped at 10 s), with jitter",
           convert=float),
    Option("grpc_channels", "--grpc-channels", None, "SELDON_BATCH_GRPC_CHANNELS", 1,
           "gRPC connections the workers share; more spread the load over a server's gRPC "
           "processes, at some client CPU per row", convert=int),
    Option("shard_count", "--shard-count", None, "SELDON_BATCH_SHARD_COUNT", None,
           "Split the job over this many processes (see sharding below)", convert=int),
    Option("shard_index", "--shard-index", None, "SELDON_BATCH_SHARD_INDEX", None,
           f"This process's shard, 0 to --shard-count - 1; needs --shard-count. If unset, "
           f"{JOB_INDEX_ENV} (set by a Kubernetes Indexed Job) is used, but only when "
           "--shard-count is set", convert=int),
)
# fmt: on


@dataclass(frozen=True, slots=True)
class BatchConfig:
    """Every setting of one run, resolved and validated."""

    deployment_name: str
    gateway_type: str
    namespace: str
    host: str
    transport: str
    protocol: str
    data_type: str
    payload_type: str
    workers: int
    retries: int
    input_data_path: Path
    output_data_path: Path
    method: str
    log_level: str
    benchmark: bool
    batch_id: str | None
    batch_size: int
    batch_interval: float
    use_ssl: bool
    call_credentials_token: str
    ssl_verify: bool
    unordered: bool
    resume: bool
    timeout: float
    retry_backoff: float
    grpc_channels: int
    shard_count: int | None
    shard_index: int | None

    @property
    def shard(self) -> Shard:
        """The lines this process owns: all of them unless --shard-count is set."""
        if self.shard_count is None or self.shard_index is None:
            return Shard()
        return Shard(self.shard_index, self.shard_count)

    @property
    def tls(self) -> bool:
        """TLS is on with --use-ssl or a token, as the original's call credentials did."""
        return self.use_ssl or bool(self.call_credentials_token)

    @property
    def attempts(self) -> int:
        """Total attempts per request; 0 retries still sends once."""
        return max(1, self.retries)


class Parser(argparse.ArgumentParser):
    """argparse that raises ConfigError (one line, exit 2 in main) instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError(message)


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Click-like help rows: `-d, --deployment-name TEXT`."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=36, width=100)

    def _format_action_invocation(self, action: argparse.Action) -> str:
        if not action.option_strings:  # a positional argument (merge's SHARD_FILE)
            return super()._format_action_invocation(action)
        names = ", ".join(action.option_strings)
        if action.nargs == 0:
            return names
        return f"{names} {self._format_args(action, action.dest.upper())}"


_METAVARS: dict[Any, str] = {int: "INTEGER", float: "FLOAT", Path: "PATH", parse_bool: "BOOLEAN"}


def _metavar(opt: Option) -> str:
    if opt.choices:
        return "[" + "|".join(opt.choices) + "]"
    return _METAVARS.get(opt.convert, "TEXT")


def build_parser() -> argparse.ArgumentParser:
    """The argparse front of the table; values stay text so CLI and env convert alike."""
    parser = Parser(
        prog=PROG,
        add_help=False,  # -h is --host, as in the original
        allow_abbrev=False,
        formatter_class=Formatter,
        description="Send every line of an input file to a Seldon deployment through parallel\n"
        "workers and write one output line per input line, in input order.\n\n"
        f"  {PROG} merge --help    join the outputs of a sharded job (--shard-count)",
        epilog=_epilog(),
    )
    for opt in OPTIONS:
        names = ([opt.short] if opt.short else []) + [opt.flag]
        text = f"{opt.help} [env {opt.env}" + (
            "]" if opt.default is None else f"; default {_show(opt.default)}]"
        )
        if opt.switch:
            parser.add_argument(
                *names, dest=opt.dest, action="store_const", const="true", help=text
            )
        else:
            parser.add_argument(
                *names, dest=opt.dest, choices=opt.choices or None, metavar=_metavar(opt), help=text
            )
    parser.add_argument("--help", action="help", help="Show this message and exit")
    return parser


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value) if value != "" else '""'


def _epilog() -> str:
    lines = [
        "Each option comes from the command line, else its env var, else its default. An env var",
        "that is empty or blank counts as unset. Booleans accept 1/0/true/false/yes/no/t/f/on/off.",
        "",
        "sharding (scale out, e.g. as a Kubernetes Indexed Job):",
        "  Run N copies with --shard-count N and --shard-index 0..N-1 (or JOB_COMPLETION_INDEX).",
        "  Copy i sends the input lines whose 0-based number mod N is i (round-robin: balanced",
        "  shards without knowing the input's length) and writes them, with their global line",
        "  numbers as batch_index, to its own output: give each copy its own path, e.g.",
        "  -o /out/part-{shard}.txt ({shard} becomes the index). --resume finishes one shard.",
        f"  Then `{PROG} merge -i INPUT -o OUT /out/part-*.txt` checks that every",
        "  input line is there once and writes them in input order (merge --help).",
        "",
        "--protocol v2 (the Open Inference Protocol):",
        "  A data line is a JSON array, sent as one tensor named input-0 (shape from the nesting;",
        "  BOOL, INT64, FP64, or BYTES for strings), or a whole V2 inference request (an object",
        '  with "inputs"), sent as it is. A str line is one BYTES element (content_type str); a',
        "  raw line must be a V2 inference request. --data-type json and --method feedback are",
        "  refused. Every request carries batch_id, batch_instance_id and batch_index in its",
        "  parameters; each output line is the V2 response with them in its parameters (added",
        "  when the server does not echo them). gRPC responses are written in the REST JSON form.",
        "  --batch-size N joins array lines of two or more dimensions along the first axis into",
        "  one request (with batch_id only, as with seldon) and splits every output back by each",
        "  line's rows; V2 request lines go alone. A failed line gets the usual error line.",
        "",
        "exit codes:",
    ]
    lines += [f"  {int(code):<4} {code.name}: {_EXIT_CODE_TEXT[code]}" for code in ExitCode]
    return "\n".join(lines)


def resolve(argv: Sequence[str], environ: Mapping[str, str]) -> BatchConfig:
    """Resolve and validate every option (CLI > env > default); raises ConfigError."""
    parsed = build_parser().parse_args(list(argv))
    values = {opt.dest: _value(opt, getattr(parsed, opt.dest), environ) for opt in OPTIONS}
    values["shard_index"] = _shard_index(values["shard_count"], values["shard_index"], environ)
    values["output_data_path"] = _output_path(values)
    config = BatchConfig(**values)
    validate(config)
    return config


def _value(opt: Option, cli: str | None, environ: Mapping[str, str]) -> Any:
    if cli is not None:
        text, source = cli, opt.flag
    elif (from_env := env_value(environ, opt.env)) is not None:
        text, source = from_env, opt.env
    else:
        return opt.default
    if opt.choices and text not in opt.choices:
        raise ConfigError(f"{source}: {text!r} is not one of {', '.join(opt.choices)}")
    try:
        return opt.convert(text)
    except ValueError as exc:
        raise ConfigError(f"{source}: invalid value {text!r} ({exc})") from None


def _shard_index(count: int | None, index: int | None, environ: Mapping[str, str]) -> int | None:
    """The validated shard index; JOB_COMPLETION_INDEX stands in for an unset one, but only when
    --shard-count is set, so an Indexed Job of unsharded copies does not turn sharded."""
    source = "--shard-index"
    if count is not None and index is None and (text := env_value(environ, JOB_INDEX_ENV)):
        try:
            index, source = int(text), JOB_INDEX_ENV
        except ValueError:
            raise ConfigError(f"{JOB_INDEX_ENV}: invalid value {text!r}") from None
    if count is None:
        if index is not None:
            raise ConfigError("--shard-index needs --shard-count (or SELDON_BATCH_SHARD_COUNT)")
        return None
    if count < 1:
        raise ConfigError(f"--shard-count must be at least 1, got {count}")
    if index is None:
        raise ConfigError(f"--shard-count needs --shard-index (or SELDON_BATCH_SHARD_INDEX, or "
                          f"{JOB_INDEX_ENV} in a Kubernetes Indexed Job)")  # fmt: skip
    if not 0 <= index < count:
        raise ConfigError(f"{source} must be from 0 to {count - 1} for --shard-count {count}, "
                          f"got {index}")  # fmt: skip
    return index


def _output_path(values: dict[str, Any]) -> Path:
    index: int | None = values["shard_index"]
    path: Path | None = values["output_data_path"]
    if path is None:
        return default_output_path(values["input_data_path"], index)
    if PLACEHOLDER not in str(path):
        return path
    if index is None:
        raise ConfigError(f"--output-data-path {path} has {PLACEHOLDER} but no --shard-count")
    return output_path(path, index)


def same_file(a: Path, b: Path) -> bool:
    """True if both paths name one file (symlinks and hard links included)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def validate(config: BatchConfig) -> None:
    """Reject bad values and combinations before any request is sent."""
    # fmt: off
    checks: list[tuple[bool, str]] = [
        (not config.deployment_name,
         "--deployment-name is required (or set SELDON_BATCH_DEPLOYMENT_NAME)"),
        (not config.host or "://" in config.host or "/" in config.host,
         f"--host must be host:port without a scheme or path, got {config.host!r}"),
        (config.workers < 1, f"--workers must be at least 1, got {config.workers}"),
        (config.retries < 0, f"--retries must not be negative, got {config.retries}"),
        (config.batch_size < 1, f"--batch-size must be at least 1, got {config.batch_size}"),
        (config.batch_interval < 0, "--batch-interval must not be negative"),
        (not config.timeout > 0, f"--timeout must be positive, got {config.timeout}"),
        (config.retry_backoff < 0, "--retry-backoff must not be negative"),
        (config.grpc_channels < 1, "--grpc-channels must be at least 1"),
        # Checked before the feedback rules below, so that V2 feedback gets the V2 answer.
        (config.protocol == "v2" and config.method == "feedback",
         "--method feedback is not available with --protocol v2: the Open Inference Protocol "
         "has no feedback"),
        (config.protocol == "v2" and config.data_type == "json",
         "--data-type json is not available with --protocol v2: send arrays with --data-type "
         "data, or whole V2 inference requests with --data-type raw"),
        (config.protocol == "v2" and config.payload_type != "ndarray",
         "--payload-type is for --protocol seldon: V2 tensors name their own datatype"),
        (config.method == "feedback" and config.data_type != "raw",
         f"--method feedback needs --data-type raw, got {config.data_type}"),
        (config.method == "feedback" and config.batch_size > 1,
         "--method feedback sends one Feedback per request: use --batch-size 1"),
        (config.batch_size > 1 and config.data_type not in ("data", "raw"),
         f"--batch-size > 1 needs --data-type data or raw, got {config.data_type}"),
        (same_file(config.input_data_path, config.output_data_path),
         f"--output-data-path {config.output_data_path} is the input file; refusing to "
         "overwrite it"),
    ]
    # fmt: on
    for failed, message in checks:
        if failed:
            raise ConfigError(message)
