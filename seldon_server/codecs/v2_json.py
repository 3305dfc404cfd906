"""Open Inference Protocol (V2) REST bodies, binary tensor extension included, <-> tensors."""

from __future__ import annotations

import re
import reprlib
from collections.abc import Collection, Iterable
from typing import Any, NamedTuple

import orjson

from seldon_server.codecs import json as json_codec
from seldon_server.codecs import v2_values
from seldon_server.codecs.v2_raw import from_raw, to_raw
from seldon_server.codecs.v2_tensors import (
    BINARY_DATA_SIZE,
    HEADER_LENGTH,
    InferenceRequest,
    InferenceResponse,
    NamedTensor,
    RequestedOutput,
    bytes_tensor_data,
    check_content_type,
    check_datatype,
    check_parameters,
    check_shape,
    check_unique,
    content_type,
)
from seldon_server.errors import BadDataError

# Non-finite floats: JSON has none, but the request parser accepts the usual NaN, Infinity and
# -Infinity tokens, and responses carry NaN and infinities as those same tokens (Python's json
# and the protocol's common clients read them). Binary outputs carry every bit, NaN payloads too.

_ORJSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE | orjson.OPT_SERIALIZE_NUMPY
_DIGITS = re.compile(r"[0-9]+")


def error_body(message: str) -> bytes:
    """A failure as the protocol words it: `{"error": "..."}`."""
    return json_codec.dumps({"error": message})


def parse_body(body: bytes, header_length: str | int | None = None) -> InferenceRequest:
    """A request body, JSON alone or JSON then binary tensors, -> the request."""
    header, binary = split_body(body, header_length)
    return decode_request(header, binary)


def split_body(body: bytes, header_length: str | int | None) -> tuple[Any, memoryview]:
    """The parsed JSON header and the binary section after it (empty without a header length)."""
    view = memoryview(body)
    if header_length is None:
        return json_codec.loads(body), view[len(view) :]
    length = _header_length(header_length, len(view))
    return json_codec.loads(bytes(view[:length])), view[length:]


def _header_length(value: str | int, body_size: int) -> int:
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        length = int(value.strip())
    elif isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        length = value
    else:
        shown = reprlib.repr(value)
        raise BadDataError(f"{HEADER_LENGTH} must be a non-negative integer, not {shown}")
    if length > body_size:
        raise BadDataError(f"{HEADER_LENGTH} {length} exceeds the {body_size}-byte body")
    return length


def decode_request(body: Any, binary: bytes | memoryview = b"") -> InferenceRequest:
    """A parsed V2 request object (and its binary section, if any) -> the request."""
    if not isinstance(body, dict):
        raise BadDataError("A V2 inference request must be a JSON object")
    inputs = body.get("inputs")
    if not isinstance(inputs, list):
        raise BadDataError("A V2 inference request needs an 'inputs' list")
    request_id = body.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise BadDataError("Request 'id' must be a string")
    parameters = check_parameters(body.get("parameters"), "Request")
    _check_flag(parameters, "binary_data_output", "Request")
    section = _BinarySection(memoryview(binary))
    tensors = [_decode_input(item, index, section) for index, item in enumerate(inputs)]
    section.finish()
    check_unique([tensor.name for tensor in tensors], "input")
    outputs = _requested_outputs(body.get("outputs"))
    return InferenceRequest(tensors, request_id, parameters, outputs)


class _BinarySection:
    """The binary tensors after the JSON header, handed out in input order."""

    def __init__(self, view: memoryview) -> None:
        self._view = view
        self._offset = 0

    def take(self, size: int, where: str) -> memoryview:
        left = len(self._view) - self._offset
        if size > left:
            raise BadDataError(
                f"{where}: {BINARY_DATA_SIZE} {size} exceeds the {left} bytes left in the body"
            )
        chunk = self._view[self._offset : self._offset + size]
        self._offset += size
        return chunk

    def finish(self) -> None:
        left = len(self._view) - self._offset
        if left:
            raise BadDataError(f"{left} bytes of binary data follow the last binary input")


def _decode_input(item: Any, index: int, section: _BinarySection) -> NamedTensor:
    if not isinstance(item, dict):
        raise BadDataError(f"Input {index} must be a JSON object")
    name = item.get("name")
    if not isinstance(name, str):
        raise BadDataError(f"Input {index} needs a string 'name'")
    where = f"Input {reprlib.repr(name)}"
    datatype = check_datatype(item.get("datatype"), where)
    shape = check_shape(item.get("shape"), where)
    parameters = check_parameters(item.get("parameters"), where)
    kind = content_type(parameters, where)
    check_content_type(kind, datatype, where)
    size = parameters.pop(BINARY_DATA_SIZE, None)  # a transport detail, not for the model
    if size is None:
        if "data" not in item:
            raise BadDataError(f"{where} has neither 'data' nor {BINARY_DATA_SIZE}")
        data = v2_values.from_json(item["data"], datatype, shape, kind, where)
        return NamedTensor(name, datatype, shape, data, parameters)
    if "data" in item:
        raise BadDataError(f"{where} has both 'data' and {BINARY_DATA_SIZE}")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise BadDataError(f"{where}: {BINARY_DATA_SIZE} must be a non-negative integer")
    values = from_raw(datatype, shape, section.take(size, where), where)
    if datatype == "BYTES":
        values = bytes_tensor_data(values, shape, kind, where)
    return NamedTensor(name, datatype, shape, values, parameters)


def _check_flag(parameters: dict[str, Any], key: str, where: str) -> None:
    value = parameters.get(key)
    if value is not None and not isinstance(value, bool):
        raise BadDataError(f"{where}: parameter {key} must be true or false")


def _requested_outputs(value: Any) -> list[RequestedOutput]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadDataError("Request 'outputs' must be a list")
    outputs = []
    for index, item in enumerate(value):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise BadDataError(f"Requested output {index} needs a string 'name'")
        where = f"Requested output {reprlib.repr(item['name'])}"
        parameters = check_parameters(item.get("parameters"), where)
        _check_flag(parameters, "binary_data", where)
        outputs.append(RequestedOutput(item["name"], parameters))
    check_unique([output.name for output in outputs], "requested output")
    return outputs


def binary_outputs(request: InferenceRequest, names: Iterable[str]) -> set[str]:
    """Which of the outputs named go in the binary section, as the request asked.

    A requested output's binary_data wins over the request's binary_data_output.
    """
    default = request.parameters.get("binary_data_output") is True
    flags = {output.name: output.parameters.get("binary_data") for output in request.outputs}
    return {name for name in names if (default if flags.get(name) is None else flags[name])}


class RenderedResponse(NamedTuple):
    """A response body: JSON header then binary tail; header_length is None without binary."""

    header: bytes
    tail: bytes
    header_length: int | None

    @property
    def body(self) -> bytes:
        return self.header + self.tail


def render_response(response: InferenceResponse, binary: Collection[str] = ()) -> RenderedResponse:
    """Encode a response; the outputs named in `binary` go in the binary section."""
    outputs: list[dict[str, Any]] = []
    tail: list[bytes] = []
    for tensor in response.outputs:
        if tensor.name in binary:
            raw = to_raw(tensor)
            outputs.append(_output_head(tensor, {**tensor.parameters, BINARY_DATA_SIZE: len(raw)}))
            tail.append(raw)
        else:
            outputs.append(v2_values.output_json(tensor, arrays=True))
    header = _dumps(_envelope(response, outputs))
    # A zero-size binary output still needs the header length (it has a tail entry, b""):
    # its client reads the tail.
    return RenderedResponse(header, b"".join(tail), len(header) if tail else None)


def _dumps(body: dict[str, Any]) -> bytes:
    """orjson, unless the body holds what only the project's serializer writes faithfully.

    orjson writes NaN and infinities as null and rejects integers beyond 64 bits; the shared
    serializer writes those as the stdlib does. A bare "null" is rare in a V2 body, so looking
    for it keeps large float outputs off the slower path (measured: 100,000 FP32 values).
    """
    try:
        out = orjson.dumps(body, option=_ORJSON_OPTIONS)
    except (TypeError, orjson.JSONEncodeError):
        return json_codec.dumps(body)
    return json_codec.dumps(body) if b"null" in out else out


def response_body(response: InferenceResponse) -> dict[str, Any]:
    """The JSON-ready response object, every output's values in `data`."""
    return _envelope(response, [v2_values.output_json(tensor) for tensor in response.outputs])


def _output_head(tensor: NamedTensor, parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": tensor.name,
        "datatype": tensor.datatype,
        "shape": list(tensor.shape),
        "parameters": parameters,
    }


def _envelope(response: InferenceResponse, outputs: list[dict[str, Any]]) -> dict[str, Any]:
    body: dict[str, Any] = {"model_name": response.model_name}
    if response.model_version is not None:
        body["model_version"] = response.model_version
    if response.id is not None:
        body["id"] = response.id
    if response.parameters:
        body["parameters"] = response.parameters
    body["outputs"] = outputs
    return body
