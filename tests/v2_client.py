"""A V2 client's side of the wire, from the specification alone, for the codec and e2e tests.

It shares no code with seldon_server.codecs.v2_*: a bug in the codec cannot hide in both.
"""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np

from seldon_server.proto import grpc_predict_v2_pb2 as pb

NUMPY = {
    "BOOL": "?",
    "UINT8": "<u1",
    "UINT16": "<u2",
    "UINT32": "<u4",
    "UINT64": "<u8",
    "INT8": "<i1",
    "INT16": "<i2",
    "INT32": "<i4",
    "INT64": "<i8",
    "FP16": "<f2",
    "FP32": "<f4",
    "FP64": "<f8",
}
DATATYPES = [*NUMPY, "BYTES"]
TYPED_FIELD = {
    "BOOL": "bool_contents",
    "UINT8": "uint_contents",
    "UINT16": "uint_contents",
    "UINT32": "uint_contents",
    "UINT64": "uint64_contents",
    "INT8": "int_contents",
    "INT16": "int_contents",
    "INT32": "int_contents",
    "INT64": "int64_contents",
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
    "BYTES": "bytes_contents",
}


# Every datatype with its edge values; JSON can carry all of them (NaN aside, see below).
SAMPLES: dict[str, np.ndarray] = {
    "BOOL": np.array([[True, False, False], [True, True, False]]),
    "UINT8": np.array([0, 1, 255], dtype=np.uint8),
    "UINT16": np.array([0, 1, 65535], dtype=np.uint16),
    "UINT32": np.array([0, 1, 2**32 - 1], dtype=np.uint32),
    "UINT64": np.array([[0, 2**63 + 1], [1, 2**64 - 1]], dtype=np.uint64),
    "INT8": np.array([-128, 0, 127], dtype=np.int8),
    "INT16": np.array([-(2**15), 0, 2**15 - 1], dtype=np.int16),
    "INT32": np.array([-(2**31), 0, 2**31 - 1], dtype=np.int32),
    "INT64": np.array([[-(2**63), 2**63 - 1], [2**53 + 1, -(2**53) - 1]], dtype=np.int64),
    "FP16": np.array([0.1, -0.0, 65504.0, 6e-8, np.inf, -np.inf], dtype=np.float16),
    "FP32": np.array([[0.1, -0.0, 3.4028235e38], [1e-45, np.inf, -1.5]], dtype=np.float32),
    "FP64": np.array([0.1, -0.0, 1.7976931348623157e308, 5e-324, -np.inf, 1 / 3]),
    "BYTES": np.array([[b"a", b""], ["h\u00e9llo \u2603".encode(), b"\x00 nul"]], dtype=object),
}
# Bit patterns JSON cannot carry (NaN payloads, non-UTF-8 bytes): the binary paths must.
NAN_BITS = {
    "FP16": np.array([0x7E00, 0xFE01, 0x7C01], dtype=np.uint16).view(np.float16),
    "FP32": np.array([0x7FC00000, 0xFFC00001, 0x7F800001], dtype=np.uint32).view(np.float32),
    "FP64": np.array([0x7FF8000000000000, 0xFFF8000000000123], dtype=np.uint64).view(np.float64),
    "BYTES": np.array([b"\xff\xfe", b"\x80", b""], dtype=object),
}
BINARY_SAMPLES = {**SAMPLES, **{f"{k}-nan": v for k, v in NAN_BITS.items()}}


def datatype(array: np.ndarray) -> str:
    if array.dtype.kind in "OSU":
        return "BYTES"
    return next(name for name, code in NUMPY.items() if np.dtype(code) == array.dtype)


def raw(array: np.ndarray) -> bytes:
    """Elements little-endian row-major; BYTES each behind a uint32 little-endian length."""
    if datatype(array) != "BYTES":
        return array.astype(np.dtype(NUMPY[datatype(array)]), copy=False).tobytes()
    out = b""
    for element in array.ravel().tolist():
        data = element.encode() if isinstance(element, str) else element
        out += struct.pack("<I", len(data)) + data
    return out


def from_raw(name: str, shape: list[int], data: bytes) -> np.ndarray:
    if name != "BYTES":
        return np.frombuffer(data, dtype=NUMPY[name]).reshape(shape)
    elements, offset = [], 0
    while offset < len(data):
        (length,) = struct.unpack_from("<I", data, offset)
        elements.append(data[offset + 4 : offset + 4 + length])
        offset += 4 + length
    array = np.empty(len(elements), dtype=object)
    array[:] = elements
    return array.reshape(shape)


def json_data(array: np.ndarray) -> list[Any]:
    values = array.ravel().tolist()
    if datatype(array) == "BYTES":
        return [value.decode() if isinstance(value, bytes) else value for value in values]
    return values


def json_input(name: str, array: np.ndarray, nested: bool = False) -> dict[str, Any]:
    data = json_data(array)
    if nested and array.ndim:
        data = np.array(data, dtype=object).reshape(array.shape).tolist()
    return {"name": name, "datatype": datatype(array), "shape": list(array.shape), "data": data}


def json_request(inputs: dict[str, np.ndarray], **extra: Any) -> bytes:
    body = {"inputs": [json_input(name, array) for name, array in inputs.items()], **extra}
    return json.dumps(body).encode()


def binary_request(inputs: dict[str, np.ndarray], **extra: Any) -> tuple[bytes, int]:
    """(body, Inference-Header-Content-Length) with every input in the binary section."""
    heads, tail = [], b""
    for name, array in inputs.items():
        data = raw(array)
        heads.append(
            {
                "name": name,
                "datatype": datatype(array),
                "shape": list(array.shape),
                "parameters": {"binary_data_size": len(data)},
            }
        )
        tail += data
    header = json.dumps({"inputs": heads, **extra}).encode()
    return header + tail, len(header)


def parse_response(body: bytes, header_length: int | None) -> dict[str, np.ndarray]:
    """Outputs by name, from `data` or, for binary ones, from the tail in order."""
    split = len(body) if header_length is None else header_length
    header, offset = json.loads(body[:split]), split
    outputs = {}
    for output in header["outputs"]:
        size = output.get("parameters", {}).get("binary_data_size")
        name, shape = output["datatype"], output["shape"]
        if size is None:
            outputs[output["name"]] = _from_json(name, shape, output["data"])
        else:
            outputs[output["name"]] = from_raw(name, shape, body[offset : offset + size])
            offset += size
    assert offset == len(body)
    return outputs


def _from_json(name: str, shape: list[int], data: list[Any]) -> np.ndarray:
    if name == "BYTES":
        array = np.empty(len(data), dtype=object)
        array[:] = data
        return array.reshape(shape)
    return np.array(data, dtype=NUMPY[name]).reshape(shape)


def grpc_request(inputs: dict[str, np.ndarray], *, use_raw: bool) -> Any:
    request = pb.ModelInferRequest(model_name="m", id="r")
    for name, array in inputs.items():
        tensor = request.inputs.add(name=name, datatype=datatype(array), shape=list(array.shape))
        if use_raw:
            request.raw_input_contents.append(raw(array))
        else:
            values = array.ravel().tolist()
            if datatype(array) == "BYTES":
                values = [value.encode() if isinstance(value, str) else value for value in values]
            getattr(tensor.contents, TYPED_FIELD[datatype(array)]).extend(values)
    return request


def parse_grpc_response(response: Any) -> dict[str, np.ndarray]:
    outputs = {}
    for index, output in enumerate(response.outputs):
        shape = list(output.shape)
        if response.raw_output_contents:
            data = response.raw_output_contents[index]
            outputs[output.name] = from_raw(output.datatype, shape, data)
            continue
        values = list(getattr(output.contents, TYPED_FIELD[output.datatype]))
        if output.datatype == "BYTES":
            array = np.empty(len(values), dtype=object)
            array[:] = values
            outputs[output.name] = array.reshape(shape)
        else:
            outputs[output.name] = np.array(values, dtype=NUMPY[output.datatype]).reshape(shape)
    return outputs


def same_bits(actual: Any, expected: np.ndarray) -> bool:
    """Same dtype, shape and bytes; BYTES element by element (str read as UTF-8)."""
    actual = np.asarray(actual)
    if actual.shape != expected.shape:
        return False
    if expected.dtype.kind in "OSU":
        as_bytes = [
            value.encode() if isinstance(value, str) else bytes(value)
            for value in actual.ravel().tolist()
        ]
        wanted = [
            value.encode() if isinstance(value, str) else bytes(value)
            for value in expected.ravel().tolist()
        ]
        return as_bytes == wanted
    return actual.dtype == expected.dtype and actual.tobytes() == expected.tobytes()
