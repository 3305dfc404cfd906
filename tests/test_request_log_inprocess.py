"""The request log's front-end hooks in this process: the REST app and the gRPC server with a
PayloadLog shipping to a real HTTP sink (the CLI-level tests are in e2e/test_request_log.py)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from event_sink import EventSink, Received, running_sink
from flask.testing import FlaskClient
from google.protobuf import json_format

from seldon_server.proto import prediction_pb2 as pb
from seldon_server.request_log import start_payload_log
from seldon_server.request_log.log import PayloadLog
from seldon_server.settings import resolve

REQUEST = "io.seldon.serving.inference.request"
RESPONSE = "io.seldon.serving.inference.response"
FEEDBACK = "io.seldon.serving.feedback"


class Doubler:
    def predict(self, X: Any, names: Any) -> Any:
        if isinstance(X, dict) and X.get("fail"):
            raise ValueError("asked to fail")
        return X * 2

    def send_feedback(self, features: Any, names: Any, reward: Any, truth: Any) -> None:
        return None


@pytest.fixture(scope="module")
def sink() -> Iterator[EventSink]:
    with running_sink() as started:
        yield started


@pytest.fixture(scope="module")
def payload_log(sink: EventSink) -> Iterator[PayloadLog]:
    env = {"SELDON_DEPLOYMENT_ID": "dep", "PREDICTIVE_UNIT_ID": "unit"}
    log = start_payload_log(resolve(["Doubler", "--log-url", sink.url], env))
    assert log is not None
    yield log
    log.close(5)


def types_of(events: list[Received]) -> dict[str, Received]:
    return {event.headers["ce-type"]: event for event in events}


def test_no_sink_no_log() -> None:
    assert start_payload_log(resolve(["Doubler"], {})) is None


def test_rest_exchanges_forms_gets_errors_and_feedback(
    rest: Callable[..., FlaskClient], payload_log: PayloadLog, sink: EventSink
) -> None:
    client = rest(Doubler(), payload_log=payload_log)
    body = b'{"data": {"ndarray": [[1, 2]]}}'
    reply = client.post("/predict", data=body, headers={"Seldon-Puid": "ip-1"})
    assert reply.headers["Seldon-Puid"] == "ip-1"
    events = types_of(sink.events_of("ip-1"))
    assert events[REQUEST].body == body and events[RESPONSE].body == reply.data
    assert events[REQUEST].headers["ce-modelid"] == "unit"

    form = client.post("/predict", data={"json": body.decode()}, headers={"Seldon-Puid": "ip-2"})
    assert form.status_code == 200
    assert types_of(sink.events_of("ip-2"))[REQUEST].body == body

    query = {"json": body.decode()}
    got = client.get("/predict", query_string=query, headers={"Seldon-Puid": "ip-3"})
    assert got.status_code == 200
    assert types_of(sink.events_of("ip-3"))[REQUEST].body == body

    bad = client.post("/predict", data=b"{oops", headers={"Seldon-Puid": "ip-4"})
    assert bad.status_code == 400
    assert types_of(sink.events_of("ip-4"))[RESPONSE].body == bad.data

    meta = client.post("/predict", json={"data": {"ndarray": [[1]]}, "meta": {"puid": "ip-5"}})
    assert meta.headers["Seldon-Puid"] == "ip-5"
    assert len(sink.events_of("ip-5")) == 2

    feedback = {"request": {"data": {"ndarray": [[1]]}}, "response": {"meta": {"puid": "ip-6"}}}
    assert client.post("/send-feedback", json=feedback).status_code == 200
    (event,) = sink.events_of("ip-6", count=1)
    assert event.headers["ce-type"] == FEEDBACK and json.loads(event.body) == feedback

    assert client.get("/health/ping").status_code == 200  # not logged: nothing to wait for


def test_grpc_exchanges_errors_and_feedback(
    grpc_server: Any, payload_log: PayloadLog, sink: EventSink
) -> None:
    handle = grpc_server(Doubler(), payload_log=payload_log)
    request = json_format.ParseDict({"data": {"ndarray": [[1.5, 2]]}}, pb.SeldonMessage())
    reply = handle.model.Predict(request, metadata=(("seldon-puid", "ig-1"),))
    events = types_of(sink.events_of("ig-1"))
    assert json.loads(events[REQUEST].body) == json_format.MessageToDict(request)
    assert json.loads(events[RESPONSE].body) == json_format.MessageToDict(reply)

    failing = json_format.ParseDict({"jsonData": {"fail": True}}, pb.SeldonMessage())
    with pytest.raises(grpc.RpcError):
        handle.model.Predict(failing, metadata=(("seldon-puid", "ig-2"),))
    status = json.loads(types_of(sink.events_of("ig-2"))[RESPONSE].body)["status"]
    assert status["info"] == "asked to fail"

    with pytest.raises(grpc.RpcError):
        handle.channel.unary_unary("/seldon.protos.Model/Predict")(
            b"\x0a\xff", metadata=(("seldon-puid", "ig-3"),)
        )
    assert "undecodable" in json.loads(types_of(sink.events_of("ig-3"))[REQUEST].body)

    messages = pb.SeldonMessageList(seldonMessages=[request, request])
    with pytest.raises(grpc.RpcError):  # Doubler is no combiner
        handle.stub("Combiner").Aggregate(messages, metadata=(("seldon-puid", "ig-4"),))
    logged = json.loads(types_of(sink.events_of("ig-4"))[REQUEST].body)
    assert logged == json_format.MessageToDict(messages)

    feedback = json_format.ParseDict(
        {"request": {"data": {"ndarray": [[1]]}}, "response": {"meta": {"puid": "ig-5"}}},
        pb.Feedback(),
    )
    handle.model.SendFeedback(feedback)
    (event,) = sink.events_of("ig-5", count=1)
    assert json.loads(event.body) == json_format.MessageToDict(feedback)
