"""The production runtime from real processes: graceful shutdown, worker recycling and crashes,
several processes per transport, no orphans, the metrics exposition and a slow load."""

from __future__ import annotations

import http.client
import itertools
import json
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import pytest
import requests
from grpc_health.v1 import health_pb2
from prometheus_client.parser import text_string_to_metric_families
from serverproc import (
    Launcher,
    Server,
    all_gone,
    grpc_channel,
    json_data,
    seldon_message,
    wait_until,
)

from seldon_server.proto import prediction_pb2_grpc
from seldon_server.serving.exit_codes import ExitCode

IN_FLIGHT = 200  # per transport


def _wait_grpc_servers(server: Server, count: int) -> None:
    """Every gRPC process has loaded the model (health alone reaches only one of them)."""
    wait_until(lambda: server.log().count("serving on") >= count, f"{count} gRPC servers")


def test_sigterm_drains_in_flight_rest_and_grpc_calls_then_the_tree_exits(launch: Launcher) -> None:
    grace = 20.0
    server = launch(
        "--workers", "2", "--threads", str(IN_FLIGHT),
        "--grpc-workers", "2", "--grpc-threads", str(IN_FLIGHT),
        "--graceful-timeout", str(grace),
    )  # fmt: skip
    server.wait_ready()
    _wait_grpc_servers(server, 2)
    channels = [grpc_channel(server.grpc_port, own_connection=True) for _ in range(10)]
    stubs = [prediction_pb2_grpc.ModelStub(channel) for channel in channels]
    with ThreadPoolExecutor(IN_FLIGHT) as pool:
        rest_calls = [
            pool.submit(server.predict_rest, {"block": True, "i": i}) for i in range(IN_FLIGHT)
        ]
        grpc_calls = [
            stubs[i % len(stubs)].Predict.future(
                seldon_message({"block": True, "i": i}), timeout=60
            )
            for i in range(IN_FLIGHT)
        ]
        wait_until(lambda: len(server.markers("started")) == 2 * IN_FLIGHT, "every call in flight")
        tree = server.tree()
        stopped_at = time.monotonic()
        os.kill(server.pid, signal.SIGTERM)
        # Release the calls only once every serving process has begun its stop.
        wait_until(
            lambda: (
                "Handling signal: term" in server.log()
                and server.log().count("draining in-flight calls") == 2
            ),
            "the stop to reach every server",
        )
        server.release()
        rest_replies = [call.result(timeout=grace) for call in rest_calls]
        grpc_replies = [call.result(timeout=grace) for call in grpc_calls]
    for channel in channels:
        channel.close()
    assert [r.status_code for r in rest_replies] == [200] * IN_FLIGHT
    assert [r.json()["jsonData"]["i"] for r in rest_replies] == list(range(IN_FLIGHT))
    assert [json_data(r)["i"] for r in grpc_replies] == list(range(IN_FLIGHT))
    assert server.proc.wait(grace) == ExitCode.OK
    remaining = grace - (time.monotonic() - stopped_at)
    assert remaining > 0
    wait_until(
        lambda: all_gone(tree) and not server.leftovers(), "every process to exit", remaining
    )


def test_worker_recycling_under_keep_alive_load_loses_no_request(launch: Launcher) -> None:
    # Room for all 32 clients in one worker while the other restarts: shedding (a fast 503,
    # tested in test_load_control) is not what this test is about.
    server = launch(
        "--workers", "2", "--threads", "4", "--grpc-workers", "0", "--max-admitted", "64",
        "--max-requests", "100", "--max-requests-jitter", "20",
    )  # fmt: skip
    server.wait_ready(grpc_health=False)
    total, clients = 2500, 32  # about 20 recycles: each worker serves 100 to 120 requests
    tickets = itertools.count()
    failures: list[str] = []
    pids: set[int] = set()
    lock = threading.Lock()
    body = json.dumps({"data": {"ndarray": [[1.0, 2.0]]}})

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=30)
        try:
            while next(tickets) < total:
                try:
                    conn.request(
                        "POST", "/api/v1.0/predictions", body, {"Content-Type": "application/json"}
                    )
                    reply = conn.getresponse()
                    payload = reply.read()
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()
                    with lock:
                        failures.append(repr(exc))
                    continue
                with lock:
                    if reply.status != 200:
                        failures.append(f"{reply.status}: {payload[:200]!r}")
                    else:
                        pids.add(json.loads(payload)["meta"]["tags"]["pid"])
        finally:
            conn.close()

    with ThreadPoolExecutor(clients) as pool:
        for done in [pool.submit(client) for _ in range(clients)]:
            done.result()
    assert failures == []
    assert len(pids) > 10, "workers were recycled"
    families = _scrape(server)
    assert _total(families["e2e_predictions"]) == total
    assert _total(families["seldon_server_requests"], method="Predict", code="200") == total


def test_a_killed_rest_worker_is_replaced_within_a_second(launch: Launcher) -> None:
    server = launch("--grpc-workers", "0")
    server.wait_ready(grpc_health=False)
    with ThreadPoolExecutor(1) as pool:
        doomed = pool.submit(server.predict_rest, {"block": True})
        [worker] = wait_until(lambda: server.markers("started"), "the request to be in flight")
        os.kill(worker, signal.SIGKILL)
        with pytest.raises(requests.ConnectionError):
            doomed.result(timeout=30)
    started = time.monotonic()
    reply = server.predict_rest({"x": 1}, timeout=1)
    assert time.monotonic() - started < 1
    assert reply.status_code == 200
    assert reply.json()["meta"]["tags"]["pid"] != worker
    assert server.proc.poll() is None


def test_metrics_exposition_parses_with_one_help_and_type_per_family(launch: Launcher) -> None:
    server = launch(
        env={
            "PREDICTIVE_UNIT_ID": "classifier",
            "PREDICTIVE_UNIT_IMAGE": "repo/image:1.2",
            "SELDON_DEPLOYMENT_ID": "dep",
            "PREDICTOR_ID": "main",
            "PREDICTOR_LABELS": '{"version": "v7"}',
            "PREDICTIVE_UNIT_METRICS_ENDPOINT": "/prometheus",
        }
    )
    server.wait_ready()
    assert requests.get(server.metrics_url("/metrics"), timeout=10).status_code == 404
    for _ in range(3):
        assert server.predict_rest({"x": 1}).status_code == 200
    with grpc_channel(server.grpc_port) as channel:
        for _ in range(2):
            server.predict_grpc(channel, {"x": 1})
    feedback = {"request": {"data": {"ndarray": [[1]]}}, "reward": 0.5}
    assert requests.post(server.url("/api/v1.0/feedback"), json=feedback, timeout=10).ok
    assert requests.get(server.url("/health/status"), timeout=10).ok

    reply = requests.get(server.metrics_url(), timeout=10)
    assert reply.headers["Content-Type"].startswith("text/plain")
    for kind in ("HELP", "TYPE"):
        names = [
            line.split()[2] for line in reply.text.splitlines() if line.startswith(f"# {kind} ")
        ]
        assert len(names) == len(set(names)), kind
    families = {f.name: f for f in text_string_to_metric_families(reply.text)}
    predictions = families["e2e_predictions"]
    assert predictions.type == "counter"
    # metrics() runs once per prediction and once per feedback, never for a health probe.
    assert _total(predictions, method="predict") == 5
    assert _total(predictions, method="feedback") == 1
    assert _total(predictions) == 6
    [labels] = [s.labels for s in predictions.samples if s.labels["method"] == "predict"]
    assert labels == {
        "method": "predict",
        "deployment_name": "dep",
        "seldon_deployment_name": "dep",
        "model_name": "classifier",
        "model_image": "repo/image",
        "image_name": "repo/image",
        "model_version": "1.2",
        "image_version": "1.2",
        "predictor_name": "main",
        "predictor_version": "v7",
    }
    assert {s.value for s in families["e2e_gauge"].samples} == {7}
    timer = families["e2e_timer"]
    assert _total(timer, suffix="_count", method="predict") == 5
    assert _total(timer, suffix="_sum", method="predict") == pytest.approx(5 * 0.0125)
    assert _total(families["seldon_api_model_feedback"]) == 1
    assert _total(families["seldon_api_model_feedback_reward"]) == 0.5
    requests_served = families["seldon_server_requests"]
    assert _total(requests_served, method="Predict", code="200") == 3
    assert _total(requests_served, method="/seldon.protos.Model/Predict", code="OK") == 2
    assert not any("worker_id" in s.labels for f in families.values() for s in f.samples)


def test_two_workers_per_transport_serve_from_several_processes(launch: Launcher) -> None:
    server = launch(env={"GUNICORN_WORKERS": "2", "GRPC_WORKERS": "2"})
    server.wait_ready()
    _wait_grpc_servers(server, 2)
    rest_pids: set[int] = set()
    grpc_pids: set[int] = set()

    def rest_spread() -> bool:
        # Concurrent slow calls: a sync worker busy with one leaves the next to the other.
        with ThreadPoolExecutor(4) as pool:
            replies = list(pool.map(lambda _: server.predict_rest({"hold": 0.1}), range(4)))
        rest_pids.update(r.json()["meta"]["tags"]["pid"] for r in replies)
        return len(rest_pids) > 1

    def grpc_spread() -> bool:
        # Each connection lands on one process; new connections are spread by the kernel.
        for _ in range(8):
            with grpc_channel(server.grpc_port, own_connection=True) as channel:
                reply = server.predict_grpc(channel, {"x": 1})
            grpc_pids.add(int(reply.meta.tags["pid"].number_value))
        return len(grpc_pids) > 1

    wait_until(rest_spread, "REST replies from two workers")
    wait_until(grpc_spread, "gRPC replies from two processes")
    assert rest_pids.isdisjoint(grpc_pids)
    tree = server.tree()
    assert rest_pids | grpc_pids <= tree

    # A serving process dying takes the whole server down (the documented policy).
    victim = min(grpc_pids)
    os.kill(victim, signal.SIGKILL)
    assert server.proc.wait(30) == ExitCode.FAILURE
    assert f"(pid {victim}) was killed by SIGKILL unexpectedly; stopping the server" in server.log()
    wait_until(lambda: all_gone(tree) and not server.leftovers(), "every process to exit", 10)


def test_children_die_with_a_sigkilled_supervisor(launch: Launcher) -> None:
    server = launch("--workers", "2", interface="ServingModel.WithCustomService")
    server.wait_ready()
    wait_until(lambda: server.markers("custom"), "custom_service() to run")
    # supervisor, metrics, gRPC, gunicorn master + 2 workers (booted one after the other), custom
    tree = server.wait_tree(7)
    assert server.markers("custom")[0] in tree
    os.kill(server.pid, signal.SIGKILL)
    server.proc.wait(10)
    wait_until(lambda: all_gone(tree) and not server.leftovers(), "the orphans to die", 5)


def test_custom_service_stops_with_the_server(launch: Launcher) -> None:
    server = launch(interface="ServingModel.WithCustomService")
    server.wait_ready()
    wait_until(lambda: server.markers("custom"), "custom_service() to run")
    tree = server.tree()
    assert server.stop() == ExitCode.OK
    wait_until(lambda: all_gone(tree) and not server.leftovers(), "every process to exit", 10)


def test_readiness_waits_for_a_load_slower_than_the_worker_timeout(launch: Launcher) -> None:
    server = launch("--timeout", "1", parameters={"load_seconds": 2.5})
    statuses = set()

    def grpc_serving() -> bool:
        status = server.grpc_health()
        if status is not None:
            statuses.add(status)
        return status == health_pb2.HealthCheckResponse.SERVING

    # The gRPC server listens during load() but reports NOT_SERVING until it has returned.
    wait_until(lambda: server.grpc_health() is not None, "the gRPC server to listen")
    with grpc_channel(server.grpc_port) as channel, pytest.raises(grpc.RpcError) as early:
        server.predict_grpc(channel, {"x": 1})
    assert early.value.code() == grpc.StatusCode.UNAVAILABLE
    wait_until(grpc_serving, "gRPC health to report SERVING")
    assert health_pb2.HealthCheckResponse.NOT_SERVING in statuses
    # The REST worker outlives gunicorn's 1 s timeout while loading, and loads once.
    server.wait_ready()
    assert server.predict_rest({"x": 1}).status_code == 200
    assert len(server.markers("load")) == 2  # the REST worker and the gRPC server, once each
    assert "WORKER TIMEOUT" not in server.log()


def _scrape(server: Server) -> dict[str, Any]:
    text = requests.get(server.metrics_url(), timeout=10).text
    return {family.name: family for family in text_string_to_metric_families(text)}


def _total(family: Any, suffix: str = "_total", **labels: str) -> float:
    """The sum of a family's `suffix` samples whose labels include `labels`."""
    return sum(
        sample.value
        for sample in family.samples
        if sample.name == family.name + suffix and labels.items() <= sample.labels.items()
    )


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_to_the_whole_process_group_still_drains(launch: Launcher, signum: int) -> None:
    """Ctrl-C in a terminal (or an init that signals the group) reaches every process at once:
    the children leave the decision to the supervisor, so the calls in flight still complete."""
    server = launch("--threads", "2")
    server.wait_ready()
    with ThreadPoolExecutor(1) as pool, grpc_channel(server.grpc_port) as channel:
        rest_call = pool.submit(server.predict_rest, {"block": True})
        grpc_call = prediction_pb2_grpc.ModelStub(channel).Predict.future(
            seldon_message({"block": True}), timeout=30
        )
        wait_until(lambda: len(server.markers("started")) == 2, "the calls to be in flight")
        tree = server.tree()
        os.killpg(server.pid, signum)
        # The supervisor's SIGTERM, not the group's signal, is what starts each graceful stop.
        wait_until(
            lambda: (
                "Handling signal: term" in server.log() and "draining in-flight" in server.log()
            ),
            "the graceful stop",
            10,
        )
        server.release()
        assert rest_call.result(timeout=30).status_code == 200
        assert json_data(grpc_call.result(timeout=30)) == {"block": True}
    assert server.proc.wait(30) == ExitCode.OK
    wait_until(lambda: all_gone(tree) and not server.leftovers(), "every process to exit", 10)


def test_a_child_ignoring_sigterm_is_killed_at_the_end_of_the_grace(launch: Launcher) -> None:
    server = launch("--graceful-timeout", "1", interface="ServingModel.StubbornCustomService")
    server.wait_ready()
    wait_until(lambda: server.markers("custom"), "custom_service() to run")
    tree = server.tree()
    stopped_at = time.monotonic()
    assert server.stop() == ExitCode.FAILURE  # not a clean stop: something had to be killed
    assert time.monotonic() - stopped_at < 5
    assert "custom_service (pid" in server.log() and "killing it" in server.log()
    wait_until(lambda: all_gone(tree) and not server.leftovers(), "every process to exit", 5)


def test_sighup_makes_gunicorn_replace_its_workers(launch: Launcher) -> None:
    server = launch("--grpc-workers", "0")
    server.wait_ready(grpc_health=False)
    before = server.predict_rest({"x": 1}).json()["meta"]["tags"]["pid"]
    os.kill(server.pid, signal.SIGHUP)

    def new_worker() -> bool:
        reply = server.predict_rest({"x": 1})
        return reply.status_code == 200 and reply.json()["meta"]["tags"]["pid"] != before

    wait_until(new_worker, "a new REST worker")
    assert server.proc.poll() is None
