"""The request log's parts: protobuf JSON mapping, event headers, and the queue's accounting."""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import pytest
from event_sink import EventSink, running_sink
from google.protobuf import json_format
from hypothesis import given, settings
from hypothesis import strategies as st

from seldon_server.codecs.message import Message
from seldon_server.codecs.proto import encode_reply
from seldon_server.codecs.proto_json import message_json, reply_json, seldon_message_json
from seldon_server.proto import prediction_pb2 as pb
from seldon_server.request_log.events import (
    REQUEST,
    Event,
    HttpHeaders,
    Identity,
    KafkaHeaders,
    timestamp,
)
from seldon_server.request_log.http_sink import HttpSink
from seldon_server.request_log.log import PayloadLog
from seldon_server.request_log.metrics import LogMetrics

IDENTITY = Identity("http://host:9000/", "unit", "dep", "ns", "pred")
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(st.lists(finite, min_size=1, max_size=4), min_size=1, max_size=3),
    names=st.lists(st.text(max_size=5), max_size=3),
    tensor=st.booleans(),
    puid=st.one_of(st.none(), st.text(max_size=8)),
)
def test_seldon_message_json_is_protobufs_json_mapping(
    rows: list[list[float]], names: list[str], tensor: bool, puid: str | None
) -> None:
    width = len(rows[0])
    rows = [(row * width)[:width] for row in rows]  # rectangular
    data: dict[str, Any] = {"names": names}
    if tensor:
        data["tensor"] = {"shape": [len(rows), width], "values": [v for r in rows for v in r]}
    else:
        data["ndarray"] = rows
    body: dict[str, Any] = {"data": data}
    if puid is not None:
        body["meta"] = {"puid": puid}
    message = json_format.ParseDict(body, pb.SeldonMessage())
    out = seldon_message_json(message.SerializeToString())
    assert out.endswith(b"\n")
    assert json.loads(out) == json_format.MessageToDict(message)


@pytest.mark.parametrize(
    "body",
    [
        {"strData": "x"},
        {"binData": "AAE="},
        {"jsonData": {"a": [1, None, "b"]}, "meta": {"tags": {"t": 1}}},
        {"data": {"ndarray": [["text", 1.0]]}},
        {"data": {"ndarray": [[1.0], [2.0, 3.0]]}},  # ragged
        {"data": {"tftensor": {"dtype": "DT_FLOAT", "floatVal": [1.0]}}},
        {"meta": {}},
        {},
    ],
)
def test_other_messages_take_protobufs_printer(body: dict[str, Any]) -> None:
    message = json_format.ParseDict(body, pb.SeldonMessage())
    out = seldon_message_json(message.SerializeToString())
    assert json.loads(out) == json_format.MessageToDict(message)


def test_bytes_that_are_no_message_are_kept_not_lost() -> None:
    out = json.loads(message_json(pb.Feedback, b"\xff\x00garbage"))
    assert out["undecodable"] == "/wBnYXJiYWdl" and out["error"]


def test_timestamp_is_rfc3339_utc_with_microseconds() -> None:
    assert timestamp(0.25) == "1970-01-01T00:00:00.250000Z"
    assert timestamp(1_700_000_000.000001).startswith("2023-11-14T22:13:20.00000")


def test_http_headers_carry_every_attribute_and_no_injected_line() -> None:
    event = Event(REQUEST, "p\r\nX-Evil: 1", b"{}", "application/json", None, 0.0)
    head = HttpHeaders(IDENTITY).of(event).decode()
    lines = head.split("\r\n")
    assert "Ce-Id: p  X-Evil: 1" in lines and not any(line.startswith("X-Evil") for line in lines)
    for expected in (
        "Ce-Specversion: 1.0",
        "Ce-Source: http://host:9000/",
        f"Ce-Type: {REQUEST}",
        "Ce-Modelid: unit",
        "Ce-Inferenceservicename: dep",
        "Ce-Namespace: ns",
        "Ce-Endpoint: pred",
        "Content-Type: application/json",
    ):
        assert expected in lines


def test_empty_attributes_are_left_out() -> None:
    identity = Identity("http://h:1/", "unit", "", "", "")
    event = Event(REQUEST, "p", b"", "application/json", None, 0.0)
    names = {name for name, _ in KafkaHeaders(identity).of(event)}
    assert "ce_namespace" not in names and "ce_modelid" in names and "modelid" in names


def http_log(sink: EventSink, mode: str, capacity: int) -> tuple[PayloadLog, LogMetrics]:
    """A request log with one sender, shipping to `sink` over HTTP, and its metrics."""
    metrics = LogMetrics("http")
    log = PayloadLog(
        lambda: HttpSink(sink.url, HttpHeaders(IDENTITY)),
        mode=mode, senders=1, capacity=capacity, metrics=metrics, describe=sink.url,
    )  # fmt: skip
    return log, metrics


def _count(metric: Any) -> float:
    return float(metric._value.get())


def test_every_event_is_sent_failed_or_dropped_and_counted() -> None:
    """A stalled sink fills the queue; once it answers again the accounting adds up."""
    with running_sink() as sink:
        sink.stalled.set()
        log, metrics = http_log(sink, "all", 10)
        total = 150
        started = time.perf_counter()
        for index in range(total // 3):
            log.exchange(f"p{index}", (b"{}", "application/json", None), (b"[]", "x/y", None))
            log.feedback(f"f{index}", (b"{}", "application/json", None))
        assert time.perf_counter() - started < 1.0  # never waits for the stalled sink
        deadline = time.monotonic() + 10  # the monitor reports drops once a second
        while _count(metrics.dropped) < total - 10 - 128 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _count(metrics.dropped) >= total - 10 - 128
        sink.stalled.clear()
        log.close(10)
        accounted = _count(metrics.sent) + _count(metrics.failed) + _count(metrics.dropped)
        assert accounted == total
        assert _count(metrics.sent) == len(sink.received) > 0


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(st.lists(finite, min_size=1, max_size=4), min_size=1, max_size=3),
    kind=st.sampled_from(["f8", "i8", "f4", "bool"]),
    names=st.lists(st.text(max_size=4), max_size=3),
    tensor=st.booleans(),
    meta=st.fixed_dictionaries(
        {},
        optional={
            "puid": st.text(max_size=6),
            "requestPath": st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
            "tags": st.dictionaries(st.text(max_size=3), st.integers(-5, 5), max_size=2),
        },
    ),
)
def test_reply_json_is_the_json_mapping_of_the_encoded_reply(
    rows: list[list[float]], kind: str, names: list[str], tensor: bool, meta: dict[str, Any]
) -> None:
    width = len(rows[0])
    values = [(row * width)[:width] for row in rows]
    array = np.array(values) % 1000 if kind != "bool" else np.array(values) > 0
    if kind in ("i8", "f4"):
        array = array.astype(kind)
    reply = Message("data", array, names, "tensor" if tensor else "ndarray", meta, None)
    printed = reply_json(reply)
    expected = json_format.MessageToDict(pb.SeldonMessage.FromString(encode_reply(reply)))
    if printed is None:  # declined: the bytes are converted instead, which must agree too
        printed = seldon_message_json(encode_reply(reply))
    else:
        assert kind != "bool" and "tags" not in meta  # only what it can print exactly
    assert json.loads(printed) == expected


def test_a_sink_that_closes_after_each_answer_gets_every_event() -> None:
    with running_sink() as sink:
        sink.close_each = True
        log, metrics = http_log(sink, "all", 1000)
        for index in range(100):
            log.exchange(f"c{index}", (b"{}", "application/json", None), (b"[]", "x/y", None))
        log.close(30)
        assert len(sink.received) == 200
        assert (_count(metrics.sent), _count(metrics.failed)) == (200, 0)


def test_events_still_with_a_stuck_sender_at_close_are_counted_as_dropped() -> None:
    with running_sink() as sink:
        sink.stalled.set()
        log, metrics = http_log(sink, "request", 1000)
        for index in range(10):
            log.exchange(f"s{index}", (b"{}", "application/json", None), (b"", "x/y", None))
        log.close(1)
        assert _count(metrics.dropped) + _count(metrics.failed) == 10


def test_an_event_that_cannot_be_converted_fails_alone() -> None:
    def broken(body: Any) -> bytes:
        raise ValueError("not convertible")

    with running_sink() as sink:
        log, metrics = http_log(sink, "request", 1000)
        log.exchange("bad", (b"x", "application/json", broken), (b"", "x/y", None))
        log.exchange("good", (b"{}", "application/json", None), (b"", "x/y", None))
        log.close(10)
        assert [e.headers["ce-requestid"] for e in sink.received] == ["good"]
        assert (_count(metrics.sent), _count(metrics.failed)) == (1, 1)


def test_content_type_cannot_inject_headers() -> None:
    injected = "application/json\r\nContent-Length: 0\r\n\r\nPOST /x"
    event = Event(REQUEST, "p", b"", injected, None, 0)
    head = HttpHeaders(IDENTITY).of(event).decode()
    assert "\r\nPOST" not in head and "\r\nContent-Length" not in head


def test_odd_class_names_are_left_to_protobuf() -> None:
    reply = Message("data", np.array([[1.0, 2.0]]), [["a"], {"b": 1}], "ndarray", {}, None)
    assert reply_json(reply) is None
