"""Tests for settings resolution: precedence, parsing, errors and help text."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pytest

from seldon_server.options import parse_bool
from seldon_server.settings import (
    DEFAULT_MAX_REQUEST_SIZE,
    OPTIONS,
    HelpRequested,
    Settings,
    SettingsError,
    help_text,
    resolve,
)

MODEL = "MyModel"


def _resolve(
    argv: list[str] | None = None,
    env: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> Settings:
    return resolve([MODEL, *(argv or [])], env or {}, lambda _path: annotations or {})


def _error(
    argv: list[str] | None = None,
    env: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> str:
    with pytest.raises(SettingsError) as info:
        _resolve(argv, env, annotations)
    message = str(info.value)
    assert "\n" not in message
    return message


# Expected defaults: also pins the exact attribute names other modules use.
DEFAULTS: dict[str, Any] = {
    "interface_name": MODEL,
    "service_type": "MODEL",
    "persistence": 0,
    "parameters": [],
    "log_level": "INFO",
    "debug": False,
    "tracing": False,
    "workers": 1,
    "threads": 1,
    "max_requests": 0,
    "max_requests_jitter": 0,
    "keepalive": 2,
    "single_threaded": False,
    "http_port": 9000,
    "grpc_port": 5000,
    "metrics_port": 6000,
    "bind_address": "0.0.0.0",
    "pidfile": None,
    "access_log": False,
    "grpc_threads": 1,
    "grpc_workers": 1,
    "metrics_endpoint": "/metrics",
    "payload_passthrough": False,
    "filter_metrics_access_logs": True,
    "include_metrics_in_client_response": True,
    "model_metadata": "",
    "predictive_unit_id": "",
    "model_name": "",
    "predictive_unit_image": "",
    "predictor_id": "NOT_IMPLEMENTED",
    "predictor_version": "NOT_IMPLEMENTED",
    "deployment_id": "NOT_IMPLEMENTED",
    "executor_enabled": True,
    "jaeger_agent_host": "0.0.0.0",
    "jaeger_agent_port": 5775,
    "jaeger_config_path": None,
    "jaeger_extra_tags": (),
    "tracing_backend": "otel",
    "otlp_endpoint": None,
    "annotations_path": "/etc/podinfo/annotations",
    "rest_timeout": 60,
    "grpc_max_message_size": None,
    "max_request_size": DEFAULT_MAX_REQUEST_SIZE,
    "preload": False,
    "max_batch_size": 0,
    "max_batch_time": 5.0,
    "max_admitted": 0,
    "request_timeout": 0.0,
    "graceful_timeout": 30.0,
    "server_type": "rest",
    "kafka_broker": None,
    "kafka_input_topic": None,
    "kafka_output_topic": None,
    "kafka_dead_letter_topic": None,
    "kafka_workers": 1,
    "kafka_auto_commit": True,
    "kafka_group_id": None,
    "namespace": "default",
    "kafka_security_protocol": "plaintext",
    "kafka_ssl_ca_cert": "",
    "kafka_ssl_client_cert": "",
    "kafka_ssl_client_key": "",
    "kafka_ssl_ca_cert_file": "",
    "kafka_ssl_client_cert_file": "",
    "kafka_ssl_client_key_file": "",
    "kafka_ssl_client_key_pass": "",
    "kafka_sasl_username": "",
    "kafka_sasl_password": "",
    "kafka_sasl_mechanism": "PLAIN",
    "log_url": None,
    "log_kafka_broker": None,
    "log_kafka_topic": None,
    "log_mode": "all",
    "logger_workers": 2,
    "log_work_buffer_size": 10000,
    "flask_config": {},
}

# attribute -> (command-line raw, its value, env raw, its value); None when there is no flag/env.
SAMPLES: dict[str, tuple[str | None, Any, str | None, Any]] = {
    "service_type": ("router", "ROUTER", "COMBINER", "COMBINER"),
    "persistence": ("2", 2, "1", 1),
    "parameters": (
        '[{"name": "a", "value": "1", "type": "INT"}]',
        [{"name": "a", "value": "1", "type": "INT"}],
        '[{"name": "b", "value": "x", "type": "STRING"}]',
        [{"name": "b", "value": "x", "type": "STRING"}],
    ),
    "log_level": ("error", "ERROR", "debug", "DEBUG"),
    "debug": ("false", False, "true", True),
    "tracing": ("0", False, "true", True),
    "workers": ("4", 4, "2", 2),
    "threads": ("8", 8, "3", 3),
    "max_requests": ("100", 100, "50", 50),
    "max_requests_jitter": ("10", 10, "5", 5),
    "keepalive": ("5", 5, "7", 7),
    "single_threaded": ("0", False, "1", True),
    "http_port": ("8080", 8080, "8081", 8081),
    "grpc_port": ("5001", 5001, "5002", 5002),
    "metrics_port": ("6001", 6001, "6002", 6002),
    "bind_address": ("127.0.0.1", "127.0.0.1", "::1", "::1"),
    "pidfile": ("/tmp/seldon.pid", "/tmp/seldon.pid", None, None),
    "access_log": ("no", False, "yes", True),
    "grpc_threads": ("4", 4, "2", 2),
    "grpc_workers": ("0", 0, "3", 3),
    "metrics_endpoint": (None, None, "/prometheus", "/prometheus"),
    "payload_passthrough": (None, None, "on", True),
    "filter_metrics_access_logs": (None, None, "off", False),
    "include_metrics_in_client_response": (None, None, "false", False),
    "model_metadata": (None, None, "name: x", "name: x"),
    "predictive_unit_id": (None, None, "classifier", "classifier"),
    "model_name": ("iris", "iris", "wine", "wine"),
    "predictive_unit_image": (None, None, "repo/img:1.0", "repo/img:1.0"),
    "predictor_id": (None, None, "default", "default"),
    "predictor_version": (None, None, '{"version": "v2", "app": "x"}', "v2"),
    "deployment_id": (None, None, "mydep", "mydep"),
    "executor_enabled": (None, None, "false", False),
    "jaeger_agent_host": (None, None, "jaeger", "jaeger"),
    "jaeger_agent_port": (None, None, "6831", 6831),
    "jaeger_config_path": (None, None, "/etc/jaeger.yaml", "/etc/jaeger.yaml"),
    "jaeger_extra_tags": (None, None, "path, ,method,", ("path", "method")),
    "tracing_backend": ("otel", "otel", "JAEGER", "jaeger"),
    "otlp_endpoint": (None, None, "http://collector:4317", "http://collector:4317"),
    "annotations_path": ("/a/annotations", "/a/annotations", "/b/annotations", "/b/annotations"),
    "rest_timeout": ("30", 30, "90", 90),
    "grpc_max_message_size": ("1024", 1024, "2048", 2048),
    "max_request_size": ("1000", 1000, "2000", 2000),
    "preload": ("0", False, "1", True),
    "max_batch_size": ("32", 32, "8", 8),
    "max_batch_time": ("2.5", 2.5, "10", 10.0),
    "max_admitted": ("100", 100, "7", 7),
    "request_timeout": ("1.5", 1.5, "30", 30.0),
    "graceful_timeout": ("5", 5.0, "2.5", 2.5),
    "server_type": ("REST", "rest", "KAFKA", "kafka"),
    "kafka_broker": ("a:9092", "a:9092", "b:9092,c:9092", "b:9092,c:9092"),
    "kafka_input_topic": ("in1", "in1", "in2", "in2"),
    "kafka_output_topic": ("out1", "out1", "out2", "out2"),
    "kafka_dead_letter_topic": ("dl1", "dl1", "dl2", "dl2"),
    "kafka_workers": ("2", 2, "3", 3),
    "kafka_auto_commit": ("true", True, "false", False),
    "kafka_group_id": ("g1", "g1", "g2", "g2"),
    "namespace": ("ns1", "ns1", "ns2", "ns2"),
    "kafka_security_protocol": ("SSL", "ssl", "SASL_SSL", "sasl_ssl"),
    "kafka_ssl_ca_cert": ("pem1", "pem1", "pem2", "pem2"),
    "kafka_ssl_client_cert": ("pem1", "pem1", "pem2", "pem2"),
    "kafka_ssl_client_key": ("pem1", "pem1", "pem2", "pem2"),
    "kafka_ssl_ca_cert_file": ("/a", "/a", "/b", "/b"),
    "kafka_ssl_client_cert_file": ("/a", "/a", "/b", "/b"),
    "kafka_ssl_client_key_file": ("/a", "/a", "/b", "/b"),
    "kafka_ssl_client_key_pass": ("p1", "p1", "p2", "p2"),
    "kafka_sasl_username": ("u1", "u1", "u2", "u2"),
    "kafka_sasl_password": ("p1", "p1", "p2", "p2"),
    "kafka_sasl_mechanism": ("scram-sha-256", "SCRAM-SHA-256", "SCRAM-SHA-512", "SCRAM-SHA-512"),
    "log_url": ("http://a:8080/", "http://a:8080/", "https://b/x?y=1", "https://b/x?y=1"),
    "log_kafka_broker": ("a:9092", "a:9092", "b:9092", "b:9092"),
    "log_kafka_topic": ("t1", "t1", "t2", "t2"),
    "log_mode": ("REQUEST", "request", "response", "response"),
    "logger_workers": ("4", 4, "8", 8),
    "log_work_buffer_size": ("100", 100, "50", 50),
    "flask_config": (None, None, "true", {"EXPLAIN_TEMPLATE_LOADING": True}),
}

STORED = [opt for opt in OPTIONS if not opt.ignored]
# What kafka mode cannot start without, for the server_type samples.
KAFKA_NEEDS = {"KAFKA_BROKER": "b:1", "KAFKA_INPUT_TOPIC": "i", "KAFKA_OUTPUT_TOPIC": "o"}
BY_NAME = {opt.name: opt for opt in STORED}
# What else an option's sample needs to resolve: kafka mode its topics, a Kafka log sink its pair.
NEEDS = {
    "server_type": KAFKA_NEEDS,
    "log_kafka_broker": {"LOG_KAFKA_TOPIC": "t"},
    "log_kafka_topic": {"LOG_KAFKA_BROKER": "b:1"},
}


def test_settings_fields_are_exactly_the_documented_names() -> None:
    names = [f.name for f in dataclasses.fields(Settings)]
    assert names == list(DEFAULTS)
    assert [opt.name for opt in STORED] == names[1:]


def test_defaults() -> None:
    assert dataclasses.asdict(_resolve()) == DEFAULTS


def test_every_option_has_a_precedence_sample() -> None:
    assert set(SAMPLES) == set(BY_NAME)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_env_beats_default(name: str) -> None:
    _, _, env_raw, env_value = SAMPLES[name]
    opt = BY_NAME[name]
    if env_raw is None:
        assert not opt.env
        return
    base = NEEDS.get(name, {})
    assert getattr(_resolve(env={**base, opt.env[0]: env_raw}), name) == env_value
    assert env_value != DEFAULTS[name]


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_command_line_beats_env(name: str) -> None:
    cli_raw, cli_value, env_raw, _ = SAMPLES[name]
    opt = BY_NAME[name]
    if cli_raw is None:
        assert not opt.flags
        return
    env = {**NEEDS.get(name, {}), **({opt.env[0]: env_raw} if env_raw is not None else {})}
    for argv in ([opt.flags[0], cli_raw], [f"{opt.flags[0]}={cli_raw}"]):
        assert getattr(_resolve(argv, env), name) == cli_value


def test_settings_are_frozen_and_defaults_not_shared() -> None:
    first, second = _resolve(), _resolve()
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.workers = 2  # type: ignore[misc]
    assert first.parameters is not second.parameters
    assert first.flask_config is not second.flask_config


def test_process_environment_is_never_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUNICORN_WORKERS", "7")
    monkeypatch.setenv("SELDON_DEBUG", "true")
    settings = _resolve()
    assert (settings.workers, settings.debug) == (1, False)


def test_empty_env_value_counts_as_unset() -> None:
    settings = _resolve(env={"GUNICORN_WORKERS": "", "SELDON_DEBUG": "  ", "TRACING": ""})
    assert (settings.workers, settings.debug, settings.tracing) == (1, False, False)


# --- booleans ---------------------------------------------------------------------------------

TRUE_SPELLINGS = ["1", "true", "True", "TRUE", "t", "T", "yes", "Yes", "y", "on", "ON"]
FALSE_SPELLINGS = ["0", "false", "False", "FALSE", "f", "F", "no", "NO", "n", "off", "Off"]


@pytest.mark.parametrize("raw", TRUE_SPELLINGS)
def test_true_spellings(raw: str) -> None:
    assert parse_bool(raw) is True
    assert _resolve(["--debug", raw]).debug is True
    assert _resolve(env={"SELDON_DEBUG": raw}).debug is True


@pytest.mark.parametrize("raw", FALSE_SPELLINGS)
def test_false_spellings(raw: str) -> None:
    assert parse_bool(raw) is False
    assert _resolve(["--access-log", raw]).access_log is False
    assert _resolve(["--debug", raw], {"SELDON_DEBUG": "true"}).debug is False


def test_debug_false_is_false() -> None:
    assert _resolve(["--debug", "false"]).debug is False
    assert _resolve(["--debug=false"]).debug is False


@pytest.mark.parametrize("flag", ["--debug", "--access-log", "--preload", "--tracing"])
def test_bare_boolean_flag_is_true(flag: str) -> None:
    name = flag.removeprefix("--").replace("-", "_")
    assert getattr(_resolve([flag]), name) is True
    assert getattr(_resolve([flag, "--workers", "2"]), name) is True


def test_bare_flag_before_interface_name_takes_it_as_value() -> None:
    # As argparse's nargs="?": the next non-option token is the flag's value.
    with pytest.raises(SettingsError, match="'--debug MyModel' was read as a flag and its value"):
        resolve(["--debug", MODEL], {}, lambda _path: {})
    assert resolve(["--debug", "true", MODEL], {}, lambda _path: {}).debug is True


def test_bare_single_threaded_and_persistence() -> None:
    assert _resolve(["--single-threaded"]).single_threaded is True
    assert _resolve(["--persistence"]).persistence == 1


def test_bad_boolean_names_option_and_source() -> None:
    assert _error(env={"PAYLOAD_PASSTHROUGH": "maybe"}) == (
        "invalid value 'maybe' for PAYLOAD_PASSTHROUGH (from env PAYLOAD_PASSTHROUGH): "
        "expected a boolean (1/0/true/false/yes/no/t/f/on/off)"
    )


# --- int-or-bool options ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), ("TRUE", True), ("1", True), ("2", True), ("0", False), ("false", False)],
)
def test_tracing_accepts_ints_and_booleans(raw: str, expected: bool) -> None:
    assert _resolve(env={"TRACING": raw}).tracing is expected
    assert _resolve(["--tracing", raw]).tracing is expected
    assert _resolve(env={"FLASK_SINGLE_THREADED": raw}).single_threaded is expected


def test_tracing_garbage_is_an_error() -> None:
    message = _error(env={"TRACING": "jaeger"})
    assert message.startswith("invalid value 'jaeger' for --tracing (from env TRACING): ")
    assert "or an integer" in message


def test_rest_threads() -> None:
    assert _resolve(["--threads", "4"]).rest_threads == 4
    assert _resolve(["--threads", "4", "--single-threaded", "1"]).rest_threads == 1


# --- log level --------------------------------------------------------------------------------


def test_log_level_flag_beats_seldon_log_level() -> None:
    # The original let SELDON_LOG_LEVEL win over the flag; CLI > env everywhere here.
    assert (
        _resolve(["--log-level", "WARNING"], {"SELDON_LOG_LEVEL": "DEBUG"}).log_level == "WARNING"
    )
    assert _resolve(env={"SELDON_LOG_LEVEL": "debug"}).log_level == "DEBUG"


def test_bad_log_level() -> None:
    assert _error(env={"SELDON_LOG_LEVEL": "verbose"}) == (
        "invalid value 'verbose' for --log-level (from env SELDON_LOG_LEVEL): "
        "expected one of DEBUG, INFO, WARNING, ERROR"
    )


def test_service_type_choices() -> None:
    assert _resolve(["--service-type", "OUTPUT_TRANSFORMER"]).service_type == "OUTPUT_TRANSFORMER"
    assert "expected one of MODEL, ROUTER" in _error(["--service-type", "EXPLAINER"])


# --- integers ---------------------------------------------------------------------------------


def test_bad_integer_from_env() -> None:
    assert _error(env={"GUNICORN_WORKERS": "abc"}).startswith(
        "invalid value 'abc' for --workers (from env GUNICORN_WORKERS): expected an integer"
    )


def test_bad_integer_from_command_line() -> None:
    message = _error(["--threads", "1.5"])
    assert message.startswith("invalid value '1.5' for --threads (from the command line): ")
    assert "expected an integer" in message


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["--workers", "0"], "--workers"),
        (["--workers", "-1"], "--workers"),
        (["--threads", "0"], "--threads"),
        (["--grpc-threads", "0"], "--grpc-threads"),
        (["--grpc-workers", "-1"], "--grpc-workers"),
        (["--max-requests", "-5"], "--max-requests"),
        (["--keepalive", "-1"], "--keepalive"),
        (["--http-port", "65536"], "--http-port"),
        (["--grpc-port", "-1"], "--grpc-port"),
        (["--metrics-port", "http"], "--metrics-port"),
        (["--max-request-size", "0"], "--max-request-size"),
        (["--grpc-max-message-size", "0"], "--grpc-max-message-size"),
        (["--timeout", "-3"], "--timeout"),
        (["--graceful-timeout", "-1"], "--graceful-timeout"),
        (["--graceful-timeout", "nan"], "--graceful-timeout"),
        (["--persistence", "x"], "--persistence"),
    ],
)
def test_out_of_range_values(argv: list[str], flag: str) -> None:
    assert f"for {flag} (from the command line): expected " in _error(argv)


def test_boundary_values_accepted() -> None:
    settings = _resolve(["--grpc-workers", "0", "--http-port", "0", "--metrics-port", "65535"])
    assert (settings.grpc_workers, settings.http_port, settings.metrics_port) == (0, 0, 65535)
    assert _resolve(["--timeout", "0"]).rest_timeout == 0


def test_env_only_port_error_names_the_env_var() -> None:
    assert _error(env={"JAEGER_AGENT_PORT": "99999"}).startswith(
        "invalid value '99999' for JAEGER_AGENT_PORT (from env JAEGER_AGENT_PORT): "
    )


def test_long_bad_value_is_shortened_to_one_line() -> None:
    message = _error(env={"PREDICTIVE_UNIT_PARAMETERS": "x" * 500 + "\n"})
    assert len(message) < 250


def test_other_string_checks() -> None:
    assert "starting with '/'" in _error(env={"PREDICTIVE_UNIT_METRICS_ENDPOINT": "metrics"})
    assert "non-empty" in _error(["--bind-address", " "])
    assert "JSON object" in _error(env={"PREDICTOR_LABELS": "[1]"})
    assert _resolve(env={"PREDICTOR_LABELS": '{"app": "x"}'}).predictor_version == (
        "NOT_IMPLEMENTED"
    )


# --- parameters -------------------------------------------------------------------------------


def test_parameters_are_kept_as_given_for_the_loader() -> None:
    raw = '[{"name": "i", "value": "3", "type": "INT"}, {"name": "n", "value": 4, "type": "X"}]'
    assert _resolve(["--parameters", raw]).parameters == [
        {"name": "i", "value": "3", "type": "INT"},
        {"name": "n", "value": 4, "type": "X"},  # typed (and rejected) by the loader
    ]
    env = {"PREDICTIVE_UNIT_PARAMETERS": '[{"name": "e", "value": "1", "type": "INT"}]'}
    assert _resolve(env=env).parameters == [{"name": "e", "value": "1", "type": "INT"}]


@pytest.mark.parametrize(
    "raw", ["not json", '{"name": "a"}', "[1, 2]", '[{"value": "1"}]', '[{"name": ""}]']
)
def test_malformed_parameters(raw: str) -> None:
    assert "for --parameters (from the command line): " in _error(["--parameters", raw])
    env = {"PREDICTIVE_UNIT_PARAMETERS": raw}
    assert "for --parameters (from env PREDICTIVE_UNIT_PARAMETERS): " in _error(env=env)


# --- annotations ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("millis", "seconds"), [("100000", 100), ("1500", 1), ("999", 1), ("0", 1), ("2500.0", 2)]
)
def test_rest_timeout_from_annotation(millis: str, seconds: int) -> None:
    assert _resolve(annotations={"seldon.io/rest-timeout": millis}).rest_timeout == seconds


def test_timeout_flag_and_env_beat_annotation() -> None:
    annotations = {"seldon.io/rest-timeout": "100000"}
    env = {"GUNICORN_TIMEOUT": "20"}
    assert _resolve(env=env, annotations=annotations).rest_timeout == 20
    assert _resolve(["--timeout", "10"], env, annotations).rest_timeout == 10


def test_grpc_max_message_size_from_annotation() -> None:
    annotations = {"seldon.io/grpc-max-message-size": "10000000"}
    assert _resolve(annotations=annotations).grpc_max_message_size == 10_000_000
    env = {"SELDON_GRPC_MAX_MESSAGE_SIZE": "2048"}
    assert _resolve(env=env, annotations=annotations).grpc_max_message_size == 2048
    argv = ["--grpc-max-message-size", "1024"]
    assert _resolve(argv, env, annotations).grpc_max_message_size == 1024


def test_bad_annotation_names_annotation_and_file() -> None:
    assert _error(annotations={"seldon.io/rest-timeout": "soon"}) == (
        "invalid value 'soon' for --timeout (from annotation seldon.io/rest-timeout in "
        "/etc/podinfo/annotations): expected milliseconds as a number >= 0"
    )
    message = _error(annotations={"seldon.io/grpc-max-message-size": "-1"})
    assert "annotation seldon.io/grpc-max-message-size" in message


def test_annotations_read_from_configured_path_only_when_needed() -> None:
    paths: list[str] = []

    def reader(path: str) -> Mapping[str, str]:
        paths.append(path)
        return {}

    resolve([MODEL, "--annotations-path", "/x/ann"], {}, reader)
    assert paths == ["/x/ann"]
    paths.clear()
    resolve([MODEL, "--timeout", "5", "--grpc-max-message-size", "9"], {}, reader)
    assert paths == []


def test_unreadable_annotations_file_is_a_settings_error() -> None:
    def reader(path: str) -> Mapping[str, str]:
        raise PermissionError(13, "Permission denied", path)

    with pytest.raises(SettingsError, match="cannot read annotations file '/etc/podinfo"):
        resolve([MODEL], {}, reader)


def test_default_reader_tolerates_a_missing_file() -> None:
    settings = resolve([MODEL, "--annotations-path", "/nonexistent/annotations"], {})
    assert settings.rest_timeout == 60


# --- derived and gathered options ------------------------------------------------------------


def test_filter_metrics_access_logs_defaults_to_not_debug() -> None:
    assert _resolve(["--debug"]).filter_metrics_access_logs is False
    assert _resolve(env={"SELDON_DEBUG": "0"}).filter_metrics_access_logs is True
    env = {"SELDON_DEBUG": "1", "FILTER_METRICS_ACCESS_LOGS": "true"}
    assert _resolve(env=env).filter_metrics_access_logs is True


def test_flask_config_gathers_booleans_but_never_flask_debug() -> None:
    env = {"FLASK_TESTING": "true", "FLASK_JSON_SORT_KEYS": "0", "FLASK_DEBUG": "1"}
    assert _resolve(env=env).flask_config == {"TESTING": True, "JSON_SORT_KEYS": False}


def test_bad_flask_value_names_its_env_var() -> None:
    assert _error(env={"FLASK_TESTING": "sure"}).startswith(
        "invalid value 'sure' for FLASK_TESTING (from env FLASK_TESTING): "
    )


def test_ignored_compatibility_vars_are_accepted() -> None:
    env = {
        "USE_MULTIPROCESS_PACKAGE": "whatever",
        "FLASK_DEBUG": "garbage",
        "KAFKA_FULL_GRAPH": "1",
    }
    assert dataclasses.asdict(_resolve(env=env)) == DEFAULTS


# --- command line shape -----------------------------------------------------------------------


def test_interface_name_anywhere_and_after_double_dash() -> None:
    assert resolve(["--workers", "2", MODEL], {}, lambda _p: {}).interface_name == MODEL
    assert resolve(["--", "-odd.Name"], {}, lambda _p: {}).interface_name == "-odd.Name"


def test_missing_interface_name() -> None:
    with pytest.raises(SettingsError, match="missing INTERFACE_NAME"):
        resolve(["--workers", "2"], {}, lambda _p: {})


def test_api_type_argument_is_rejected() -> None:
    message = _error(["REST"])
    assert "'REST'" in message and "no API type" in message


def test_unknown_option() -> None:
    assert (
        _error(["--frobnicate"]) == "unknown option '--frobnicate' (see seldon-microservice --help)"
    )


def test_flag_without_value() -> None:
    assert _error(["--workers"]) == "option --workers needs a value (N)"
    assert _error(["--workers", "--threads", "2"]) == "option --workers needs a value (N)"


def test_repeated_flag_last_wins() -> None:
    assert _resolve(["--workers", "2", "--workers", "3"]).workers == 3


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_help_requested(flag: str) -> None:
    with pytest.raises(HelpRequested):
        resolve([flag], {}, lambda _p: {})


def test_help_text_lists_every_option() -> None:
    text = help_text()
    assert text.startswith("usage: seldon-microservice INTERFACE_NAME [options]")
    for opt in OPTIONS:
        for name in (*opt.flags, *opt.env):
            assert name in text, name
        assert opt.help.split()[0] in text
    assert "annotation seldon.io/rest-timeout" in text
    assert "else 60" in text


# --- one declaration per option ---------------------------------------------------------------


def test_every_settings_field_is_one_option_row() -> None:
    """Settings is the table: each field but INTERFACE_NAME carries its option, in order."""
    stored = [opt.name for opt in OPTIONS if not opt.ignored]
    assert stored == [f.name for f in dataclasses.fields(Settings)][1:]
    assert all(opt.flags or opt.env for opt in OPTIONS)
    flags = [flag for opt in OPTIONS for flag in opt.flags]
    assert len(flags) == len(set(flags))


def test_empty_env_rule_is_shared_with_the_batch_processor() -> None:
    """Both commands: an empty or blank env var is unset, an empty boolean flag an error."""
    from seldon_server.batch.config import ConfigError
    from seldon_server.batch.config import resolve as resolve_batch

    base = ["--deployment-name", "d", "--input-data-path", "in.txt"]
    for blank in ("", "   "):
        assert resolve_batch(base, {"SELDON_BATCH_USE_SSL": blank}).use_ssl is False
        assert resolve_batch(base, {"SELDON_BATCH_WORKERS": blank}).workers == 1
        assert _resolve(env={"SELDON_DEBUG": blank, "GUNICORN_WORKERS": blank}).debug is False
    with pytest.raises(ConfigError):
        resolve_batch([*base, "--use-ssl", ""], {})
    with pytest.raises(SettingsError):
        _resolve(["--access-log", ""])


# --- kafka mode -------------------------------------------------------------------------------


def test_kafka_mode_names_every_missing_variable() -> None:
    message = _error(["--server-type", "kafka"], {"KAFKA_OUTPUT_TOPIC": "out"})
    assert message == (
        "--server-type kafka needs KAFKA_BROKER (--kafka-broker), "
        "KAFKA_INPUT_TOPIC (--kafka-input-topic)"
    )
    env = {"KAFKA_BROKER": "b:1", "KAFKA_INPUT_TOPIC": "i", "KAFKA_OUTPUT_TOPIC": "o"}
    assert _resolve(["--server-type", "kafka"], env).kafka_broker == "b:1"
    assert _resolve(env={**env, "SERVER_TYPE": "kafka"}).server_type == "kafka"


def test_executor_flag_spellings_are_accepted() -> None:
    argv = ["--kafka_broker", "b:1", "--kafka_input_topic", "i", "--kafka_output_topic", "o"]
    settings = _resolve([*argv, "--kafka_workers", "2", "--kafka_auto_commit", "false"])
    assert (settings.kafka_broker, settings.kafka_workers, settings.kafka_auto_commit) == (
        "b:1",
        2,
        False,
    )


@pytest.mark.parametrize(
    "raw", ["logger:8080", "ftp://logger/", "http://", "http://host:99999/", "not a url", "http:/x"]
)
def test_log_url_must_be_an_http_url(raw: str) -> None:
    with pytest.raises(SettingsError) as info:
        _resolve(["--log-url", raw])
    assert "--log-url" in str(info.value) and "http" in str(info.value)
    assert "\n" not in str(info.value)


def test_log_mode_choices() -> None:
    with pytest.raises(SettingsError, match="--log-mode.*all, request, response"):
        _resolve(["--log-mode", "everything"])
    with pytest.raises(SettingsError, match="SELDON_LOG_MODE"):
        _resolve(env={"SELDON_LOG_MODE": "both"})


def test_kafka_log_sink_needs_broker_and_topic_and_no_url() -> None:
    with pytest.raises(SettingsError, match="--log-kafka-broker needs LOG_KAFKA_TOPIC"):
        _resolve(["--log-kafka-broker", "b:1"])
    with pytest.raises(SettingsError, match="--log-kafka-topic needs LOG_KAFKA_BROKER"):
        _resolve(env={"LOG_KAFKA_TOPIC": "t"})
    with pytest.raises(SettingsError, match="two request-log sinks"):
        _resolve(["--log-url", "http://l/"], {"LOG_KAFKA_BROKER": "b:1", "LOG_KAFKA_TOPIC": "t"})
    argv = ["--log-kafka-broker", "b:1", "--log-kafka-topic", "t", "--log-mode", "response"]
    both = _resolve(argv)
    assert (both.log_kafka_broker, both.log_kafka_topic, both.log_mode) == ("b:1", "t", "response")


def test_executor_flag_spellings_of_the_log_options() -> None:
    argv = ["--log_url", "http://l:1/", "--logger_workers", "3", "--log_work_buffer_size", "7"]
    settings = _resolve(argv)
    assert (settings.log_url, settings.logger_workers, settings.log_work_buffer_size) == (
        "http://l:1/",
        3,
        7,
    )


@pytest.mark.parametrize("raw", ["http://logger:/", "http://bücher.example/", "http://l/ä"])
def test_log_url_the_sink_could_not_use_is_refused(raw: str) -> None:
    with pytest.raises(SettingsError, match="--log-url"):
        _resolve(["--log-url", raw])
