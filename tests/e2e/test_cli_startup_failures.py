"""Every start-up failure: its documented exit code and one clear error line, no stray traceback."""

from __future__ import annotations

import subprocess

import pytest
import requests
from serverproc import CLI, MODELS, Launcher, wait_until

from seldon_server.serving.exit_codes import ExitCode


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), *args], cwd=MODELS, capture_output=True, text=True, timeout=60, check=False
    )


def _error_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if " - ERROR:" in line or "error:" in line]


@pytest.mark.parametrize(
    ("args", "code", "expected"),
    [
        (
            ("ServingModel", "--parameters", '[{"name":"n","value":"x","type":"INT"}]'),
            ExitCode.USAGE,
            "Bad model parameter: n with value x can't be parsed as a INT",
        ),
        (
            ("ServingModel", "--parameters", '[{"name":"n","value":"1","type":"LONG"}]'),
            ExitCode.USAGE,
            "Bad model parameter type: LONG",
        ),
        (("NoSuchModule",), ExitCode.USER_MODEL, "cannot find module 'NoSuchModule'"),
        (("StartupModels.Missing",), ExitCode.USER_MODEL, "has no class 'Missing'"),
        (
            ("StartupModels.ConstructorFails",),
            ExitCode.USER_MODEL,
            "RuntimeError('bad constructor')",
        ),
        (
            ("StartupModels.MetadataFails",),
            ExitCode.USER_MODEL,
            "init_metadata() failed: ValueError: metadata store unreachable",
        ),
    ],
    ids=["parameter-value", "parameter-type", "module", "class", "constructor", "init-metadata"],
)
def test_failure_before_serving_has_its_code_and_one_line(
    args: tuple[str, ...], code: ExitCode, expected: str
) -> None:
    result = _run_cli(*args)
    assert result.returncode == code, result.stderr
    errors = _error_lines(result.stderr)
    assert len(errors) == 1, result.stderr
    assert expected in errors[0]
    assert "Traceback" not in result.stderr


def test_load_failure_in_every_process_is_reported_once(launch: Launcher) -> None:
    """Two REST workers and a gRPC process all fail load(): one error with its traceback."""
    server = launch("--workers", "2", parameters={"fail_load": True})
    assert server.proc.wait(30) == ExitCode.LOAD_FAILED
    log = server.log()
    failures = [line for line in _error_lines(log) if "load() failed" in line]
    assert len(failures) == 1, log
    assert "RuntimeError: weights file is missing" in failures[0]
    assert log.count("Traceback") == 1, log  # the user's, pointing into their load()
    assert "HaltServer" not in log
    wait_until(lambda: not server.leftovers(), "the processes to exit", 10)


def test_invalid_metadata_is_one_error_line_and_serving_goes_on(launch: Launcher) -> None:
    """As the original: /metadata answers 500 MICROSERVICE_BAD_METADATA, predictions work."""
    server = launch(interface="StartupModels.InvalidMetadata")
    server.wait_ready()
    assert server.predict_rest({"x": 1}).status_code == 200
    reply = requests.get(server.url("/metadata"), timeout=10)
    assert reply.status_code == 500
    assert reply.json()["status"]["reason"] == "MICROSERVICE_BAD_METADATA"
    assert server.stop() == ExitCode.OK
    errors = _error_lines(server.log())
    assert len(errors) == 1 and "metadata is invalid" in errors[0], server.log()
