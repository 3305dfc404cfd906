"""Options: the flags and env vars of reference 8.1, precedence, validation and --help."""

from __future__ import annotations

from pathlib import Path

import pytest
from batch_servers import HttpEcho

from seldon_server.batch.cli import main
from seldon_server.batch.config import OPTIONS, ConfigError, ExitCode, build_parser, resolve

# Every flag of reference 8.1 with its short form and env var, as the seeds list them.
REFERENCE_FLAGS = {
    "--deployment-name": ("-d", "SELDON_BATCH_DEPLOYMENT_NAME"),
    "--gateway-type": ("-g", "SELDON_BATCH_GATEWAY_TYPE"),
    "--namespace": ("-n", "SELDON_BATCH_NAMESPACE"),
    "--host": ("-h", "SELDON_BATCH_HOST"),
    "--transport": ("-t", "SELDON_BATCH_TRANSPORT"),
    "--data-type": ("-a", "SELDON_BATCH_DATA_TYPE"),
    "--payload-type": ("-p", "SELDON_BATCH_PAYLOAD_TYPE"),
    "--workers": ("-w", "SELDON_BATCH_WORKERS"),
    "--retries": ("-r", "SELDON_BATCH_RETRIES"),
    "--input-data-path": ("-i", "SELDON_BATCH_INPUT_DATA_PATH"),
    "--output-data-path": ("-o", "SELDON_BATCH_OUTPUT_DATA_PATH"),
    "--method": ("-m", "SELDON_BATCH_METHOD"),
    "--log-level": ("-l", "SELDON_BATCH_LOG_LEVEL"),
    "--benchmark": ("-b", "SELDON_BATCH_BENCHMARK"),
    "--batch-id": ("-u", "SELDON_BATCH_ID"),
    "--batch-size": ("-s", "SELDON_BATCH_SIZE"),
    "--batch-interval": (None, "SELDON_BATCH_MIN_INTERVAL"),
    "--use-ssl": (None, "SELDON_BATCH_USE_SSL"),
    "--call-credentials-token": (None, "SELDON_BATCH_CALL_CREDENTIALS_TOKEN"),
    "--ssl-verify": (None, "SELDON_BATCH_SSL_VERIFY"),
}


def test_the_table_has_every_reference_flag() -> None:
    table = {opt.flag: (opt.short, opt.env) for opt in OPTIONS}
    for flag, spec in REFERENCE_FLAGS.items():
        assert table[flag] == spec


def test_defaults_match_the_reference_except_the_output_path() -> None:
    config = resolve(["-d", "dep"], {})
    assert (config.gateway_type, config.namespace, config.transport) == ("istio", "default", "rest")
    assert config.host == "istio-ingressgateway.istio-system.svc.cluster.local:80"
    assert (config.data_type, config.payload_type, config.method) == ("data", "ndarray", "predict")
    assert (config.workers, config.retries, config.batch_size, config.batch_interval) == (
        1,
        3,
        1,
        0,
    )
    assert config.input_data_path == Path("/assets/input-data.txt")
    # The original defaulted the output to the input path and truncated its own input.
    assert config.output_data_path == Path("/assets/input-data.out.txt")
    assert (config.use_ssl, config.ssl_verify, config.call_credentials_token) == (False, True, "")
    assert config.batch_id is None and not config.benchmark and not config.unordered


def test_cli_beats_env_beats_default() -> None:
    env = {"SELDON_BATCH_WORKERS": "7", "SELDON_BATCH_TRANSPORT": "grpc", "SELDON_BATCH_ID": "e"}
    from_env = resolve(["-d", "dep"], env)
    assert (from_env.workers, from_env.transport, from_env.batch_id) == (7, "grpc", "e")
    from_cli = resolve(["-d", "dep", "-w", "2", "-t", "rest", "-u", "c"], env)
    assert (from_cli.workers, from_cli.transport, from_cli.batch_id) == (2, "rest", "c")


def test_short_t_is_transport_and_batch_interval_is_long_only() -> None:
    assert resolve(["-d", "x", "-t", "grpc"], {}).transport == "grpc"
    assert resolve(["-d", "x", "--batch-interval", "0.5"], {}).batch_interval == 0.5
    with pytest.raises(ConfigError, match="transport"):
        resolve(["-d", "x", "-t", "0.5"], {})


@pytest.mark.parametrize("text,value", [("true", True), ("0", False), ("no", False), ("on", True)])
def test_booleans_parse_like_click(text: str, value: bool) -> None:
    assert resolve(["-d", "x", "--use-ssl", text], {}).use_ssl is value
    assert resolve(["-d", "x"], {"SELDON_BATCH_SSL_VERIFY": text}).ssl_verify is value
    assert resolve(["-d", "x"], {"SELDON_BATCH_BENCHMARK": text}).benchmark is value


@pytest.mark.parametrize(
    "argv,env,message",
    [
        ([], {}, "--deployment-name is required"),
        (["-d", "x", "-m", "feedback"], {}, "--method feedback needs --data-type raw"),
        (["-d", "x", "-m", "feedback", "-a", "raw", "-s", "2"], {}, "use --batch-size 1"),
        (
            ["-d", "x", "-a", "json", "-s", "2"],
            {},
            "--batch-size > 1 needs --data-type data or raw",
        ),
        (["-d", "x", "-a", "str", "-s", "3"], {}, "--batch-size > 1 needs"),
        (["-d", "x", "-w", "0"], {}, "--workers must be at least 1"),
        (["-d", "x", "--grpc-channels", "0"], {}, "--grpc-channels must be at least 1"),
        (["-d", "x", "--timeout", "0"], {}, "--timeout must be positive"),
        (["-d", "x", "-h", "http://host:80"], {}, "without a scheme"),
        (["-d", "x"], {"SELDON_BATCH_WORKERS": "many"}, "SELDON_BATCH_WORKERS: invalid value"),
        (["-d", "x"], {"SELDON_BATCH_TRANSPORT": "udp"}, "SELDON_BATCH_TRANSPORT: 'udp' is not"),
        (["-d", "x", "--bogus"], {}, "unrecognized arguments: --bogus"),
    ],
)
def test_bad_options_fail_with_one_line(argv: list[str], env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("+", r"\+")) as caught:
        resolve(argv, env)
    assert "\n" not in str(caught.value)


def test_an_invalid_combination_exits_2_before_any_request(
    tmp_path: Path, http_echo: HttpEcho, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.txt"
    source.write_text('{"a": 1}\n')
    code = main(["-d", "x", "-g", "seldon", "-h", http_echo.host, "-i", str(source),
                 "-a", "json", "-s", "2"])  # fmt: skip
    assert code == ExitCode.USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("seldon-batch-processor: error: ")
    assert http_echo.requests == [] and not (tmp_path / "in.out.txt").exists()


def test_the_output_never_defaults_to_or_overwrites_the_input(tmp_path: Path) -> None:
    source = tmp_path / "data.txt"
    source.write_text("[[1]]\n")
    assert resolve(["-d", "x", "-i", str(source)], {}).output_data_path == tmp_path / "data.out.txt"
    with pytest.raises(ConfigError, match="is the input file"):
        resolve(["-d", "x", "-i", str(source), "-o", str(source)], {})
    link = tmp_path / "link.txt"
    link.symlink_to(source)
    with pytest.raises(ConfigError, match="is the input file"):
        resolve(["-d", "x", "-i", str(source), "-o", str(link)], {})
    assert source.read_text() == "[[1]]\n"


def test_help_lists_every_flag_env_var_and_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["--help"])
    assert exited.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # undo the line wrapping
    for opt in OPTIONS:
        assert opt.flag in text and opt.env in text
        if opt.short:
            assert f"{opt.short}, {opt.flag}" in text
    for code in ExitCode:
        assert f"{int(code)} {code.name}" in text
