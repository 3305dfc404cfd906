"""Request logging with Kafka: events produced to a topic, and Kafka mode's records logged."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from cloudevents.v1.kafka import KafkaMessage, from_binary
from event_sink import EventSink, running_sink
from google.protobuf import json_format
from kafka_broker import Broker, running_broker
from serverproc import Launcher, grpc_channel

from seldon_server.proto import prediction_pb2 as pb
from seldon_server.request_log import start_payload_log
from seldon_server.settings import resolve

REQUEST = "io.seldon.serving.inference.request"
RESPONSE = "io.seldon.serving.inference.response"
ENV = {"SELDON_DEPLOYMENT_ID": "dep", "PREDICTIVE_UNIT_ID": "unit", "PREDICTOR_ID": "pred"}


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    with running_broker(tmp_path_factory.mktemp("kafka")) as started:
        yield started


def test_events_go_to_the_log_topic_keyed_by_puid(launch: Launcher, broker: Broker) -> None:
    topic = broker.topic("log")
    server = launch("--log-kafka-broker", broker.address, "--log-kafka-topic", topic, env=ENV)
    server.wait_ready()
    replies = {}
    for index in range(10):
        puid = f"rest-{index}"
        reply = server.predict_rest({"i": index}, headers={"Seldon-Puid": puid})
        replies[puid] = reply.content
    with grpc_channel(server.grpc_port) as channel:
        for index in range(10):
            puid = f"grpc-{index}"
            reply = server.predict_grpc(channel, {"i": index}, metadata=(("seldon-puid", puid),))
            replies[puid] = json_format.MessageToDict(reply)
    records = broker.read(topic, at_least=40)
    assert len(records) == 40
    seen = set()
    for record in records:
        event = from_binary(KafkaMessage(record.headers, record.key, record.value))
        attrs = event.get_attributes()
        assert attrs["id"] == attrs["requestid"] == record.key
        assert (attrs["modelid"], attrs["inferenceservicename"], attrs["endpoint"]) == (
            "unit", "dep", "pred",
        )  # fmt: skip
        # The executor's own header names are there too, for its existing consumers.
        assert record.headers["type"] == attrs["type"].encode()
        assert record.headers["requestid"] == record.key.encode()
        assert record.headers["content-type"] == b"application/json"
        seen.add((record.key, attrs["type"]))
        if attrs["type"] == RESPONSE:
            expected = replies[record.key]
            if record.key.startswith("rest"):
                assert record.value == expected
            else:
                assert json.loads(record.value) == expected
    assert seen == {(puid, kind) for puid in replies for kind in (REQUEST, RESPONSE)}


def test_kafka_mode_records_are_logged(launch: Launcher, broker: Broker) -> None:
    inputs, outputs = broker.topic("in"), broker.topic("out")
    with running_sink() as sink:
        server = launch(
            "--server-type", "kafka", "--log-url", sink.url,
            env={
                "KAFKA_BROKER": broker.address,
                "KAFKA_INPUT_TOPIC": inputs,
                "KAFKA_OUTPUT_TOPIC": outputs,
                "KAFKA_GROUP_ID": "g-log",
            },
        )  # fmt: skip
        server.wait_ready()
        proto = pb.SeldonMessage()
        json_format.ParseDict({"data": {"ndarray": [[1.5, 2.5]]}}, proto)
        broker.produce(
            inputs,
            [
                ("a", b'{"data": {"ndarray": [[1, 2]]}}', [("Seldon-Puid", b"kafka-json")]),
                ("b", proto.SerializeToString(), [
                    ("Seldon-Puid", b"kafka-proto"),
                    ("proto-name", b"seldon.protos.SeldonMessage"),
                ]),
                ("c", b"{broken", [("Seldon-Puid", b"kafka-broken")]),
            ],
        )  # fmt: skip
        outputs_by_key = {r.key: r for r in broker.read(outputs, at_least=3)}
        events = _by_puid_and_type(sink, "kafka-json", "kafka-proto", "kafka-broken")
        assert events["kafka-json", REQUEST] == b'{"data": {"ndarray": [[1, 2]]}}'
        assert events["kafka-json", RESPONSE] == outputs_by_key["a"].value
        assert json.loads(events["kafka-proto", REQUEST]) == json_format.MessageToDict(proto)
        reply = pb.SeldonMessage.FromString(outputs_by_key["b"].value)
        assert json.loads(events["kafka-proto", RESPONSE]) == json_format.MessageToDict(reply)
        assert events["kafka-broken", REQUEST] == b"{broken"
        broken = json.loads(events["kafka-broken", RESPONSE])
        assert broken["status"]["reason"] == "MICROSERVICE_BAD_DATA"
        assert outputs_by_key["c"].value == events["kafka-broken", RESPONSE]


def _by_puid_and_type(sink: EventSink, *puids: str) -> dict[tuple[str, str], bytes]:
    got = sink.events_of(*puids)
    for event in got:
        event.event()  # each one a valid CloudEvent
    return {(e.headers["ce-requestid"], e.headers["ce-type"]): e.body for e in got}


def test_the_kafka_sink_in_process_ships_what_it_was_given(broker: Broker) -> None:
    topic = broker.topic("inproc")
    settings = resolve(
        ["Model", "--log-kafka-broker", broker.address, "--log-kafka-topic", topic], {}
    )
    log = start_payload_log(settings)
    assert log is not None
    json_type = "application/json"
    for index in range(5):
        log.exchange(f"k{index}", (b"{}", json_type, None), (b"[]", json_type, None))
    log.feedback("k-feedback", (b'{"reward": 1}', json_type, None))
    log.close(30)
    records = broker.read(topic, at_least=11)
    assert sorted(r.key for r in records) == sorted(
        [f"k{i}" for i in range(5) for _ in (0, 1)] + ["k-feedback"]
    )
    feedback = next(r for r in records if r.key == "k-feedback")
    assert feedback.headers["ce_type"] == b"io.seldon.serving.feedback"
    assert feedback.value == b'{"reward": 1}'
