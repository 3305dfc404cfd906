"""Tracing end to end: REST and gRPC spans reach a loopback OTLP receiver in the caller's trace."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import threading
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from serverproc import Launcher, grpc_channel, wait_until

from seldon_server.serving.exit_codes import ExitCode

REST_TRACE = 0x0AF7651916CD43DD8448EB211C80319C
GRPC_TRACE = 0x4BF92F3577B34DA6A3CE929D0E0E4736
CALLER_SPAN = 0x00F067AA0BA902B7


class Receiver(trace_service_pb2_grpc.TraceServiceServicer):
    """An OTLP/gRPC trace collector keeping every span it is sent."""

    def __init__(self) -> None:
        self.spans: list[Any] = []
        self._lock = threading.Lock()

    def Export(self, request: Any, context: Any) -> Any:
        with self._lock:
            for resource in request.resource_spans:
                for scope in resource.scope_spans:
                    self.spans.extend(scope.spans)
        return trace_service_pb2.ExportTraceServiceResponse()

    def trace(self, trace_id: int, at_least: int = 1) -> list[Any]:
        """The spans of one trace, or [] until there are `at_least` of them."""
        with self._lock:
            found = [s for s in self.spans if int.from_bytes(s.trace_id, "big") == trace_id]
        return found if len(found) >= at_least else []


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, int]]:
    collector = Receiver()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(collector, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield collector, port
    server.stop(None).wait(5)


def _attributes(span: Any) -> dict[str, Any]:
    return {a.key: a.value.string_value or a.value.int_value for a in span.attributes}


def test_rest_and_grpc_spans_join_the_incoming_traces(
    launch: Launcher, receiver: tuple[Receiver, int]
) -> None:
    collector, port = receiver
    server = launch(
        env={
            "TRACING": "1",
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
            "JAEGER_EXTRA_TAGS": "path,no_such_attribute",
        }
    )
    server.wait_ready()
    traceparent = f"00-{REST_TRACE:032x}-{CALLER_SPAN:016x}-01"
    assert server.predict_rest({"x": 1}, headers={"traceparent": traceparent}).status_code == 200
    uber_trace_id = f"{GRPC_TRACE:032x}:{CALLER_SPAN:016x}:0:1"  # as the Seldon executor sends it
    with grpc_channel(server.grpc_port) as channel:
        server.predict_grpc(channel, {"x": 1}, metadata=[("uber-trace-id", uber_trace_id)])
    assert server.stop() == ExitCode.OK  # spans still buffered are exported on the way out

    rest = wait_until(lambda: collector.trace(REST_TRACE, 2), "REST spans", 10)
    by_name = {span.name: span for span in rest}
    request_span, user_span = by_name["Predict"], by_name["predict"]
    assert int.from_bytes(request_span.parent_span_id, "big") == CALLER_SPAN
    assert user_span.parent_span_id == request_span.span_id
    tags = _attributes(request_span)
    assert tags["path"] == "/api/v1.0/predictions"
    assert tags["http.method"] == "POST"
    assert tags["http.status_code"] == 200
    assert "no_such_attribute" not in tags

    grpc_spans = wait_until(lambda: collector.trace(GRPC_TRACE, 2), "gRPC spans", 10)
    by_name = {span.name: span for span in grpc_spans}
    call_span, user_span = by_name["/seldon.protos.Model/Predict"], by_name["predict"]
    assert int.from_bytes(call_span.parent_span_id, "big") == CALLER_SPAN
    assert user_span.parent_span_id == call_span.span_id


def test_tracing_is_part_of_the_default_install() -> None:
    """`pip install seldon-server` (the image, s2i, the README) brings the default backend."""
    requirements = importlib.metadata.requires("seldon-server") or []
    unconditional = {_project_name(r) for r in requirements if "extra ==" not in r}
    assert {
        "opentracing",
        "opentelemetry-sdk",
        "opentelemetry-opentracing-shim",
        "opentelemetry-exporter-otlp-proto-grpc",
    } <= unconditional


def _project_name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower()


@pytest.mark.skipif(
    importlib.util.find_spec("jaeger_client") is not None, reason="jaeger-client is installed"
)
def test_missing_backend_turns_tracing_off_and_serves(launch: Launcher) -> None:
    """A backend that is not installed: one error line, then REST and gRPC serve as usual."""
    server = launch("--tracing", "--tracing-backend", "jaeger", "--workers", "2")
    server.wait_ready()
    assert server.predict_rest({"x": 1}).status_code == 200
    with grpc_channel(server.grpc_port) as channel:
        assert server.predict_grpc(channel, {"x": 1}) is not None
    assert server.stop() == ExitCode.OK
    off = [line for line in server.log().splitlines() if "Tracing is off" in line]
    assert len(off) == 1, server.log()
    assert "jaeger_client" in off[0] and "seldon-server[jaeger]" in off[0]


KAFKA_TRACE = 0x5BF92F3577B34DA6A3CE929D0E0E4737


def test_kafka_records_are_traced_in_the_callers_trace(
    launch: Launcher, receiver: tuple[Receiver, int], tmp_path: Path
) -> None:
    from kafka_broker import running_broker

    collector, port = receiver
    with running_broker(tmp_path) as broker:
        inputs, outputs = broker.topic("in"), broker.topic("out")
        server = launch(
            "--server-type",
            "kafka",
            env={
                "TRACING": "1",
                "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
                "KAFKA_BROKER": broker.address,
                "KAFKA_INPUT_TOPIC": inputs,
                "KAFKA_OUTPUT_TOPIC": outputs,
            },
        )
        server.wait_ready()
        traceparent = f"00-{KAFKA_TRACE:032x}-{CALLER_SPAN:016x}-01".encode()
        broker.produce(
            inputs, [("k", b'{"data": {"ndarray": [[1]]}}', [("traceparent", traceparent)])]
        )
        broker.read(outputs, 1)
        assert server.stop() == ExitCode.OK
    spans = wait_until(lambda: collector.trace(KAFKA_TRACE, 2), "Kafka spans", 10)
    by_name = {span.name: span for span in spans}
    record_span, user_span = by_name["kafkaServer"], by_name["predict"]
    assert int.from_bytes(record_span.parent_span_id, "big") == CALLER_SPAN
    assert user_span.parent_span_id == record_span.span_id
    assert _attributes(record_span)["kafka.topic"] == inputs
