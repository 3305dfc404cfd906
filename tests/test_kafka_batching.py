"""Kafka with batching, no broker: records in hand share predict calls, each gets its own reply."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import models
import numpy as np
import pytest
from prometheus_client import Histogram
from prometheus_client.parser import text_string_to_metric_families

from seldon_server import metrics
from seldon_server.dispatch import Dispatcher
from seldon_server.errors import BadDataError, InternalError, SeldonError
from seldon_server.kafka.messages import RecordHandler, Reply, header_map
from seldon_server.metrics import REQUEST_DURATION_METRIC, REQUESTS_METRIC, _observe_all
from seldon_server.proto import prediction_pb2 as pb
from seldon_server.serving.services import make_batcher
from seldon_server.settings import resolve

PROTO = ("proto-name", b"seldon.protos.SeldonMessage")
Headers = list[tuple[str, bytes]]


class Model(models.Calls):
    """Doubles numeric rows (a row starting with -1 makes the call raise); adds 1 on input."""

    def predict(self, X: Any, names: list[str]) -> Any:
        self._record("predict", X.copy() if isinstance(X, np.ndarray) else X)
        if isinstance(X, np.ndarray) and X.dtype.kind in "biuf":
            if X.ndim == 2 and (X[:, 0] == -1).any():
                raise ValueError("asked to fail")
            return X * 2
        return X

    def transform_input(self, X: Any, names: list[str]) -> Any:
        self._record("transform_input", X)
        return X + 1


def json_record(body: Any, *headers: tuple[str, bytes]) -> tuple[bytes, Headers]:
    return json.dumps(body).encode(), list(headers)


def proto_record(rows: list[list[float]], *headers: tuple[str, bytes], puid: str = "") -> Any:
    message = pb.SeldonMessage()
    message.data.tensor.shape.extend([len(rows), len(rows[0])])
    message.data.tensor.values.extend(v for row in rows for v in row)
    if puid:
        message.meta.puid = puid
    return message.SerializeToString(), [PROTO, *headers]


def puid(value: str) -> tuple[str, bytes]:
    return ("Seldon-Puid", value.encode())


def floats(*rows: float) -> dict[str, Any]:
    return {"data": {"ndarray": [[r, 0.5] for r in rows]}}


# One batch of records as a consumer reads them: predicts in both encodings, other operations,
# and records that cannot be answered.
RECORDS = [
    json_record(floats(1.0), puid("k0")),
    proto_record([[1.0, 0.5]], puid("k1")),
    json_record(floats(2.0), ("seldon-method", b"/transform-input"), puid("k2")),
    (b"not json", [puid("k3")]),
    json_record(floats(3.0, 4.0), puid("k4")),
    proto_record([[5.0, 0.5], [6.0, 0.5]], puid("k5")),
    json_record({"data": {"ndarray": [[7, 8]]}}, puid("k6")),  # ints: a call of their own
    json_record(
        {"request": floats(9.0), "reward": 1.0}, ("seldon-method", b"/send-feedback"), puid("k7")
    ),
    json_record({**floats(10.0), "meta": {"puid": "own"}}),  # its own puid
    json_record(floats(11.0)),  # a new puid
    json_record(floats(12.0), ("seldon-method", b"/api/v1.0/predictions"), puid("k10")),
    (b"[1, 2]", [puid("k11")]),  # JSON, but not a message
    (b"\xff\x01", [PROTO, puid("k12")]),  # not a protobuf message
    json_record(floats(13.0), ("seldon-method", b"/nowhere"), puid("k13")),
    proto_record([[14.0, 0.5]], puid="inner"),  # the puid in its meta
    json_record({"strData": "text"}, puid("k15")),
]
FAILED = {3: "Can't find JSON in data", 11: "Invalid request data type", 12: "Invalid message"}
FAILED[13] = "Unknown seldon-method"


def pairs(records: list[tuple[bytes, Headers]]) -> list[tuple[bytes | None, dict[str, bytes]]]:
    return [(value, header_map(headers)) for value, headers in records]


def one_by_one(handler: RecordHandler, records: list[tuple[bytes, Headers]]) -> list[Any]:
    results: list[Any] = []
    for value, headers in pairs(records):
        try:
            results.append(handler.handle(value, headers))
        except Exception as exc:
            results.append(exc)
    return results


def without_puid(reply: Reply) -> tuple[Any, list[Any]]:
    """A reply's body and headers with its puid replaced, to compare generated ones."""
    headers = [(name, b"*" if name == "Seldon-Puid" else value) for name, value in reply.headers]
    if PROTO in reply.headers:
        message = pb.SeldonMessage.FromString(reply.value)
        assert message.meta.puid == reply.puid
        message.meta.puid = "*"
        return message.SerializeToString(deterministic=True), headers
    body = json.loads(reply.value)
    assert body["meta"]["puid"] == reply.puid
    body["meta"]["puid"] = "*"
    return body, headers


@pytest.fixture
def handler(dispatcher: Callable[..., Dispatcher]) -> RecordHandler:
    return RecordHandler(dispatcher(Model()), "MODEL")


def predicts(handler: RecordHandler) -> list[Any]:
    return handler.dispatcher.model.obj.calls.get("predict", [])  # type: ignore[no-any-return]


def test_handle_many_answers_each_record_as_handle_does(
    dispatcher: Callable[..., Dispatcher], handler: RecordHandler
) -> None:
    batched = handler.handle_many(pairs(RECORDS), 8)
    alone_handler = RecordHandler(dispatcher(Model()), "MODEL")
    alone = one_by_one(alone_handler, RECORDS)
    assert len(batched) == len(alone) == len(RECORDS)
    for index, (got, expected) in enumerate(zip(batched, alone, strict=True)):
        if isinstance(expected, Exception):
            assert type(got) is type(expected), index
            assert str(got) == str(expected), index
            assert FAILED[index] in str(got)
            continue
        assert isinstance(got, Reply), (index, got)
        if index in (9,):  # a new puid each time
            assert len(got.puid) == 36 and got.puid != expected.puid
            assert without_puid(got) == without_puid(expected)
        else:
            assert got == expected, index  # the same bytes, headers and puid
    assert set(FAILED) == {i for i, r in enumerate(batched) if isinstance(r, Exception)}
    # calls: JSON floats (0, 4, 8, 9, 10: six rows), JSON ints (6), JSON text (15) and
    # protobuf (1, 5, 14)
    assert len(predicts(handler)) == 4
    assert len(predicts(alone_handler)) == 10
    json_call = next(
        c[0] for c in predicts(handler) if isinstance(c[0], np.ndarray) and len(c[0]) == 6
    )
    assert json_call[:, 0].tolist() == [1.0, 3.0, 4.0, 10.0, 11.0, 12.0]  # in record order
    proto_call = next(
        c[0] for c in predicts(handler) if isinstance(c[0], np.ndarray) and len(c[0]) == 4
    )
    assert proto_call[:, 0].tolist() == [1.0, 5.0, 6.0, 14.0]


def test_replies_carry_the_puid_in_their_headers_and_meta(handler: RecordHandler) -> None:
    results = handler.handle_many(pairs(RECORDS), 8)
    generated = results[9]
    assert isinstance(generated, Reply) and len(generated.puid) == 36
    assert json.loads(generated.value)["meta"]["puid"] == generated.puid
    for index, expected in [(0, "k0"), (4, "k4"), (8, "own"), (10, "k10"), (15, "k15")]:
        reply = results[index]
        assert isinstance(reply, Reply)
        assert reply.puid == expected == json.loads(reply.value)["meta"]["puid"]
        assert reply.headers == [
            ("Seldon-Puid", expected.encode()),
            ("Content-Type", b"application/json"),
        ]
    for index, expected in [(1, "k1"), (5, "k5"), (14, "inner")]:
        reply = results[index]
        assert isinstance(reply, Reply)
        message = pb.SeldonMessage.FromString(reply.value)
        assert message.meta.puid == reply.puid == expected
        assert reply.headers == [("Seldon-Puid", reply.puid.encode()), PROTO]
    four = json.loads(results[4].value)  # type: ignore[union-attr]
    assert four["data"]["ndarray"] == [[6.0, 1.0], [8.0, 1.0]]
    five = pb.SeldonMessage.FromString(results[5].value)  # type: ignore[union-attr]
    assert list(five.data.tensor.values) == [10.0, 1.0, 12.0, 1.0]
    assert list(five.data.tensor.shape) == [2, 2]


def test_other_operations_are_not_batched(handler: RecordHandler) -> None:
    results = handler.handle_many(pairs(RECORDS), 8)
    model = handler.dispatcher.model.obj
    assert model.count("transform_input") == 1
    assert json.loads(results[2].value)["data"]["ndarray"] == [[3.0, 1.5]]  # type: ignore[union-attr]
    assert json.loads(results[7].value)["meta"]["puid"] == "k7"  # type: ignore[union-attr]


def test_json_and_protobuf_records_are_called_apart(handler: RecordHandler) -> None:
    records = [json_record(floats(1.0)), proto_record([[2.0, 0.5]]), json_record(floats(3.0))]
    handler.handle_many(pairs(records), 8)
    assert [call[0][:, 0].tolist() for call in predicts(handler)] == [[1.0, 3.0], [2.0]]


def test_calls_hold_at_most_max_size_records(handler: RecordHandler) -> None:
    records = [json_record(floats(float(i)), puid(f"p{i}")) for i in range(10)]
    results = handler.handle_many(pairs(records), 3)
    assert [len(call[0]) for call in predicts(handler)] == [3, 3, 3, 1]
    for i, reply in enumerate(results):
        assert isinstance(reply, Reply) and reply.puid == f"p{i}"
        assert json.loads(reply.value)["data"]["ndarray"] == [[2.0 * i, 1.0]]


def test_a_raising_call_fails_its_records_only(handler: RecordHandler) -> None:
    records = [
        json_record(floats(1.0)),
        json_record(floats(-1.0)),  # fails the JSON call it joins
        proto_record([[2.0, 0.5]]),
        json_record({"data": {"ndarray": [[3, 4]]}}),  # ints: another call
        json_record(floats(5.0)),
    ]
    results = handler.handle_many(pairs(records), 8)
    for index in (0, 1, 4):
        assert isinstance(results[index], InternalError)
        assert str(results[index]) == "asked to fail"
    assert results[0] is results[1] is results[4]
    assert isinstance(results[2], Reply) and isinstance(results[3], Reply)
    assert json.loads(results[3].value)["data"]["ndarray"] == [[6, 8]]


def test_an_empty_batch_has_no_results(handler: RecordHandler) -> None:
    assert handler.handle_many([], 8) == []
    assert predicts(handler) == []


def test_a_router_answers_its_records_one_by_one(dispatcher: Callable[..., Dispatcher]) -> None:
    router = RecordHandler(dispatcher(models.Router(branch=1)), "ROUTER")
    records = [json_record(floats(1.0), puid("r0")), json_record(floats(2.0), puid("r1"))]
    results = router.handle_many(pairs(records), 8)
    assert [json.loads(r.value)["data"]["ndarray"] for r in results] == [[[1]], [[1]]]  # type: ignore[union-attr]
    assert router.dispatcher.model.obj.count("route") == 2


@pytest.mark.parametrize("names", [None, 3, [{"x": 1}]], ids=["null", "number", "object"])
def test_a_record_with_odd_names_does_not_fail_its_batch(
    handler: RecordHandler, names: Any
) -> None:
    odd = json_record({"data": {"names": names, "ndarray": [[1.0, 2.0]]}}, puid("odd"))
    records = [json_record(floats(1.0), puid("a")), odd, json_record(floats(2.0), puid("b"))]
    expected = one_by_one(handler, records)
    assert all(isinstance(result, Reply) for result in expected)
    assert handler.handle_many(pairs(records), 8) == expected


# -- Stream._answer_all --------------------------------------------------------------------------


class _Client:
    """Stands in for confluent_kafka's Consumer and Producer: nothing reaches a broker."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def subscribe(self, topics: list[str], **callbacks: Any) -> None:
        self.topics = topics


class _Record:
    def __init__(self, index: int, value: bytes, headers: Headers) -> None:
        self._key, self._value, self._headers, self._offset = (
            f"k{index}".encode(),
            value,
            headers,
            index,
        )

    def key(self) -> bytes:
        return self._key

    def value(self) -> bytes:
        return self._value

    def headers(self) -> Headers:
        return self._headers

    def topic(self) -> str:
        return "in"

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self._offset


class _Recorder(models.RecordingMetrics):
    def __init__(self) -> None:
        super().__init__()
        self.observed: list[tuple[Any, ...]] = []

    def observe_request(self, method: str, code: int | str, seconds: float) -> None:
        self.observed.append((method, code, 1))

    def observe_requests(self, method: str, code: int | str, durations: Sequence[float]) -> None:
        self.observed.append((method, code, len(durations)))


def _stream(monkeypatch: pytest.MonkeyPatch, d: Dispatcher, *argv: str) -> Any:
    import confluent_kafka

    from seldon_server.kafka.stream import Stream

    monkeypatch.setattr(confluent_kafka, "Consumer", _Client)
    monkeypatch.setattr(confluent_kafka, "Producer", _Client)
    env = {"KAFKA_BROKER": "broker:9092", "KAFKA_INPUT_TOPIC": "in", "KAFKA_OUTPUT_TOPIC": "out"}
    settings = resolve(["Model", "--server-type", "kafka", *argv], env, lambda _path: {})
    d.batcher = make_batcher(d, settings)
    return Stream(settings, d, d.metrics, None)


STREAM_RECORDS = [
    json_record(floats(1.0)),
    json_record(floats(2.0)),
    (b"not json", [("trace", b"kept")]),
    proto_record([[3.0, 0.5]]),
    json_record(floats(4.0)),
]


def test_a_batched_stream_answers_every_record_in_order_with_shared_calls(
    monkeypatch: pytest.MonkeyPatch, dispatcher: Callable[..., Dispatcher]
) -> None:
    recorder = _Recorder()
    d = dispatcher(Model(), metrics=recorder)
    stream = _stream(monkeypatch, d, "--max-batch-size", "8")
    assert stream.batch_size == 8
    records = [_Record(i, value, headers) for i, (value, headers) in enumerate(STREAM_RECORDS)]
    outputs = stream._answer_all(records)
    assert [output.key for output in outputs] == [b"k0", b"k1", b"k2", b"k3", b"k4"]
    assert all(output.topic == "out" and not output.dead_letter for output in outputs)
    assert json.loads(outputs[4].value)["data"]["ndarray"] == [[8.0, 1.0]]
    assert pb.SeldonMessage.FromString(outputs[3].value).data.tensor.values[0] == 6.0
    failed = dict(outputs[2].headers)
    assert failed["seldon-error"] == b"MICROSERVICE_BAD_DATA"
    assert json.loads(outputs[2].value)["status"]["reason"] == "MICROSERVICE_BAD_DATA"
    assert [len(call[0]) for call in d.model.obj.calls["predict"]] == [3, 1]
    # one observation per status code, of as many requests as had it
    assert sorted(recorder.observed, key=str) == [("kafka", 200, 4), ("kafka", 400, 1)]


def test_without_a_batcher_a_stream_answers_record_by_record(
    monkeypatch: pytest.MonkeyPatch, dispatcher: Callable[..., Dispatcher]
) -> None:
    recorder = _Recorder()
    d = dispatcher(Model(), metrics=recorder)
    stream = _stream(monkeypatch, d)
    assert stream.batch_size == 0
    records = [_Record(i, value, headers) for i, (value, headers) in enumerate(STREAM_RECORDS)]
    outputs = stream._answer_all(records)
    assert len(outputs) == 5 and json.loads(outputs[4].value)["data"]["ndarray"] == [[8.0, 1.0]]
    assert d.model.obj.count("predict") == 4
    # recorded once per batch too: one observation per status code, of its requests
    assert recorder.observed == [("kafka", 200, 4), ("kafka", 400, 1)]


# -- request metrics for a batch: as many observations, in one write ---------------------------


OBSERVATIONS = [
    (200, 0.003, 5),
    (200, 0.005, 3),  # on a bucket bound: counted in it, as observe() counts it
    (200, 0.0123, 7),
    (200, 1.7, 11),
    (200, 0.0, 2),
    (200, 100.0, 4),  # past the last bound: +Inf only
    (400, 0.0005, 1),
    (503, 0.25, 9),
]

WORKER = """
import json, sys
from seldon_server.metrics import DefaultLabels, PrometheusRecorder
recorder = PrometheusRecorder(DefaultLabels())
together = {}
for code, seconds, count in json.loads(sys.argv[1]):
    if sys.argv[2] == "together":  # one call per code, with latencies of every bucket
        together.setdefault(code, []).extend([seconds] * count)
    else:
        for _ in range(count):
            recorder.observe_request("kafka", code, seconds)
for code, durations in together.items():
    recorder.observe_requests("kafka", code, durations)
"""


def _record_in(directory: Path, how: str) -> dict[tuple[str, tuple[Any, ...]], float]:
    """Record OBSERVATIONS in a fresh multiprocess interpreter (prometheus_client fixes its
    value class at first import: this process stays single-process); the scrape's samples."""
    directory.mkdir()
    env = {**os.environ, metrics.MULTIPROC_ENV: str(directory)}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(WORKER), json.dumps(OBSERVATIONS), how],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    body, _ = metrics.render(path=str(directory))
    found = {}
    for family in text_string_to_metric_families(body.decode()):
        if family.name in (REQUESTS_METRIC.removesuffix("_total"), REQUEST_DURATION_METRIC):
            for sample in family.samples:
                found[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return found


def test_observe_requests_equals_as_many_observe_request_calls(tmp_path: Path) -> None:
    together = _record_in(tmp_path / "together", "together")
    apart = _record_in(tmp_path / "apart", "apart")
    assert together.keys() == apart.keys()
    sums = {key for key in together if key[0].endswith("_sum")}
    assert len(sums) == 3  # one per code
    for key, value in together.items():
        if key in sums:  # count x seconds vs seconds added count times: rounding may differ
            assert value == pytest.approx(apart[key], rel=1e-12), key
        else:
            assert value == apart[key], key
    requests = {k: v for k, v in together.items() if k[0] == REQUESTS_METRIC}
    assert sum(requests.values()) == sum(count for _, _, count in OBSERVATIONS)
    inf_200 = (
        f"{REQUEST_DURATION_METRIC}_bucket",
        (("code", "200"), ("le", "+Inf"), ("method", "kafka")),
    )
    assert together[inf_200] == 5 + 3 + 7 + 11 + 2 + 4
    le_5ms = (
        f"{REQUEST_DURATION_METRIC}_bucket",
        (("code", "200"), ("le", "0.005"), ("method", "kafka")),
    )
    assert together[le_5ms] == 5 + 3 + 2


def _histogram_samples(histogram: Any) -> dict[tuple[str, tuple[Any, ...]], float]:
    (family,) = histogram.collect()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for s in family.samples
        if not s.name.endswith("_created")
    }


@pytest.mark.parametrize(
    "durations",
    [[o[1]] * o[2] for o in OBSERVATIONS] + [[o[1] for o in OBSERVATIONS for _ in range(o[2])]],
)
def test_observe_all_equals_repeated_observe(durations: list[float]) -> None:
    buckets = (0.0005, 0.001, 0.005, 0.01, 0.25, 1.0, 2.5)
    together = Histogram("together", "h", registry=None, buckets=buckets)
    apart = Histogram("apart", "h", registry=None, buckets=buckets)
    _observe_all(together, durations)
    for seconds in durations:
        apart.observe(seconds)
    got = {
        (name.replace("together", "apart"), labels): v
        for (name, labels), v in _histogram_samples(together).items()
    }
    expected = _histogram_samples(apart)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-12), key


def test_observe_all_falls_back_to_observing_one_by_one() -> None:
    class Plain:
        def __init__(self) -> None:
            self.seen: list[float] = []

        def observe(self, value: float) -> None:
            self.seen.append(value)

    plain = Plain()
    _observe_all(plain, [0.25, 0.25, 0.25])
    assert plain.seen == [0.25, 0.25, 0.25]


def test_unanswerable_records_fail_as_bad_data_in_their_slots(handler: RecordHandler) -> None:
    results = handler.handle_many(pairs(RECORDS), 8)
    for index in FAILED:
        assert isinstance(results[index], SeldonError)
        assert isinstance(results[index], BadDataError)
