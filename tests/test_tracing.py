"""Tracing: spans reach a loopback OTLP receiver with the caller's trace id, from either header."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from seldon_server import tracing

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


class Receiver(trace_service_pb2_grpc.TraceServiceServicer):
    """An OTLP trace receiver that keeps every span it is sent."""

    def __init__(self) -> None:
        self.spans: list[Any] = []
        self._changed = threading.Condition()

    def Export(self, request: Any, context: Any) -> Any:  # noqa: N802 (gRPC method name)
        with self._changed:
            for resource_spans in request.resource_spans:
                for scope_spans in resource_spans.scope_spans:
                    self.spans.extend(scope_spans.spans)
            self._changed.notify_all()
        return trace_service_pb2.ExportTraceServiceResponse()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Any]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.spans) < count:
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"got {len(self.spans)} spans, wanted {count}"
                self._changed.wait(remaining)
            return list(self.spans)


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    servicer = Receiver()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield servicer, f"http://127.0.0.1:{port}"
    server.stop(None)


@pytest.fixture(autouse=True)
def _stop_tracer() -> Iterator[None]:
    yield
    tracing.shutdown_tracer()


def _by_name(spans: list[Any]) -> dict[str, Any]:
    return {span.name: span for span in spans}


def _attributes(span: Any) -> dict[str, Any]:
    return {kv.key: getattr(kv.value, kv.value.WhichOneof("value")) for kv in span.attributes}


def test_server_span_continues_the_w3c_trace_and_parents_the_child(receiver: Any) -> None:
    servicer, endpoint = receiver
    tracer = tracing.init_tracer("MyModel", otlp_endpoint=endpoint)
    headers = {"Traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"}
    with tracing.server_span(tracer, "Predict", headers, {"http.method": "POST"}) as span:
        span.set_tag("http.status_code", 200)
        with tracing.child_span("predict"):
            pass
    tracing.shutdown_tracer()

    spans = _by_name(servicer.wait_for(2))
    server, child = spans["Predict"], spans["predict"]
    assert server.trace_id.hex() == TRACE_ID
    assert server.parent_span_id.hex() == PARENT_ID
    assert server.kind == server.SPAN_KIND_SERVER
    assert _attributes(server) == {
        "span.kind": "server",
        "http.method": "POST",
        "http.status_code": 200,
    }
    assert child.trace_id == server.trace_id
    assert child.parent_span_id == server.span_id


def test_server_span_continues_the_jaeger_trace(receiver: Any) -> None:
    servicer, endpoint = receiver
    tracer = tracing.init_tracer("MyModel", otlp_endpoint=endpoint)
    short_trace = "a3ce929d0e0e4736"  # jaeger-client sends 64-bit trace ids unpadded
    headers = {"uber-trace-id": f"{short_trace}%3A{PARENT_ID}%3A0%3A1"}
    with tracing.server_span(tracer, "Predict", headers):
        pass
    tracing.shutdown_tracer()

    (server,) = servicer.wait_for(1)
    assert server.trace_id.hex() == short_trace.rjust(32, "0")
    assert server.parent_span_id.hex() == PARENT_ID


def test_a_new_trace_injects_both_headers(receiver: Any) -> None:
    from opentracing import Format

    servicer, endpoint = receiver
    tracer = tracing.init_tracer("MyModel", otlp_endpoint=endpoint)
    carrier: dict[str, str] = {}
    with tracing.server_span(tracer, "Predict", {}) as span:
        tracer.inject(span.context, Format.HTTP_HEADERS, carrier)
    tracing.shutdown_tracer()

    (server,) = servicer.wait_for(1)
    assert server.parent_span_id == b""
    trace_hex, span_hex = server.trace_id.hex(), server.span_id.hex()
    # OTel may also set the W3C "random" flag bit, so compare the parsed header.
    expected = (int(trace_hex, 16), int(span_hex, 16), True)
    assert tracing.parse_traceparent(carrier["traceparent"]) == expected
    assert carrier["uber-trace-id"] == f"{trace_hex}:{span_hex}:0:1"


def test_an_exception_marks_the_span_and_propagates(receiver: Any) -> None:
    servicer, endpoint = receiver
    tracer = tracing.init_tracer("MyModel", otlp_endpoint=endpoint)
    with (
        pytest.raises(ValueError),
        tracing.server_span(tracer, "Predict", {}),
        tracing.child_span("predict"),
    ):
        raise ValueError("boom")
    tracing.shutdown_tracer()

    spans = _by_name(servicer.wait_for(2))
    for span in spans.values():
        assert _attributes(span)["error"] is True
        assert span.status.code == span.status.STATUS_CODE_ERROR


@pytest.mark.parametrize(
    ("sampler", "headers"),
    [
        ("{type: const, param: 0}", {}),
        ("{type: probabilistic, param: 0}", {}),
        # A caller that decided not to sample is followed, as jaeger-client did.
        ("{type: const, param: 1}", {"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-00"}),
    ],
)
def test_unsampled_requests_send_nothing(
    receiver: Any, tmp_path: Path, sampler: str, headers: dict[str, str]
) -> None:
    servicer, endpoint = receiver
    config = tmp_path / "jaeger.yaml"
    config.write_text(f"sampler: {sampler}\nlogging: true\n")
    tracer = tracing.init_tracer("MyModel", otlp_endpoint=endpoint, jaeger_config_path=str(config))
    with tracing.server_span(tracer, "Predict", headers), tracing.child_span("predict"):
        pass
    # shutdown flushes synchronously: anything sampled has been exported when it returns.
    tracing.shutdown_tracer()
    assert servicer.spans == []


def test_endpoint_defaults_to_the_agent_host_on_the_otlp_port(receiver: Any) -> None:
    servicer, endpoint = receiver
    port = int(endpoint.rsplit(":", 1)[1])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tracing, "OTLP_GRPC_PORT", port)
        tracer = tracing.init_tracer("MyModel", jaeger_agent_host="127.0.0.1")
    with tracing.server_span(tracer, "Predict", {}):
        pass
    tracing.shutdown_tracer()
    assert len(servicer.wait_for(1)) == 1


def test_without_a_tracer_the_helpers_do_nothing() -> None:
    assert tracing.active_tracer() is None
    with tracing.server_span(None, "Predict", {}) as span, tracing.child_span("x") as child:
        assert span is None
        assert child is None
    tracing.shutdown_tracer()


def test_importing_the_module_imports_no_tracing_library() -> None:
    code = (
        "import sys, seldon_server.tracing\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in "
        "('opentracing', 'opentelemetry', 'jaeger_client', 'yaml')]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_the_jaeger_backend_names_its_extra_when_missing() -> None:
    try:
        import jaeger_client  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("jaeger-client is installed")
    with pytest.raises(tracing.TracingError, match=r"seldon-server\[jaeger\]"):
        tracing.init_tracer("MyModel", backend="jaeger")


def test_unknown_backend_and_bad_config_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(tracing.TracingError, match="unknown tracing backend"):
        tracing.init_tracer("MyModel", backend="zipkin")  # type: ignore[arg-type]
    with pytest.raises(tracing.TracingError, match="cannot be read"):
        tracing.load_tracing_config(str(tmp_path / "missing.yaml"))
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n")
    with pytest.raises(tracing.TracingError, match="not a YAML mapping"):
        tracing.load_tracing_config(str(listed))
    with pytest.raises(tracing.TracingError, match="bad sampler"):
        tracing.sampler_config({"sampler": {"type": "const", "param": "lots"}})


def test_sampler_config_defaults_to_const_one() -> None:
    assert tracing.sampler_config({}) == tracing.SamplerConfig("const", 1.0)
    parsed = tracing.sampler_config({"sampler": {"type": "probabilistic", "param": 0.25}})
    assert parsed == tracing.SamplerConfig("probabilistic", 0.25)


def test_header_parsing() -> None:
    trace_id, span_id = int(TRACE_ID, 16), int(PARENT_ID, 16)
    assert tracing.parse_uber_trace_id(f"{TRACE_ID}:{PARENT_ID}:0:1") == (trace_id, span_id, True)
    assert tracing.parse_uber_trace_id(f"{TRACE_ID}%3A{PARENT_ID}%3A0%3A2")[2] is True  # type: ignore[index]
    assert tracing.parse_uber_trace_id(f"{TRACE_ID}:{PARENT_ID}:0:0") == (trace_id, span_id, False)
    for bad in ("", "1:2:3", "0:1:0:1", "xyz:1:0:1", f"{TRACE_ID}0:{PARENT_ID}:0:1"):
        assert tracing.parse_uber_trace_id(bad) is None
    assert tracing.parse_traceparent(f"00-{TRACE_ID}-{PARENT_ID}-01") == (trace_id, span_id, True)
    for bad in ("", f"ff-{TRACE_ID}-{PARENT_ID}-01", f"00-{'0' * 32}-{PARENT_ID}-01", "00-a-b-01"):
        assert tracing.parse_traceparent(bad) is None
    formatted = tracing.format_uber_trace_id(trace_id, span_id, True)
    assert tracing.parse_uber_trace_id(formatted) == (trace_id, span_id, True)


def test_carrier_lowercases_and_derives_uber_trace_id_from_traceparent() -> None:
    carrier = tracing.carrier_from_headers([("TraceParent", f"00-{TRACE_ID}-{PARENT_ID}-01")])
    assert carrier["uber-trace-id"] == f"{TRACE_ID}:{PARENT_ID}:0:1"
    both = {"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01", "Uber-Trace-Id": "1:2:0:1"}
    assert tracing.carrier_from_headers(both)["uber-trace-id"] == "1:2:0:1"
    assert tracing.carrier_from_headers([("x-bin", b"\x00")]) == {}


def test_token_bucket_limits_the_rate() -> None:
    now = [0.0]
    bucket = tracing.TokenBucket(2.0, clock=lambda: now[0])
    assert [bucket.acquire() for _ in range(3)] == [True, True, False]
    now[0] = 0.5
    assert [bucket.acquire() for _ in range(2)] == [True, False]
    assert tracing.TokenBucket(0.0, clock=lambda: now[0]).acquire() is False


def test_extra_tags() -> None:
    class Request:
        method = "POST"
        path = "/predict"

    assert tracing.request_tags(Request(), ["method", "path", "nope"]) == {
        "method": "POST",
        "path": "/predict",
    }


# jaeger-client (unmaintained) never closes its UDP socket.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_the_jaeger_backend_reports_to_the_agent_and_accepts_w3c() -> None:
    import gc
    import socket

    pytest.importorskip("jaeger_client")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as agent:
        agent.bind(("127.0.0.1", 0))
        agent.settimeout(10)
        port = agent.getsockname()[1]
        tracer = tracing.init_tracer(
            "MyModel", backend="jaeger", jaeger_agent_host="127.0.0.1", jaeger_agent_port=port
        )
        headers = {"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"}
        with (
            tracing.server_span(tracer, "Predict", headers) as span,
            tracing.child_span("predict") as child,
        ):
            assert child.context.parent_id == span.context.span_id
        assert span.context.trace_id == int(TRACE_ID, 16)
        assert span.context.parent_id == int(PARENT_ID, 16)
        tracing.shutdown_tracer()
        assert b"Predict" in agent.recvfrom(65535)[0]
    gc.collect()  # let the leaked socket's warning fire under this test's filters
