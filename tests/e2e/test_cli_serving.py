"""The CLI end to end: REST, gRPC and metrics from real processes; debug, single-threaded, no-gRPC,
preload, and the start-up failures."""

from __future__ import annotations

import socket
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from serverproc import (
    CLI,
    MODELS,
    Launcher,
    Server,
    grpc_channel,
    json_data,
    process_tree,
    wait_until,
)

from seldon_server.serving.exit_codes import ExitCode


@pytest.fixture(scope="module")
def server(module_launch: Launcher) -> Server:
    """One server with every default (1 REST worker, 1 gRPC process)."""
    started = module_launch()
    started.wait_ready()
    return started


def test_rest_grpc_and_metrics_are_served_by_their_own_processes(server: Server) -> None:
    reply = requests.post(
        server.url("/api/v1.0/predictions"), json={"data": {"ndarray": [[1, 2]]}}, timeout=10
    )
    assert reply.status_code == 200
    body = reply.json()
    assert body["data"]["ndarray"] == [[1, 2]]
    rest_pid = body["meta"]["tags"]["pid"]
    with grpc_channel(server.grpc_port) as channel:
        grpc_pid = int(server.predict_grpc(channel, {"x": 1}).meta.tags["pid"].number_value)
    metrics = requests.get(server.metrics_url(), timeout=10)
    assert metrics.status_code == 200
    assert "e2e_predictions_total" in metrics.text
    tree = server.tree()
    # supervisor, metrics server, gRPC server, gunicorn master and its one worker
    assert len(tree) == 5, server.log()
    assert {rest_pid, grpc_pid} <= tree - {server.pid}
    assert rest_pid != grpc_pid
    assert sorted(server.markers("load")) == sorted([rest_pid, grpc_pid])  # once per process


def test_health_endpoints_report_ready(server: Server) -> None:
    expected = {
        "/ready": '{"status":"ready"}\n',
        "/live": '{"status":"alive"}\n',
        "/health/ping": "pong",
    }
    for path, body in expected.items():
        reply = requests.get(server.url(path), timeout=10)
        assert (reply.status_code, reply.text) == (200, body), path
    for path in ("/health/status", "/api/v1.0/health/status"):
        reply = requests.get(server.url(path), timeout=10)
        assert reply.status_code == 200, path
        # The model has no health_status(): the default reply, with the tags its tags() adds.
        health = reply.json()
        assert health["strData"] == "healthy", path
        assert health["meta"]["tags"]["pid"] in server.tree(), path


def test_sync_worker_closes_connections_as_the_original(server: Server) -> None:
    reply = server.predict_rest({"x": 1})
    assert reply.headers["Connection"] == "close"


def test_debug_mode_uses_the_development_server_without_the_debugger(launch: Launcher) -> None:
    server = launch(env={"SELDON_DEBUG": "1", "FLASK_DEBUG": "1"})
    server.wait_ready()
    ok = server.predict_rest({"x": 1})
    assert ok.status_code == 200
    assert "Werkzeug" in ok.headers["Server"]
    failed = server.predict_rest({"fail": True})
    assert failed.status_code == 500
    assert failed.json()["status"]["reason"] == "MICROSERVICE_INTERNAL_ERROR"
    assert "Werkzeug Debugger" not in failed.text
    with grpc_channel(server.grpc_port) as channel:
        assert json_data(server.predict_grpc(channel, {"x": 1})) == {"x": 1}
    # supervisor, metrics server, gRPC server, the development server
    assert len(server.tree()) == 4
    assert len(server.markers("load")) == 2
    assert server.stop() == ExitCode.OK


def test_grpc_workers_zero_starts_no_grpc_server(launch: Launcher, tmp_path: Path) -> None:
    pidfile = tmp_path / "rest.pid"
    server = launch("--pidfile", str(pidfile), env={"GRPC_WORKERS": "0"})
    server.wait_ready(grpc_health=False)
    assert server.predict_rest({"x": 1}).status_code == 200
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(("127.0.0.1", server.grpc_port), 2),
    ):
        pass
    tree = server.tree()
    assert len(tree) == 4  # supervisor, metrics, gunicorn master and worker
    assert len(server.markers("load")) == 1
    # The pidfile is the REST master's alone: a child of the supervisor with a worker of its own.
    master = int(pidfile.read_text())
    assert master in tree and process_tree(master) - {master}
    assert server.stop() == ExitCode.OK
    assert not pidfile.exists()


@pytest.mark.parametrize(
    ("env", "most_at_once"),
    [
        ({"GUNICORN_THREADS": "4", "FLASK_SINGLE_THREADED": "1"}, 1),
        ({"SELDON_DEBUG": "1", "FLASK_SINGLE_THREADED": "1"}, 1),
        ({"GUNICORN_THREADS": "4"}, 4),
    ],
    ids=["gunicorn-single-threaded", "debug-single-threaded", "gunicorn-4-threads"],
)
def test_single_threaded_serves_one_request_at_a_time(
    launch: Launcher, env: dict[str, str], most_at_once: int
) -> None:
    server = launch(env={**env, "GRPC_WORKERS": "0"})
    server.wait_ready(grpc_health=False)
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda _: server.predict_rest({"hold": 0.1}), range(8)))
    assert all(reply.status_code == 200 for reply in replies)
    concurrency = max(reply.json()["meta"]["tags"]["max_active"] for reply in replies)
    if most_at_once == 1:
        assert concurrency == 1
    else:
        assert 1 < concurrency <= most_at_once


@pytest.mark.parametrize("preload", [False, True], ids=["after-fork", "preload"])
def test_load_failure_stops_startup_with_a_clear_message(launch: Launcher, preload: bool) -> None:
    server = launch(*(["--preload"] if preload else []), parameters={"fail_load": True})
    code = server.proc.wait(30)
    assert code == ExitCode.LOAD_FAILED
    assert "ServingModel.load() failed: RuntimeError: weights file is missing" in server.log()
    wait_until(lambda: not server.leftovers(), "the processes to exit", 10)


def test_preload_loads_once_before_forking(launch: Launcher) -> None:
    server = launch("--preload", "--workers", "2", "--grpc-workers", "2")
    server.wait_ready()
    assert server.predict_rest({"x": 1}).status_code == 200
    with grpc_channel(server.grpc_port) as channel:
        assert json_data(server.predict_grpc(channel, {"x": 1})) == {"x": 1}
    assert server.markers("load") == [server.pid]
    assert any(name.startswith("seldon-metrics-") for name in server.temp_files())
    assert server.stop() == ExitCode.OK
    assert server.temp_files() == []  # the metrics directory went with the server


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), *args], cwd=MODELS, capture_output=True, text=True, timeout=60, check=False
    )


def test_bad_flag_value_fails_with_one_line() -> None:
    result = _run_cli("ServingModel", "--workers", "many")
    assert result.returncode == ExitCode.USAGE
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "--workers" in lines[0] and "'many'" in lines[0]
    assert result.stdout == ""


def test_help_exits_zero() -> None:
    result = _run_cli("--help")
    assert result.returncode == ExitCode.OK
    assert result.stdout.startswith("usage: seldon-microservice INTERFACE_NAME")


def test_unknown_model_fails_with_one_clear_line() -> None:
    result = _run_cli("NoSuchModel", "--log-level", "INFO")
    assert result.returncode == ExitCode.USER_MODEL
    errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1
    assert "cannot find module 'NoSuchModel'" in errors[0]
    assert "Traceback" not in result.stderr
