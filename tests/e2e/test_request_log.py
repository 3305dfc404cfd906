"""Request logging end to end: the real CLI, a real HTTP sink, events read by the CloudEvents SDK"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import pytest
import requests
import yaml
from event_sink import EventSink, Received, running_sink
from google.protobuf import json_format
from serverproc import Launcher, Server, grpc_channel, wait_until

from seldon_server.proto import prediction_pb2 as pb
from seldon_server.proto import prediction_pb2_grpc as pb_grpc
from seldon_server.settings import resolve

REQUEST = "io.seldon.serving.inference.request"
RESPONSE = "io.seldon.serving.inference.response"
FEEDBACK = "io.seldon.serving.feedback"
DEPLOYMENT_ENV = {
    "SELDON_DEPLOYMENT_ID": "iris-deployment",
    "PREDICTIVE_UNIT_ID": "classifier",
    "PREDICTOR_ID": "default",
    "POD_NAMESPACE": "models",
}
SENT = "seldon_request_log_events_sent_total"
FAILED = "seldon_request_log_events_failed_total"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


@pytest.fixture(scope="module")
def sink() -> Iterator[EventSink]:
    with running_sink() as started:
        yield started


@pytest.fixture(scope="module")
def server(module_launch: Launcher, sink: EventSink) -> Server:
    started = module_launch(
        "--log-url", sink.url, "--workers", "2", "--threads", "4", env=DEPLOYMENT_ENV
    )
    started.wait_ready()
    return started


@pytest.fixture(scope="module")
def channel(server: Server) -> Iterator[grpc.Channel]:
    with grpc_channel(server.grpc_port) as opened:
        yield opened


def new_puid() -> str:
    return f"test-{uuid.uuid4()}"


def by_type(events: list[Received]) -> dict[str, Received]:
    found: dict[str, Received] = {}
    for event in events:
        assert event.headers["ce-type"] not in found, "one event of each type per puid"
        found[event.headers["ce-type"]] = event
    return found


def attributes(event: Received) -> dict[str, Any]:
    """The event as the CloudEvents SDK reads it: proof that it is a valid binary-mode event."""
    parsed: Any = event.event()
    return dict(parsed.get_attributes())


def metric(server: Server, name: str) -> float:
    text = requests.get(server.metrics_url(), timeout=10).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name + "{") or line.startswith(name + " ")
    )


def seldon_message(body: dict[str, Any]) -> Any:
    return json_format.ParseDict(body, pb.SeldonMessage())


# -- what an event holds ------------------------------------------------------------------------


def test_rest_request_and_response_are_one_puid_and_the_exact_bodies(
    server: Server, sink: EventSink
) -> None:
    puid = new_puid()
    body = b'{"data": {"names": ["a", "b"], "ndarray": [[1, 2.5]]}, "meta": {"tags": {"t": 1}}}'
    reply = requests.post(
        server.url("/api/v1.0/predictions"),
        data=body,
        headers={"Content-Type": "application/json", "Seldon-Puid": puid},
        timeout=10,
    )
    assert reply.status_code == 200
    assert reply.headers["Seldon-Puid"] == puid
    events = by_type(sink.events_of(puid))
    assert set(events) == {REQUEST, RESPONSE}
    assert events[REQUEST].body == body
    assert events[RESPONSE].body == reply.content
    for ce_type, event in events.items():
        attrs = attributes(event)
        assert attrs["type"] == ce_type
        assert attrs["id"] == attrs["requestid"] == puid
        assert attrs["specversion"] == "1.0"
        assert attrs["datacontenttype"] == "application/json"
        assert attrs["modelid"] == "classifier"
        assert attrs["inferenceservicename"] == "iris-deployment"
        assert attrs["namespace"] == "models"
        assert attrs["endpoint"] == "default"
        assert attrs["source"].startswith("http://") and attrs["source"].endswith(
            f":{server.http_port}/"
        )
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", event.headers["ce-time"])


def test_rest_puid_comes_from_the_body_meta_else_is_new(server: Server, sink: EventSink) -> None:
    puid = new_puid()
    body = {"data": {"ndarray": [[1]]}, "meta": {"puid": puid}}
    meta_reply = requests.post(server.url("/predict"), json=body, timeout=10)
    assert meta_reply.headers["Seldon-Puid"] == puid
    assert len(sink.events_of(puid)) == 2
    fresh = requests.post(server.url("/predict"), json={"data": {"ndarray": [[1]]}}, timeout=10)
    generated = fresh.headers["Seldon-Puid"]
    assert UUID.fullmatch(generated)
    assert {e.headers["ce-type"] for e in sink.events_of(generated)} == {REQUEST, RESPONSE}


@pytest.mark.parametrize("puid", ["a\nb", "caf\u00e9 \u20ac", "\u0000x", "\u007f"])
def test_a_puid_that_cannot_be_a_header_gets_a_new_one(server: Server, puid: str) -> None:
    body = {"data": {"ndarray": [[1]]}, "meta": {"puid": puid}}
    reply = requests.post(server.url("/predict"), json=body, timeout=10)
    assert reply.status_code == 200
    assert UUID.fullmatch(reply.headers["Seldon-Puid"])


def test_grpc_bodies_are_the_json_mapping_of_request_and_reply(
    server: Server, sink: EventSink, channel: grpc.Channel
) -> None:
    stub = pb_grpc.ModelStub(channel)
    for body in (
        {"data": {"names": ["a"], "ndarray": [[1.5], [2.0]]}, "meta": {"tags": {"k": "v"}}},
        {"data": {"tensor": {"shape": [1, 3], "values": [0.1, 1e-7, 3e20]}}},
        {"strData": "some text"},
        {"jsonData": {"nested": [1, {"x": None}]}},
    ):
        puid = new_puid()
        request = seldon_message(body)
        reply = stub.Predict(request, metadata=(("seldon-puid", puid),), timeout=10)
        events = by_type(sink.events_of(puid))
        assert json.loads(events[REQUEST].body) == json_format.MessageToDict(request)
        assert json.loads(events[RESPONSE].body) == json_format.MessageToDict(reply)
        for event in events.values():
            assert attributes(event)["datacontenttype"] == "application/json"


def test_grpc_puid_from_the_message_meta_else_new(
    server: Server, sink: EventSink, channel: grpc.Channel
) -> None:
    puid = new_puid()
    stub = pb_grpc.ModelStub(channel)
    stub.Predict(seldon_message({"data": {"ndarray": [[1]]}, "meta": {"puid": puid}}), timeout=10)
    assert len(sink.events_of(puid)) == 2
    marker = f"marker-{uuid.uuid4()}"
    stub.Predict(seldon_message({"strData": marker}), timeout=10)
    mine = sink.wait_until(
        lambda got: sum(marker.encode() in e.body for e in got) == 2, "both events of the marker"
    )
    ids = {e.headers["ce-requestid"] for e in mine if marker.encode() in e.body}
    assert len(ids) == 1 and UUID.fullmatch(ids.pop())


# -- every path, errors included ----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/transform-input", "/transform-output", "/route", "/aggregate"])
def test_every_rest_operation_logs_its_exchange(server: Server, sink: EventSink, path: str) -> None:
    puid = new_puid()
    body: Any = {"data": {"ndarray": [[3, 4]]}}
    if path == "/aggregate":
        body = {"seldonMessages": [body, body]}
    reply = requests.post(server.url(path), json=body, headers={"Seldon-Puid": puid}, timeout=10)
    events = by_type(sink.events_of(puid))
    assert json.loads(events[REQUEST].body) == body
    assert events[RESPONSE].body == reply.content  # a 4xx/5xx status body for routes here


def test_feedback_is_one_feedback_event_keyed_by_the_rated_prediction(
    server: Server, sink: EventSink, channel: grpc.Channel
) -> None:
    rated = new_puid()
    feedback = {
        "request": {"data": {"ndarray": [[1, 2]]}},
        "response": {"data": {"ndarray": [[0.9]]}, "meta": {"puid": rated}},
        "reward": 1.0,
    }
    reply = requests.post(server.url("/api/v1.0/feedback"), json=feedback, timeout=10)
    assert reply.status_code == 200
    (event,) = sink.events_of(rated, count=1)
    assert event.headers["ce-type"] == FEEDBACK
    assert json.loads(event.body) == feedback
    grpc_rated = new_puid()
    message = json_format.ParseDict(
        {**feedback, "response": {"meta": {"puid": grpc_rated}}}, pb.Feedback()
    )
    pb_grpc.ModelStub(channel).SendFeedback(message, timeout=10)
    (event,) = sink.events_of(grpc_rated, count=1)
    assert attributes(event)["type"] == FEEDBACK
    assert json.loads(event.body) == json_format.MessageToDict(message)


def test_grpc_transform_and_aggregate_log(
    server: Server, sink: EventSink, channel: grpc.Channel
) -> None:
    puid = new_puid()
    message = seldon_message({"data": {"ndarray": [[5.0]]}})
    pb_grpc.TransformerStub(channel).TransformInput(message, metadata=(("seldon-puid", puid),))
    assert set(by_type(sink.events_of(puid))) == {REQUEST, RESPONSE}
    puid = new_puid()
    messages = pb.SeldonMessageList(seldonMessages=[message, message])
    with pytest.raises(grpc.RpcError) as info:  # the model is no combiner
        pb_grpc.CombinerStub(channel).Aggregate(messages, metadata=(("seldon-puid", puid),))
    events = by_type(sink.events_of(puid))
    assert json.loads(events[REQUEST].body) == json_format.MessageToDict(messages)
    assert json.loads(events[RESPONSE].body)["status"]["info"] == info.value.details()


def test_failures_are_logged_with_their_status_body(
    server: Server, sink: EventSink, channel: grpc.Channel
) -> None:
    puid = new_puid()
    bad = requests.post(
        server.url("/predict"), data=b"{not json", headers={"Seldon-Puid": puid}, timeout=10
    )
    assert bad.status_code == 400
    events = by_type(sink.events_of(puid))
    assert events[REQUEST].body == b"{not json"
    assert events[RESPONSE].body == bad.content
    assert json.loads(events[RESPONSE].body)["status"]["reason"] == "MICROSERVICE_BAD_DATA"

    puid = new_puid()
    failing = server.predict_rest({"fail": True}, headers={"Seldon-Puid": puid})
    assert failing.status_code == 500
    assert by_type(sink.events_of(puid))[RESPONSE].body == failing.content

    puid = new_puid()
    with pytest.raises(grpc.RpcError) as info:
        server.predict_grpc(channel, {"fail": True}, metadata=(("seldon-puid", puid),))
    status = json.loads(by_type(sink.events_of(puid))[RESPONSE].body)["status"]
    assert status["info"] == info.value.details()
    assert status["status"] == 1  # FAILURE, as REST status bodies have it

    puid = new_puid()
    undecodable = channel.unary_unary("/seldon.protos.Model/Predict")
    with pytest.raises(grpc.RpcError) as info:
        undecodable(b"\xff\xff\xff", metadata=(("seldon-puid", puid),), timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    events = by_type(sink.events_of(puid))
    kept = json.loads(events[REQUEST].body)
    assert base64.b64decode(kept["undecodable"]) == b"\xff\xff\xff"  # nothing lost
    assert json.loads(events[RESPONSE].body)["status"]["reason"] == "MICROSERVICE_BAD_DATA"


def test_get_and_form_requests_log_the_json_they_carry(server: Server, sink: EventSink) -> None:
    message = '{"data":{"ndarray":[[7]]}}'
    puid = new_puid()
    got = requests.get(
        server.url("/predict"), params={"json": message}, headers={"Seldon-Puid": puid}, timeout=10
    )
    assert got.status_code == 200
    assert by_type(sink.events_of(puid))[REQUEST].body == message.encode()
    puid = new_puid()
    form = requests.post(
        server.url("/predict"), data={"json": message}, headers={"Seldon-Puid": puid}, timeout=10
    )
    assert form.status_code == 200
    event = by_type(sink.events_of(puid))[REQUEST]
    assert event.body == message.encode()
    assert attributes(event)["datacontenttype"] == "application/json"


def test_health_and_metadata_are_not_logged(server: Server, sink: EventSink) -> None:
    before = len(sink.received)
    for path in ("/health/ping", "/health/status", "/metadata", "/ready", "/live"):
        requests.get(server.url(path), timeout=10)
    puid = new_puid()
    requests.post(
        server.url("/predict"), json={"data": {"ndarray": [[1]]}}, headers={"Seldon-Puid": puid}
    )
    sink.events_of(puid)  # the probes, sent first, would have arrived by now
    probes = [e for e in sink.received[before:] if e.headers["ce-requestid"] != puid]
    assert [e for e in probes if b"pong" in e.body or b"alive" in e.body] == []


# -- under load ---------------------------------------------------------------------------------


def test_two_thousand_requests_give_four_thousand_events(
    server: Server, sink: EventSink, channel: grpc.Channel
) -> None:
    puids = [new_puid() for _ in range(2000)]

    def call(index: int) -> int:
        puid = puids[index]
        if index % 2:
            server.predict_grpc(channel, {"i": index}, metadata=(("seldon-puid", puid),))
            return 200
        return server.predict_rest({"i": index}, headers={"Seldon-Puid": puid}).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(call, range(len(puids)))) == {200}
    wanted = set(puids)
    got = sink.wait_until(
        lambda got: sum(e.headers["ce-requestid"] in wanted for e in got) >= 4000, "4000 events"
    )
    mine = [e for e in got if e.headers["ce-requestid"] in wanted]
    assert len(mine) == 4000
    pairs = {(e.headers["ce-requestid"], e.headers["ce-type"]) for e in mine}
    assert pairs == {(p, t) for p in puids for t in (REQUEST, RESPONSE)}
    assert metric(server, "seldon_request_log_events_dropped_total") == 0
    assert metric(server, "seldon_request_log_events_failed_total") == 0
    assert metric(server, "seldon_request_log_events_sent_total") >= 4000


# -- the sink misbehaving -----------------------------------------------------------------------


def test_sink_errors_are_retried(launch: Launcher) -> None:
    with running_sink() as sink:
        sink.statuses = [500, 503, 500]
        server = launch("--log-url", sink.url)
        server.wait_ready()
        puid = new_puid()
        assert server.predict_rest({"x": 1}, headers={"Seldon-Puid": puid}).status_code == 200
        assert len(sink.events_of(puid)) == 2
        assert sink.statuses == []  # the three failures were answered, then retried
        wait_until(lambda: metric(server, SENT) == 2, "2 events counted as sent", 10)
        assert metric(server, "seldon_request_log_events_failed_total") == 0


def test_a_sink_that_refuses_an_event_is_not_retried(launch: Launcher) -> None:
    with running_sink() as sink:
        sink.statuses = [400]
        server = launch("--log-url", sink.url, "--log-mode", "request", "--logger-workers", "1")
        server.wait_ready()
        server.predict_rest({"x": 1}, headers={"Seldon-Puid": "refused"})  # the first, the 400
        puid = new_puid()
        server.predict_rest({"x": 2}, headers={"Seldon-Puid": puid})
        sink.events_of(puid, count=1)
        wait_until(lambda: metric(server, FAILED) == 1, "the refused event counted", 10)
        assert [e for e in sink.received if e.headers["ce-requestid"] == "refused"] == []
        wait_until(lambda: "1 events not delivered" in server.log(), "a warning", 10)


def test_a_sink_that_is_down_costs_nothing_but_the_events(launch: Launcher) -> None:
    with running_sink() as sink:
        url = sink.url  # a port that was listening, now closed
    server = launch("--log-url", url, "--log-work-buffer-size", "20", "--logger-workers", "1")
    server.wait_ready()
    for index in range(100):
        assert server.predict_rest({"i": index}).status_code == 200

    def all_counted() -> bool:
        lost = metric(server, "seldon_request_log_events_failed_total") + metric(
            server, "seldon_request_log_events_dropped_total"
        )
        return lost + metric(server, "seldon_request_log_queue_depth") >= 200 - 20

    wait_until(all_counted, "every event counted as failed, dropped or queued", 30)
    assert metric(server, "seldon_request_log_events_dropped_total") > 0
    assert metric(server, "seldon_request_log_events_sent_total") == 0
    warnings = [line for line in server.log().splitlines() if "events not delivered" in line]
    assert len(warnings) == 1  # at most one a minute
    assert url in warnings[0]


def test_a_stalled_sink_does_not_slow_requests_down(launch: Launcher) -> None:
    with running_sink() as sink:
        server = launch("--log-url", sink.url, "--log-work-buffer-size", "50")
        server.wait_ready()
        assert server.predict_rest({"warm": 1}).status_code == 200
        sink.wait_for(2)
        sink.stalled.set()
        stalled_until = time.monotonic() + 10
        slowest, count = 0.0, 0
        while time.monotonic() < stalled_until and count < 5000:
            started = time.monotonic()
            assert server.predict_rest({"i": count}).status_code == 200
            slowest = max(slowest, time.monotonic() - started)
            count += 1
        sink.stalled.clear()
        assert count > 100
        assert slowest < 1.0, f"a request took {slowest:.3f}s while the sink stalled"
        assert metric(server, "seldon_request_log_events_dropped_total") > 0

        def accounted() -> bool:
            return metric(server, "seldon_request_log_events_sent_total") + metric(
                server, "seldon_request_log_events_failed_total"
            ) + metric(server, "seldon_request_log_events_dropped_total") >= 2 * (count + 1)

        wait_until(accounted, "every event sent, failed or dropped, and counted", 30)


def test_sigterm_ships_the_queued_events_first(launch: Launcher) -> None:
    with running_sink() as sink:
        server = launch("--log-url", sink.url)
        server.wait_ready()
        sink.stalled.set()
        puids = [new_puid() for _ in range(50)]
        for puid in puids:
            assert server.predict_rest({}, headers={"Seldon-Puid": puid}).status_code == 200
        release = threading.Timer(1.5, sink.stalled.clear)
        release.start()
        try:
            assert server.stop() == 0
        finally:
            release.cancel()
            sink.stalled.clear()
        assert len(sink.events_of(*puids, timeout=5)) == 100


@pytest.mark.parametrize(
    ("mode", "types"),
    [("request", {REQUEST}), ("response", {RESPONSE, FEEDBACK})],
)
def test_log_mode_picks_the_side(launch: Launcher, mode: str, types: set[str]) -> None:
    with running_sink() as sink:
        # One sender ships events in the order they were logged: `last` arrives last.
        server = launch(
            "--log-url", sink.url, "--logger-workers", "1", env={"SELDON_LOG_MODE": mode}
        )
        server.wait_ready()
        last = new_puid()
        server.predict_rest({"x": 1}, headers={"Seldon-Puid": "p"})
        feedback = {"request": {"data": {"ndarray": [[1]]}}, "reward": 1}
        requests.post(server.url("/send-feedback"), json=feedback, headers={"Seldon-Puid": "f"})
        server.predict_rest({"x": 2}, headers={"Seldon-Puid": last})
        sink.events_of(last, count=1)
        got = {e.headers["ce-type"] for e in sink.received}
        assert got == types


def test_bad_log_configuration_exits_2_naming_the_option(launch: Launcher) -> None:
    for args, env, named in (
        (("--log-url", "logger:8080"), {}, "--log-url"),
        ((), {"SELDON_LOG_MODE": "sometimes"}, "SELDON_LOG_MODE"),
        (("--log-kafka-broker", "b:9092"), {}, "LOG_KAFKA_TOPIC"),
    ):
        server = launch(*args, env=env)
        assert server.proc.wait(30) == 2
        lines = [line for line in server.log().splitlines() if named in line]
        assert len(lines) == 1, server.log()


# -- the documented examples --------------------------------------------------------------------

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples/request-logging"


def test_the_documented_local_example_runs() -> None:
    result = subprocess.run(
        [str(EXAMPLE / "run-local")], capture_output=True, text=True, timeout=180, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "20 events for 10 predictions" in result.stdout


@pytest.mark.parametrize("manifest", ["seldondeployment.yaml", "deployment-kafka.yaml"])
def test_example_manifests_configure_a_sink_the_server_accepts(manifest: str) -> None:
    document = yaml.safe_load((EXAMPLE / manifest).read_text())
    if document["kind"] == "SeldonDeployment":
        pod = document["spec"]["predictors"][0]["componentSpecs"][0]["spec"]
    else:
        pod = document["spec"]["template"]["spec"]
    env = {item["name"]: item["value"] for item in pod["containers"][0]["env"] if "value" in item}
    settings = resolve(["IrisClassifier"], env)
    assert settings.log_url or (settings.log_kafka_broker and settings.log_kafka_topic)
    assert settings.log_mode == "all"
