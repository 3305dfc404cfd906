"""Open Inference Protocol (V2) clients: REST and gRPC, every response as the V2 JSON dict."""

from __future__ import annotations

import reprlib
from functools import partial
from typing import Any

from seldon_server import http1
from seldon_server.batch.client import (
    CallError,
    Decode,
    Encode,
    GrpcClient,
    RestClient,
    json_object,
    snippet,
)
from seldon_server.batch.config import BatchConfig
from seldon_server.batch.payload import PayloadError
from seldon_server.codecs import v2_values
from seldon_server.codecs.v2_proto import (
    add_tensors,
    decode_parameters,
    encode_parameters,
    from_contents,
)
from seldon_server.codecs.v2_raw import from_raw
from seldon_server.codecs.v2_tensors import (
    BINARY_DATA_SIZE,
    HEADER_LENGTH,
    NamedTensor,
    bytes_tensor_data,
    check_content_type,
    check_datatype,
    check_parameters,
    check_shape,
    content_type,
)
from seldon_server.errors import BadDataError, SeldonError
from seldon_server.proto import grpc_predict_v2_pb2 as pb
from seldon_server.proto import grpc_predict_v2_pb2_grpc

# The REST JSON body is read here rather than with codecs.v2_json, which would bring the
# server's Seldon JSON codecs into the client; only the tensor codecs are shared.

_HEADER_LENGTH = HEADER_LENGTH.lower().encode()  # set when binary outputs follow the JSON


class V2RestClient(RestClient):
    """POST /v2/models/<deployment>/infer; binary-extension outputs are decoded into `data`."""

    def decode(self, response: http1.Response) -> dict[str, Any]:
        length = response.headers.get(_HEADER_LENGTH)
        if length is None:
            return json_object(response.body)
        try:
            return binary_response(response.body, length)
        except SeldonError as exc:
            reason = f"HTTP 200 but the binary response is unreadable: {exc}"
            raise CallError(reason, retryable=False) from None

    def detail(self, body: bytes) -> str:
        return error_text(body)


def error_text(body: bytes) -> str:
    """What a V2 error response says: its `{"error": "..."}` text, else the body itself."""
    try:
        error = json_object(body).get("error")
    except CallError:
        error = None
    return error if isinstance(error, str) and error else snippet(body)


class V2GrpcClient(GrpcClient):
    """inference.GRPCInferenceService/ModelInfer, with the model named by --deployment-name."""

    def rpc(self, config: BatchConfig) -> tuple[Any, Encode, Decode]:
        stub = grpc_predict_v2_pb2_grpc.GRPCInferenceServiceStub(self._channel)
        return stub.ModelInfer, partial(request_message, model=config.deployment_name), _response


def request_message(body: dict[str, Any], model: str) -> Any:
    """A ModelInferRequest from a V2 request's JSON form; PayloadError names what is wrong."""
    try:
        return _request_message(body, model)
    except SeldonError as exc:
        raise PayloadError(f"not a valid V2 inference request: {exc}") from None


def _request_message(body: dict[str, Any], model: str) -> Any:
    inputs, request_id = body.get("inputs"), body.get("id")
    if not isinstance(inputs, list):
        raise BadDataError("it needs an 'inputs' list")
    if request_id is not None and not isinstance(request_id, str):
        raise BadDataError("'id' must be a string")
    message = pb.ModelInferRequest(model_name=model, id=request_id or "")
    parameters = check_parameters(body.get("parameters"), "Request")
    encode_parameters(message.parameters, parameters, "Request")
    tensors = [_input(item, index) for index, item in enumerate(inputs)]
    add_tensors(message.inputs, message.raw_input_contents, tensors, "Input")
    outputs = body.get("outputs")
    for index, item in enumerate(outputs if isinstance(outputs, list) else []):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise BadDataError(f"requested output {index} needs a string 'name'")
        output = message.outputs.add(name=item["name"])
        wanted = check_parameters(item.get("parameters"), "Output")
        encode_parameters(output.parameters, wanted, "Output")
    return message


def _input(item: Any, index: int) -> NamedTensor:
    """One input's JSON form, checked and decoded by the shared codecs."""
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        raise BadDataError(f"input {index} needs a string 'name'")
    where = f"Input {reprlib.repr(item['name'])}"
    datatype = check_datatype(item.get("datatype"), where)
    shape = check_shape(item.get("shape"), where)
    parameters = check_parameters(item.get("parameters"), where)
    kind = content_type(parameters, where)
    check_content_type(kind, datatype, where)
    if "data" not in item:
        raise BadDataError(f"{where} has no 'data'")
    data = v2_values.from_json(item["data"], datatype, shape, kind, where)
    return NamedTensor(item["name"], datatype, shape, data, parameters)


def _response(message: Any) -> dict[str, Any]:
    try:
        return response_dict(message)
    except SeldonError as exc:
        raise CallError(f"gRPC OK but the response is unreadable: {exc}", False) from None


def response_dict(message: Any) -> dict[str, Any]:
    """A ModelInferResponse in the REST JSON form, typed or raw contents decoded into `data`."""
    body: dict[str, Any] = {"model_name": message.model_name}
    if message.model_version:
        body["model_version"] = message.model_version
    if message.id:
        body["id"] = message.id
    if parameters := decode_parameters(message.parameters):
        body["parameters"] = parameters
    raw = message.raw_output_contents
    if raw and len(raw) != len(message.outputs):
        raise BadDataError(f"{len(raw)} raw_output_contents for {len(message.outputs)} outputs")
    body["outputs"] = [
        _output(output, raw[index] if raw else None) for index, output in enumerate(message.outputs)
    ]
    return body


def _output(output: Any, raw: bytes | None) -> dict[str, Any]:
    where = f"Output {reprlib.repr(output.name)}"
    datatype = check_datatype(output.datatype, where)
    shape = tuple(output.shape)
    if raw is None:
        values = from_contents(output.contents, datatype, shape, where)
    else:
        values = from_raw(datatype, shape, raw, where)
    parameters = decode_parameters(output.parameters)
    return _output_json(output.name, datatype, shape, values, parameters)


def _output_json(
    name: str, datatype: str, shape: tuple[int, ...], values: Any, parameters: dict[str, Any]
) -> dict[str, Any]:
    """The JSON form of an output decoded from bytes (BYTES: as its content type says)."""
    where = f"Output {reprlib.repr(name)}"
    if datatype == "BYTES":
        values = bytes_tensor_data(values, shape, content_type(parameters, where), where)
    return v2_values.output_json(NamedTensor(name, datatype, shape, values, parameters))


def binary_response(body: bytes, header_length: bytes) -> dict[str, Any]:
    """A binary-extension response (JSON header, then the outputs that asked for binary data)
    as plain JSON, each binary output's bytes decoded into `data`."""
    text = header_length.strip()
    if not text.isdigit() or int(text) > len(body):
        raise BadDataError(f"bad Inference-Header-Content-Length {snippet(text)!r}")
    offset = int(text)
    header = json_object(body[:offset])
    outputs = header.get("outputs")
    if not isinstance(outputs, list):
        return header
    for index, output in enumerate(outputs):
        parameters = output.get("parameters") if isinstance(output, dict) else None
        if not isinstance(parameters, dict) or BINARY_DATA_SIZE not in parameters:
            continue
        size = parameters[BINARY_DATA_SIZE]
        if not isinstance(size, int) or size < 0 or offset + size > len(body):
            raise BadDataError(f"output {index}: bad {BINARY_DATA_SIZE} {size!r}")
        name = output.get("name")
        where = f"Output {reprlib.repr(name)}"
        datatype = check_datatype(output.get("datatype"), where)
        shape = check_shape(output.get("shape"), where)
        values = from_raw(datatype, shape, body[offset : offset + size], where)
        offset += size
        rest = {key: value for key, value in parameters.items() if key != BINARY_DATA_SIZE}
        outputs[index] = _output_json(str(name), datatype, shape, values, rest)
    return header
