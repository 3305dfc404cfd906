"""The serving layer's pieces in-process: Gunicorn options, exit descriptions, the metrics server,
the gRPC interceptor, model loading and the CLI's start-up errors."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
import requests
from google.protobuf import json_format

from seldon_server import cli
from seldon_server.dispatch import Dispatcher
from seldon_server.grpc.interceptor import make_interceptor
from seldon_server.grpc.server import GrpcOptions, build_server
from seldon_server.logging_setup import DropPath, filter_access_logs
from seldon_server.model.adapter import UserModel
from seldon_server.proto import prediction_pb2, prediction_pb2_grpc
from seldon_server.serving import metrics_server
from seldon_server.serving.exit_codes import ExitCode
from seldon_server.serving.process import Child
from seldon_server.serving.rest_server import SeldonGunicorn, gunicorn_options
from seldon_server.serving.services import ModelLoadError, ServingPlan, address, load_model
from seldon_server.serving.supervisor import child_grace
from seldon_server.settings import Settings, resolve


def settings(*args: str, **env: str) -> Settings:
    return resolve(["Model", *args], env, read_annotations=lambda path: {})


def plan_for(obj: Any, *args: str) -> ServingPlan:
    return ServingPlan(settings(*args), UserModel(obj), None, 0, 1.0)


class Echo:
    def predict(self, X: Any, names: list[str]) -> Any:
        return X


# -- Gunicorn ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "worker_class", "threads"),
    [
        ((), "sync", 1),
        # 4 run, 28 wait (at least 32 admitted) and 4 more threads answer the refusals
        (("--threads", "4"), "gthread", 36),
        (("--threads", "4", "--max-admitted", "6"), "gthread", 10),
        (("--threads", "4", "--single-threaded"), "sync", 1),
        # batching: a batch's worth of requests at once, whatever --threads says
        (("--max-batch-size", "16", "batching"), "gthread", 68),
        # asked for, but the model cannot batch: as without it
        (("--max-batch-size", "16"), "sync", 1),
    ],
)
def test_gunicorn_worker_class_follows_the_thread_count(
    args: tuple[str, ...], worker_class: str, threads: int
) -> None:
    batching = "batching" in args
    argv = [arg for arg in args if arg != "batching"]
    options = gunicorn_options(settings(*argv), 29.0, batching)
    assert (options["worker_class"], options["threads"]) == (worker_class, threads)


def test_gunicorn_options_carry_our_settings() -> None:
    options = gunicorn_options(
        settings(
            "--workers", "3", "--max-requests", "100", "--max-requests-jitter", "20",
            "--keepalive", "5", "--timeout", "7", "--access-log", "--pidfile", "/tmp/rest.pid",
            "--log-level", "WARNING", "--http-port", "9100", "--bind-address", "::1",
        ),
        29.5,
    )  # fmt: skip
    assert options["bind"] == ["[::1]:9100"]
    assert options["workers"] == 3
    assert (options["max_requests"], options["max_requests_jitter"]) == (100, 20)
    assert (options["keepalive"], options["timeout"], options["graceful_timeout"]) == (5, 7, 29)
    assert (options["accesslog"], options["loglevel"]) == ("-", "warning")
    assert options["pidfile"] == "/tmp/rest.pid"
    assert options["control_socket_disable"] is True


def test_gunicorn_accepts_the_configuration() -> None:
    app = SeldonGunicorn(plan_for(Echo(), "--threads", "2"))
    assert app.cfg is not None
    assert app.cfg.worker_class_str == "gthread"
    assert app.cfg.control_socket_disable is True
    assert app.cfg.preload_app is False  # --preload loads the model, not gunicorn's app


# -- supervisor helpers -----------------------------------------------------------------------


@pytest.mark.parametrize(("grace", "expected"), [(30.0, 29.0), (2.0, 1.5), (0.0, 0.0)])
def test_children_drain_a_little_less_than_the_supervisor_waits(
    grace: float, expected: float
) -> None:
    assert child_grace(grace) == expected


@pytest.mark.parametrize(
    ("status", "described", "exit_code"),
    [
        (None, "is running", None),
        (3 << 8, "exited with code 3", 3),
        (signal.SIGKILL, "was killed by SIGKILL", None),
    ],
)
def test_child_describes_how_it_ended(
    status: int | None, described: str, exit_code: int | None
) -> None:
    child = Child("gRPC server 1", 123, status=status)
    assert child.describe() == described
    assert child.exit_code == exit_code


def test_address_brackets_ipv6_hosts() -> None:
    assert address("0.0.0.0", 9000) == "0.0.0.0:9000"
    assert address("::", 5000) == "[::]:5000"


# -- model loading ----------------------------------------------------------------------------


class Loads:
    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error
        self.calls = 0

    def load(self) -> None:
        self.calls += 1
        if self.error is not None:
            raise self.error


def test_load_failure_is_one_clear_line_with_the_cause_kept() -> None:
    model = UserModel(Loads(OSError("no weights")))
    with pytest.raises(ModelLoadError) as failure:
        load_model(model, "Model")
    assert str(failure.value) == "Model.load() failed: OSError: no weights"
    assert isinstance(failure.value.__cause__, OSError)
    assert not model.ready.is_set()


def test_not_implemented_load_is_tolerated_and_a_preloaded_model_not_reloaded() -> None:
    model = UserModel(Loads(NotImplementedError()))
    load_model(model, "Model")
    assert model.ready.is_set()
    load_model(model, "Model")
    assert model.obj.calls == 1


# -- gRPC interceptor -------------------------------------------------------------------------


class Observations:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def observe_request(self, method: str, code: int | str, seconds: float) -> None:
        assert seconds >= 0
        self.seen.append((method, str(code)))


def test_interceptor_counts_grpc_calls_by_method_and_status() -> None:
    observations = Observations()
    model = UserModel(Echo())
    options = GrpcOptions(
        address="127.0.0.1:0",
        reuse_port=False,
        interceptors=(make_interceptor(observations, None),),
    )
    server = build_server(Dispatcher(model), options)
    server.server.start()
    request = json_format.ParseDict({"data": {"ndarray": [[1]]}}, prediction_pb2.SeldonMessage())
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub = prediction_pb2_grpc.ModelStub(channel)
            with pytest.raises(grpc.RpcError) as not_ready:
                stub.Predict(request, timeout=10)
            assert not_ready.value.code() == grpc.StatusCode.UNAVAILABLE
            model.load()
            stub.Predict(request, timeout=10)
    finally:
        server.server.stop(None).wait(5)
    method = "/seldon.protos.Model/Predict"
    assert observations.seen == [(method, "UNAVAILABLE"), (method, "OK")]


# -- metrics server ---------------------------------------------------------------------------


@pytest.fixture
def metrics_dir(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A multiprocess directory for this test; prometheus_client's process-wide value class is
    put back afterwards, so later tests in this process do not need one."""
    from prometheus_client import values

    from seldon_server import metrics

    monkeypatch.setenv(metrics.MULTIPROC_ENV, str(tmp_path))
    monkeypatch.setattr(values, "ValueClass", values.ValueClass)
    yield str(tmp_path)


def test_metrics_server_answers_scrapes_from_its_own_thread(metrics_dir: str) -> None:
    server = metrics_server.make_server(
        settings("--metrics-port", "0", "--bind-address", "127.0.0.1")
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        scrape = requests.get(f"{base}/metrics", timeout=10)
        assert scrape.status_code == 200
        assert scrape.headers["Content-Type"].startswith("text/plain")
        assert requests.get(f"{base}/other", timeout=10).status_code == 404
        assert requests.post(f"{base}/metrics", timeout=10).status_code == 405
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_drop_path_filters_only_matching_records() -> None:
    drop = DropPath("/prometheus")
    keep = logging.LogRecord(
        "gunicorn.access", logging.INFO, "", 0, '"GET %s"', ("/predict",), None
    )
    scrape = logging.LogRecord(
        "gunicorn.access", logging.INFO, "", 0, '"GET %s"', ("/prometheus",), None
    )
    assert drop.filter(keep) and not drop.filter(scrape)


def test_filter_access_logs_is_idempotent() -> None:
    log = logging.getLogger("gunicorn.access")
    before = list(log.filters)
    try:
        filter_access_logs("/metrics")
        filter_access_logs("/metrics")
        assert sum(isinstance(f, DropPath) for f in log.filters) == 1 + sum(
            isinstance(f, DropPath) for f in before
        )
    finally:
        log.filters = before


# -- CLI start-up errors ----------------------------------------------------------------------


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)


def test_cli_bad_value_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["Model", "--grpc-workers", "-1"]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--grpc-workers" in err


def test_cli_help_prints_the_generated_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == ExitCode.OK
    assert "--graceful-timeout" in capsys.readouterr().out


@pytest.mark.usefixtures("restore_logging")
def test_cli_unimportable_model_is_one_error_line_and_exit_3(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "Broken", raising=False)
    (tmp_path / "Broken.py").write_text("raise ImportError('missing dependency torchvision')\n")
    assert cli.main(["Broken"]) == ExitCode.USER_MODEL
    errors = [line for line in capsys.readouterr().err.splitlines() if " - ERROR:" in line]
    assert len(errors) == 1
    assert "importing module 'Broken' failed" in errors[0] and "torchvision" in errors[0]


def test_the_supervisor_imports_neither_grpc_nor_prometheus_client() -> None:
    """grpc must not start before fork; prometheus_client only once its directory is set."""
    code = (
        "import sys, seldon_server.cli, seldon_server.serving.runner;"
        "print(sorted(m for m in ('grpc', 'prometheus_client', 'opentracing') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"
