"""Kafka mode without a broker: one record through the dispatcher, librdkafka settings, metrics."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import models
import pytest

from seldon_server.dispatch import Dispatcher
from seldon_server.errors import BadDataError
from seldon_server.kafka import config
from seldon_server.kafka.messages import RecordHandler, header_map
from seldon_server.proto import prediction_pb2 as pb
from seldon_server.settings import resolve

NEEDS = {"KAFKA_BROKER": "b:9092", "KAFKA_INPUT_TOPIC": "in", "KAFKA_OUTPUT_TOPIC": "out"}


@pytest.fixture
def handler(dispatcher: Callable[..., Dispatcher]) -> RecordHandler:
    return RecordHandler(dispatcher(models.TagsAndMetrics()), "MODEL")


def test_header_map_is_case_insensitive_and_keeps_the_first() -> None:
    headers = header_map([("Seldon-Puid", b"a"), ("seldon-puid", b"b"), ("empty", None)])
    assert headers == {"seldon-puid": b"a", "empty": b""}


def test_json_record_gets_the_header_puid_in_meta_and_headers(handler: RecordHandler) -> None:
    value = json.dumps({"data": {"ndarray": [[1, 2]]}, "meta": {"puid": "body"}}).encode()
    reply = handler.handle(value, header_map([("Seldon-Puid", b"header")]))
    body = json.loads(reply.value)
    assert body["data"] == {"names": ["t:0", "t:1"], "ndarray": [[1, 2]]}
    assert body["meta"]["puid"] == "header" == reply.puid
    assert ("Seldon-Puid", b"header") in reply.headers
    assert ("Content-Type", b"application/json") in reply.headers


def test_json_record_keeps_its_own_puid_else_gets_a_new_one(handler: RecordHandler) -> None:
    own = handler.handle(b'{"data": {"ndarray": [1]}, "meta": {"puid": "mine"}}', {})
    assert own.puid == "mine" and json.loads(own.value)["meta"]["puid"] == "mine"
    new = handler.handle(b'{"data": {"ndarray": [1]}}', {})
    assert json.loads(new.value)["meta"]["puid"] == new.puid
    generated = {handler.handle(b'{"data": {"ndarray": [1]}}', {}).puid for _ in range(200)}
    assert len(generated) == 200
    for puid in generated:
        assert uuid.UUID(puid).version == 4 and uuid.UUID(puid).variant == uuid.RFC_4122


def test_json_numbers_keep_their_types(handler: RecordHandler) -> None:
    reply = handler.handle(b'{"data": {"ndarray": [[1, 2.5]]}}', {})
    assert b"[[1.0,2.5]]" in reply.value
    reply = handler.handle(b'{"data": {"ndarray": [[1, 2]]}}', {})
    assert b"[[1,2]]" in reply.value


def test_protobuf_record_gets_a_protobuf_reply(handler: RecordHandler) -> None:
    request = pb.SeldonMessage()
    request.data.tensor.shape.extend([1, 2])
    request.data.tensor.values.extend([3.0, 4.0])
    headers = header_map([("proto-name", b"seldon.protos.SeldonMessage")])
    reply = handler.handle(request.SerializeToString(), headers)
    message = pb.SeldonMessage.FromString(reply.value)
    assert list(message.data.tensor.values) == [3.0, 4.0]
    assert message.meta.puid == reply.puid and len(reply.puid) == 36
    assert ("proto-name", b"seldon.protos.SeldonMessage") in reply.headers


@pytest.mark.parametrize(
    ("value", "headers", "reason"),
    [
        (b"not json", [], "Can't find JSON in data"),
        (b"\xff\x01", [("proto-name", b"seldon.protos.SeldonMessage")], "Invalid message"),
        (b"{}", [("proto-name", b"seldon.protos.Feedback")], "does not match"),
        (b"{}", [("Content-Type", b"text/csv")], "Unsupported Content-Type"),
        (b"{}", [("seldon-method", b"/nowhere")], "Unknown seldon-method"),
        (b"[1, 2]", [], "Invalid request data type"),
    ],
)
def test_bad_records_are_bad_data(
    handler: RecordHandler, value: bytes, headers: list[tuple[str, bytes]], reason: str
) -> None:
    with pytest.raises(BadDataError) as info:
        handler.handle(value, header_map(headers))
    assert reason in info.value.message


def test_service_type_and_method_header_choose_the_operation(
    dispatcher: Callable[..., Dispatcher],
) -> None:
    router = RecordHandler(dispatcher(models.Router(branch=1)), "ROUTER")
    reply = router.handle(b'{"data": {"ndarray": [[1]]}}', {})
    assert json.loads(reply.value)["data"]["ndarray"] == [[1]]
    transformer = RecordHandler(dispatcher(models.Transformer()), "MODEL")
    headers = header_map([("seldon-method", b"/transform-input")])
    assert transformer.handle(b'{"data": {"ndarray": [[1]]}}', headers).value
    assert transformer.dispatcher.model.obj.count("transform_input") == 1


def test_feedback_records(dispatcher: Callable[..., Dispatcher]) -> None:
    model = models.Router()
    feedback = RecordHandler(dispatcher(model), "MODEL")
    body = {"request": {"data": {"ndarray": [[1]]}}, "reward": 1.0}
    headers = header_map([("seldon-method", b"/send-feedback"), ("Seldon-Puid", b"p")])
    reply = feedback.handle(json.dumps(body).encode(), headers)
    assert json.loads(reply.value)["meta"]["puid"] == "p"
    assert model.count("send_feedback") == 1
    proto = pb.Feedback(reward=0.5)
    proto.request.data.ndarray.append(1.0)
    headers = header_map(
        [("seldon-method", b"/send-feedback"), ("proto-name", b"seldon.protos.Feedback")]
    )
    assert pb.SeldonMessage.FromString(feedback.handle(proto.SerializeToString(), headers).value)
    assert model.count("send_feedback") == 2


def test_the_model_exception_reaches_the_stream(dispatcher: Callable[..., Dispatcher]) -> None:
    """The stream turns it into a dead letter (or a 500 status body), as REST turns it into 500."""
    handler = RecordHandler(dispatcher(models.Boom()), "MODEL")
    with pytest.raises(ValueError, match="boom"):
        handler.handle(b'{"data": {"ndarray": [[1]]}}', {})


def _settings(**env: str) -> Any:
    return resolve(["M", "--server-type", "kafka"], {**NEEDS, **env}, lambda _p: {})


def test_group_id_as_the_executor_named_it() -> None:
    env = {"PREDICTOR_ID": "p", "SELDON_DEPLOYMENT_ID": "d", "POD_NAMESPACE": "ns"}
    assert config.group_id(_settings(**env)) == "p.d.ns"
    assert config.group_id(_settings(**env, KAFKA_GROUP_ID="mine")) == "mine"


def test_offsets_are_stored_by_us_and_committed_per_the_setting() -> None:
    auto = config.consumer_config(_settings())
    assert auto["enable.auto.offset.store"] is False and auto["enable.auto.commit"] is True
    assert auto["auto.offset.reset"] == "earliest"
    manual = config.consumer_config(_settings(KAFKA_AUTO_COMMIT="false"))
    assert manual["enable.auto.commit"] is False
    producer = config.producer_config(_settings())
    assert producer["acks"] == "all" and producer["enable.idempotence"] is True


def test_security_settings() -> None:
    settings = _settings(
        KAFKA_SECURITY_PROTOCOL="SASL_SSL",
        KAFKA_SSL_CA_CERT="ca-pem",
        KAFKA_SSL_CLIENT_CERT_FILE="/cert.pem",
        KAFKA_SSL_CLIENT_KEY="key-pem",
        KAFKA_SSL_CLIENT_KEY_FILE="/ignored.pem",
        KAFKA_SSL_CLIENT_KEY_PASS="secret",
        KAFKA_SASL_USERNAME="user",
        KAFKA_SASL_PASSWORD="pass",
        KAFKA_SASL_MECHANISM="scram-sha-512",
    )
    common = config.producer_config(settings)
    assert common["security.protocol"] == "sasl_ssl"
    assert common["ssl.ca.pem"] == "ca-pem"
    assert common["ssl.certificate.location"] == "/cert.pem"
    assert common["ssl.key.pem"] == "key-pem" and "ssl.key.location" not in common
    assert common["ssl.key.password"] == "secret"
    assert (common["sasl.username"], common["sasl.password"]) == ("user", "pass")
    assert common["sasl.mechanism"] == "SCRAM-SHA-512"
    plain = config.producer_config(_settings(KAFKA_SSL_CA_CERT="ignored"))
    assert "ssl.ca.pem" not in plain and "sasl.username" not in plain


def test_lag_from_librdkafka_statistics() -> None:
    from seldon_server.kafka.metrics import _lag

    assert _lag("0", {"consumer_lag": 7}) == 7
    assert _lag("-1", {"consumer_lag": 7}) is None  # librdkafka's internal partition
    assert _lag("1", {"consumer_lag": -1}) is None  # not known yet


class _Event:
    def __init__(self, offset: int, error: Any = None) -> None:
        self.offset, self._error = offset, error

    def error(self) -> Any:
        return self._error


class _PausedConsumer:
    """consume() as librdkafka serves it during a pause that a rebalance interrupted."""

    def __init__(self, batches: list[list[_Event]]) -> None:
        self.batches = batches

    def consume(self, count: int, timeout: float) -> list[_Event]:
        return self.batches.pop(0) if self.batches else []


def test_records_read_while_paused_are_answered_next_not_dropped() -> None:
    from seldon_server.kafka.metrics import KafkaMetrics
    from seldon_server.kafka.stream import Stream

    class Error:
        def str(self) -> str:
            return "transport failure"

    stream = Stream.__new__(Stream)  # the loop's own state, without a broker
    stream.consumer = _PausedConsumer([[_Event(7), _Event(-1, Error())], [_Event(8)]])
    stream.metrics = KafkaMetrics("g")
    stream.input_topic = "in"
    stream._held, stream._last_error = [], ""
    stream._wait(0.05)
    assert [r.offset for r in stream._poll()] == [7, 8]
    assert stream._last_error == "Kafka: transport failure"
    assert stream._poll() == []
