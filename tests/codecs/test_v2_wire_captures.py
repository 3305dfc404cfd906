"""Requests as a widely used client of the protocol sends them, captured byte for byte."""

from __future__ import annotations

import numpy as np

from seldon_server.codecs import v2_json, v2_proto
from seldon_server.codecs.v2_tensors import InferenceRequest, RequestedOutput
from seldon_server.proto import grpc_predict_v2_pb2 as pb

# Inputs i (INT64) and b (BOOL) in JSON; h (FP16), s (BYTES), u (UINT64) in the binary section.
HTTP_MIXED = (
    b'{"id":"7","inputs":[{"name":"i","shape":[1,2],"datatype":"INT64","data":'
    b'[-9223372036854775808,9007199254740993]},{"name":"h","shape":[2],"datatype":"FP16",'
    b'"parameters":{"binary_data_size":4}},{"name":"s","shape":[2],"datatype":"BYTES",'
    b'"parameters":{"binary_data_size":11}},{"name":"b","shape":[2],"datatype":"BOOL",'
    b'"data":[true,false]},{"name":"u","shape":[1],"datatype":"UINT64","parameters":'
    b'{"binary_data_size":8}}],"outputs":[{"name":"y","parameters":{"binary_data":true}},'
    b'{"name":"z","parameters":{"binary_data":false}}]}'
    b"f.\x00|\x01\x00\x00\x00a\x02\x00\x00\x00\xc3\xa9\xff\xff\xff\xff\xff\xff\xff\xff"
)
HTTP_MIXED_LENGTH = "525"
HTTP_JSON = (
    b'{"id":"7","inputs":[{"name":"i","shape":[1,2],"datatype":"INT64","data":'
    b'[-9223372036854775808,9007199254740993]},{"name":"h","shape":[2],"datatype":"FP16",'
    b'"data":[0.0999755859375,Infinity]},{"name":"s","shape":[2],"datatype":"BYTES","data":'
    b'["a","\\u00E9"]},{"name":"b","shape":[2],"datatype":"BOOL","data":[true,false]},'
    b'{"name":"u","shape":[1],"datatype":"UINT64","data":[18446744073709551615]}],"outputs":'
    b'[{"name":"y","parameters":{"binary_data":true}},{"name":"z","parameters":'
    b'{"binary_data":false}}]}'
)
# The same inputs as raw_input_contents, with float, int and string request parameters.
GRPC_RAW = (
    b'\n\x01m\x1a\x017"\x0e\n\x01k\x12\t!\x00\x00\x00\x00\x00\x00\xf8?"\x08\n\x01t\x12\x03\x1a'
    b'\x01x"\x07\n\x01n\x12\x02\x10\x03*\x0e\n\x01i\x12\x05INT64\x1a\x02\x01\x02*\x0c\n\x01h'
    b"\x12\x04FP16\x1a\x01\x02*\r\n\x01s\x12\x05BYTES\x1a\x01\x02*\x0c\n\x01b\x12\x04BOOL\x1a"
    b"\x01\x02*\x0e\n\x01u\x12\x06UINT64\x1a\x01\x012\x03\n\x01y:\x10\x00\x00\x00\x00\x00\x00"
    b"\x00\x80\x01\x00\x00\x00\x00\x00 \x00:\x04f.\x00|:\x0b\x01\x00\x00\x00a\x02\x00\x00\x00"
    b"\xc3\xa9:\x02\x01\x00:\x08\xff\xff\xff\xff\xff\xff\xff\xff"
)


def check_inputs(request: InferenceRequest) -> None:
    tensors = {tensor.name: tensor for tensor in request.inputs}
    assert list(tensors) == ["i", "h", "s", "b", "u"]
    assert tensors["i"].data.tolist() == [[-(2**63), 2**53 + 1]]
    assert tensors["i"].data.dtype == np.int64
    expected_h = np.array([0.1, np.inf], np.float16)
    assert tensors["h"].data.tobytes() == expected_h.tobytes()
    assert tensors["s"].data.tolist() == [b"a", "\u00e9".encode()]
    assert tensors["b"].data.tolist() == [True, False]
    assert tensors["u"].data.tolist() == [2**64 - 1] and tensors["u"].data.dtype == np.uint64
    assert request.id == "7"


def test_rest_request_with_binary_inputs() -> None:
    request = v2_json.parse_body(HTTP_MIXED, HTTP_MIXED_LENGTH)
    check_inputs(request)
    assert request.outputs == [
        RequestedOutput("y", {"binary_data": True}),
        RequestedOutput("z", {"binary_data": False}),
    ]
    assert v2_json.binary_outputs(request, ["y", "z"]) == {"y"}


def test_rest_request_in_json() -> None:
    check_inputs(v2_json.parse_body(HTTP_JSON))


def test_grpc_request_with_raw_inputs() -> None:
    message = pb.ModelInferRequest.FromString(GRPC_RAW)
    request = v2_proto.decode_infer_request(message)
    check_inputs(request)
    assert request.parameters == {"k": 1.5, "n": 3, "t": "x"}
    assert request.outputs == [RequestedOutput("y")]
    assert v2_proto.uses_raw(message)
