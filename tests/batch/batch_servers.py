"""Small Seldon and V2 endpoints for the batch tests: REST and gRPC echo models with faults."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
from google.protobuf import json_format

from seldon_server.codecs import v2_json, v2_proto
from seldon_server.codecs.v2_tensors import InferenceRequest, InferenceResponse, NamedTensor
from seldon_server.errors import SeldonError
from seldon_server.proto import (
    grpc_predict_v2_pb2_grpc,
    prediction_pb2,
    prediction_pb2_grpc,
)

# A fault plan maps the n-th request (0-based, counted per server) to what happens to it:
# None (answer normally), "reset" (drop the connection), ("status", code), ("sleep", seconds),
# ("reply", body) (answer 200 with that body; REST only), ("busy", (status, retry_after)) (shed
# load as the model server does: REST answers `status` with the Retry-After value if not None,
# gRPC RESOURCE_EXHAUSTED). V2 endpoints answer the same faults with the protocol's
# `{"error": "..."}` bodies; a V2 request is recorded as its JSON body on REST, and as
# `{"model_name", "parameters", "inputs": [{name, datatype, shape}], "raw_input_contents": n}`
# on gRPC, so that plans read `body["parameters"]` alike on both.
Fault = str | tuple[str, Any] | None
FaultPlan = Callable[[int, dict[str, Any]], Fault]


def no_faults(number: int, body: dict[str, Any]) -> Fault:
    return None


@dataclass
class Recorded:
    """One request as the server saw it."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float = field(default_factory=time.monotonic)  # when it arrived


@dataclass
class Recorder:
    """Counts requests and keeps them, thread-safely, for assertions."""

    plan: FaultPlan = no_faults
    requests: list[Recorded] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> Fault:
        with self.lock:
            number = len(self.requests)
            self.requests.append(Recorded(path, headers, body))
        return self.plan(number, body)


def _names(columns: int | None) -> list[str]:
    return [f"t:{i}" for i in range(columns)] if columns is not None else []


def echo(body: dict[str, Any]) -> dict[str, Any]:
    """What the Seldon python wrapper answers for an identity model (payload and meta.tags)."""
    out: dict[str, Any] = {}
    data = body.get("data")
    if isinstance(data, dict):
        if "ndarray" in data:
            rows = data["ndarray"]
            width = len(rows[0]) if rows and isinstance(rows[0], list) else None
            out["data"] = {"names": _names(width), "ndarray": rows}
        elif "tensor" in data:
            shape = data["tensor"]["shape"]
            if len(data["tensor"].get("values", [])) != _product(shape):
                raise ValueError("tensor values do not fit shape")
            width = shape[1] if len(shape) > 1 else None
            out["data"] = {"names": _names(width), "tensor": data["tensor"]}
        elif "tftensor" in data:
            dims = data["tftensor"].get("tensorShape", {}).get("dim", [])
            width = int(dims[1]["size"]) if len(dims) > 1 else None
            out["data"] = {"names": _names(width), "tftensor": data["tftensor"]}
        else:
            raise ValueError("no payload in data")
    elif "jsonData" in body:
        out["jsonData"] = body["jsonData"]
    elif "strData" in body:
        out["strData"] = body["strData"]
    else:
        raise ValueError(f"Invalid request data type: {body!r}")
    tags = (body.get("meta") or {}).get("tags")
    out["meta"] = {"tags": tags} if tags else {}
    return out


def _product(shape: list[int]) -> int:
    result = 1
    for size in shape:
        result *= size
    return result


def _seldon_error(message: str, reason: str = "MICROSERVICE_BAD_DATA") -> bytes:
    status = {"code": -1, "info": message, "reason": reason, "status": 1}
    return json.dumps({"status": status}, sort_keys=True, separators=(",", ":")).encode()


OVERLOADED_INFO = "Server overloaded: 4 requests already admitted in this process; retry later"
V2_PATH = re.compile(r"/v2/models/([^/]+)/infer$")


def v2_identity(request: InferenceRequest, model: str, echo_parameters: bool) -> InferenceResponse:
    """What an identity V2 model answers: each input as output-<i>, parameters only if asked."""
    outputs = [
        NamedTensor(f"output-{i}", tensor.datatype, tensor.shape, tensor.data, tensor.parameters)
        for i, tensor in enumerate(request.inputs)
    ]
    parameters = dict(request.parameters) if echo_parameters else {}
    return InferenceResponse(model, outputs, id=request.id, parameters=parameters)


def v2_echo(body: dict[str, Any], model: str, echo_parameters: bool) -> v2_json.RenderedResponse:
    """The identity V2 model over REST, binary outputs included when the request asks."""
    request = v2_json.decode_request(body)
    response = v2_identity(request, model, echo_parameters)
    names = [output.name for output in response.outputs]
    return v2_json.render_response(response, v2_json.binary_outputs(request, names))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like Gunicorn's gthread workers
    disable_nagle_algorithm = True
    server: _HttpServer

    def setup(self) -> None:
        super().setup()
        self.server.connections.add(self.connection)

    def finish(self) -> None:
        with contextlib.suppress(OSError):  # the fault plan closed the connection under us
            super().finish()
        self.server.connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._send(200, b"pong", "text/html; charset=utf-8")

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            body = json.loads(raw)
        except ValueError:
            body = {"unparsed": raw.decode("utf-8", "replace")}
        fault = self.server.recorder.record(self.path, dict(self.headers.items()), body)
        if fault == "reset":
            self._reset()
            return
        if isinstance(fault, tuple) and fault[0] == "sleep":
            time.sleep(fault[1])
        if isinstance(fault, tuple) and fault[0] == "status":
            self._send(fault[1], self._error(f"injected {fault[1]}"))
            return
        if isinstance(fault, tuple) and fault[0] == "reply":
            self._send(200, json.dumps(fault[1]).encode())
            return
        if isinstance(fault, tuple) and fault[0] == "busy":
            code, retry_after = fault[1]
            extra = {} if retry_after is None else {"Retry-After": retry_after}
            self._send(code, self._error(OVERLOADED_INFO, "MICROSERVICE_OVERLOADED"), extra=extra)
            return
        self._answer(body)

    def _error(self, message: str, reason: str = "MICROSERVICE_BAD_DATA") -> bytes:
        """An error body in the endpoint's protocol."""
        if V2_PATH.search(self.path):
            return json.dumps({"error": message}).encode()
        return _seldon_error(message, reason)

    def _answer(self, body: dict[str, Any]) -> None:
        if model := V2_PATH.search(self.path):
            self._answer_v2(body, model.group(1))
            return
        if self.path.endswith("/feedback") or self.path.endswith("/send-feedback"):
            reply: dict[str, Any] = {"data": {"ndarray": []}, "meta": {}}
        else:
            try:
                reply = echo(body)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                self._send(400, _seldon_error(str(exc)))
                return
        # The wrapper's jsonify: sorted keys, compact separators.
        self._send(200, json.dumps(reply, sort_keys=True, separators=(",", ":")).encode())

    def _answer_v2(self, body: dict[str, Any], model: str) -> None:
        try:
            rendered = v2_echo(body, model, self.server.echo_parameters)
        except SeldonError as exc:
            self._send(exc.status_code, self._error(exc.message))
            return
        extra = {}
        if rendered.header_length is not None:
            extra[v2_json.HEADER_LENGTH] = str(rendered.header_length)
        self._send(200, rendered.body, extra=extra)

    def _send(
        self,
        code: int,
        payload: bytes,
        kind: str = "application/json",
        extra: dict[str, str] | None = None,
    ) -> None:
        try:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            self.close_connection = True  # the client gave up (timeout) before we answered

    def _reset(self) -> None:
        # SO_LINGER 0 makes close() send a TCP RST: the client sees a connection reset.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        port: int,
        recorder: Recorder,
        tls: ssl.SSLContext | None,
        echo_parameters: bool = False,
    ) -> None:
        self.recorder = recorder
        self.echo_parameters = echo_parameters
        self.connections: set[socket.socket] = set()
        super().__init__(("127.0.0.1", port), _Handler)
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # injected resets and client timeouts are expected here


class HttpEcho:
    """A REST echo model on a free loopback port; `restart()` drops every connection.

    It also answers V2 requests (`/v2/models/<name>/infer`) as an identity V2 model, echoing
    the request's parameters into the response only with `echo_parameters`.
    """

    def __init__(
        self,
        plan: FaultPlan = no_faults,
        tls: ssl.SSLContext | None = None,
        *,
        echo_parameters: bool = False,
    ) -> None:
        self.recorder = Recorder(plan)
        self._tls = tls
        self._echo_parameters = echo_parameters
        self._server = _HttpServer(0, self.recorder, tls, echo_parameters)
        self.port = self._server.server_address[1]
        self._serve()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[Recorded]:
        return self.recorder.requests

    def _serve(self) -> None:
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        for conn in list(self._server.connections):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def restart(self) -> None:
        """Stop (refusing connections, killing kept-alive ones) and listen again on the port."""
        self.stop()
        self._server = _HttpServer(self.port, self.recorder, self._tls, self._echo_parameters)
        self._serve()


class _EchoServicer(prediction_pb2_grpc.SeldonServicer):
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def _fault(self, request: Any, context: grpc.ServicerContext, method: str) -> None:
        metadata = {item.key: item.value for item in context.invocation_metadata()}
        metadata[":peer"] = context.peer()  # which connection the call came on
        body = json_format.MessageToDict(request)
        _apply_fault(self.recorder.record(method, metadata, body), context)

    def Predict(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._fault(request, context, "Predict")
        reply = prediction_pb2.SeldonMessage()
        which = request.WhichOneof("data_oneof")
        if which is None:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "no payload")
        if which == "data":
            reply.data.CopyFrom(request.data)
            del reply.data.names[:]
            reply.data.names.extend(_names(_grpc_width(request.data)))
        elif which == "strData":
            reply.strData = request.strData
        else:
            getattr(reply, which).CopyFrom(getattr(request, which))
        for key, value in request.meta.tags.items():
            reply.meta.tags[key].CopyFrom(value)
        reply.meta.SetInParent()
        return reply

    def SendFeedback(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._fault(request, context, "SendFeedback")
        reply = prediction_pb2.SeldonMessage()
        reply.data.ndarray.SetInParent()
        return reply


def _apply_fault(fault: Any, context: grpc.ServicerContext) -> None:
    """What the recorder decided for a gRPC call: wait, a status, a dropped connection, busy."""
    if isinstance(fault, tuple) and fault[0] == "sleep":
        time.sleep(fault[1])
    elif isinstance(fault, tuple) and fault[0] == "status":
        context.abort(fault[1], f"injected {fault[1].name}")
    elif fault == "reset":
        context.abort(grpc.StatusCode.UNAVAILABLE, "injected connection drop")
    elif isinstance(fault, tuple) and fault[0] == "busy":
        context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, OVERLOADED_INFO)


class _V2EchoServicer(grpc_predict_v2_pb2_grpc.GRPCInferenceServiceServicer):
    """The identity V2 model over gRPC; answers in raw contents if the request (or the server's
    `raw_output`) asks for them."""

    def __init__(self, recorder: Recorder, echo_parameters: bool, raw_output: bool) -> None:
        self.recorder = recorder
        self.echo_parameters = echo_parameters
        self.raw_output = raw_output

    def ModelInfer(self, request: Any, context: grpc.ServicerContext) -> Any:
        metadata = {item.key: item.value for item in context.invocation_metadata()}
        _apply_fault(self.recorder.record("ModelInfer", metadata, _v2_record(request)), context)
        try:
            decoded = v2_proto.decode_infer_request(request)
        except SeldonError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, exc.message)
        response = v2_identity(decoded, request.model_name, self.echo_parameters)
        raw = self.raw_output or v2_proto.uses_raw(request)
        return v2_proto.encode_infer_response(response, raw=raw)


def _v2_record(request: Any) -> dict[str, Any]:
    inputs = [
        {"name": tensor.name, "datatype": tensor.datatype, "shape": list(tensor.shape)}
        for tensor in request.inputs
    ]
    return {
        "model_name": request.model_name,
        "parameters": v2_proto.decode_parameters(request.parameters),
        "inputs": inputs,
        "raw_input_contents": len(request.raw_input_contents),
    }


def _grpc_width(data: Any) -> int | None:
    which = data.WhichOneof("data_oneof")
    if which == "tensor":
        return data.tensor.shape[1] if len(data.tensor.shape) > 1 else None
    if which == "ndarray":
        first = data.ndarray.values[0] if data.ndarray.values else None
        if first is not None and first.WhichOneof("kind") == "list_value":
            return len(first.list_value.values)
        return None
    dims = data.tftensor.tensor_shape.dim
    return dims[1].size if len(dims) > 1 else None


class GrpcEcho:
    """A gRPC `Seldon` echo service on a free loopback port; `restart()` rebinds the port.

    It also serves inference.GRPCInferenceService as an identity V2 model, echoing parameters
    only with `echo_parameters`, and always answering in raw contents with `raw_output`.
    """

    def __init__(
        self,
        plan: FaultPlan = no_faults,
        *,
        echo_parameters: bool = False,
        raw_output: bool = False,
    ) -> None:
        self.recorder = Recorder(plan)
        self.port = 0
        self._v2 = (echo_parameters, raw_output)
        self._start()

    def _start(self) -> None:
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
        prediction_pb2_grpc.add_SeldonServicer_to_server(_EchoServicer(self.recorder), self._server)
        v2 = _V2EchoServicer(self.recorder, *self._v2)
        grpc_predict_v2_pb2_grpc.add_GRPCInferenceServiceServicer_to_server(v2, self._server)
        self.port = self._server.add_insecure_port(f"127.0.0.1:{self.port}")
        self._server.start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[Recorded]:
        return self.recorder.requests

    def stop(self) -> None:
        self._server.stop(None).wait(5)

    def restart(self) -> None:
        self.stop()
        self._start()
