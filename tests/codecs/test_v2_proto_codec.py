"""V2 gRPC codec: typed and raw contents bit for bit, parameters, bad data; the proto's contract."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import v2_client as client
from google.protobuf.descriptor import FieldDescriptor

from seldon_server.codecs import v2_proto
from seldon_server.codecs.v2_tensors import InferenceResponse, RequestedOutput, output_tensor
from seldon_server.errors import BadDataError, InternalError
from seldon_server.proto import grpc_predict_v2_pb2 as pb
from seldon_server.proto import grpc_predict_v2_pb2_grpc as pb_grpc

SAMPLES, NAN_BITS, BINARY_SAMPLES = client.SAMPLES, client.NAN_BITS, client.BINARY_SAMPLES
TYPED = {name: array for name, array in SAMPLES.items() if name != "FP16"}
# Typed fp32/fp64 fields hold NaNs as floats do; only payload-free quiet NaNs are promised.
TYPED_NAN = {"FP32": np.array([np.nan], np.float32), "FP64": np.array([np.nan, -0.0])}


def decode(request: Any) -> Any:
    return v2_proto.decode_infer_request(request)


def answer(outputs: dict[str, Any], *, raw: bool, **fields: Any) -> Any:
    tensors = [output_tensor(name, value) for name, value in outputs.items()]
    response = InferenceResponse("m", tensors, **fields)
    # What a client receives: the message after a trip through its wire format.
    message = v2_proto.encode_infer_response(response, raw=raw)
    return pb.ModelInferResponse.FromString(message.SerializeToString())


def wire(request: Any) -> Any:
    return pb.ModelInferRequest.FromString(request.SerializeToString())


# Requests


@pytest.mark.parametrize("name", list(TYPED))
def test_typed_request_keeps_every_bit(name: str) -> None:
    request = decode(wire(client.grpc_request({"x": TYPED[name]}, use_raw=False)))
    tensor = request.inputs[0]
    assert (tensor.name, tensor.datatype, tensor.shape) == ("x", name, TYPED[name].shape)
    assert client.same_bits(tensor.data, TYPED[name])
    assert request.id == "r"


@pytest.mark.parametrize("name", list(BINARY_SAMPLES))
def test_raw_request_keeps_every_bit(name: str) -> None:
    request = client.grpc_request({"x": BINARY_SAMPLES[name]}, use_raw=True)
    tensor = decode(wire(request)).inputs[0]
    assert client.same_bits(tensor.data, BINARY_SAMPLES[name])
    assert v2_proto.uses_raw(request)


@pytest.mark.parametrize("name", list(TYPED_NAN))
def test_typed_nan(name: str) -> None:
    tensor = decode(wire(client.grpc_request({"x": TYPED_NAN[name]}, use_raw=False))).inputs[0]
    assert np.array_equal(tensor.data, TYPED_NAN[name], equal_nan=True)
    assert np.signbit(tensor.data).tolist() == np.signbit(TYPED_NAN[name]).tolist()


def test_raw_inputs_are_writable() -> None:
    tensor = decode(client.grpc_request({"x": np.arange(3.0)}, use_raw=True)).inputs[0]
    assert tensor.data.flags.writeable and tensor.data.flags.aligned
    tensor.data[0] = 1.0


def test_request_fields() -> None:
    request = client.grpc_request({"x": np.arange(2)}, use_raw=False)
    request.id = ""
    request.parameters["p"].int64_param = 3
    request.inputs[0].parameters["content_type"].string_param = "np"
    request.outputs.add(name="y").parameters["binary_data"].bool_param = True
    decoded = decode(request)
    assert decoded.id is None and decoded.parameters == {"p": 3}
    assert decoded.inputs[0].parameters == {"content_type": "np"}
    assert decoded.outputs == [RequestedOutput("y", {"binary_data": True})]
    assert not v2_proto.uses_raw(request)


@pytest.mark.parametrize("use_raw", [False, True])
def test_content_types(use_raw: bool) -> None:
    request = client.grpc_request(
        {"s": np.array([b"\xc3\xa9"], object), "b": np.array([b"/w=="], object)}, use_raw=use_raw
    )
    request.inputs[0].parameters["content_type"].string_param = "str"
    request.inputs[1].parameters["content_type"].string_param = "base64"
    s, b = decode(request).inputs
    assert s.data == ["\u00e9"] and b.data == [b"\xff"]


# Bad requests


def typed(datatype: str, shape: list[int], **contents: Any) -> Any:
    request = pb.ModelInferRequest()
    request.inputs.add(name="x", datatype=datatype, shape=shape, contents=contents)
    return request


def raw_request(datatype: str, shape: list[int], data: bytes) -> Any:
    request = pb.ModelInferRequest(raw_input_contents=[data])
    request.inputs.add(name="x", datatype=datatype, shape=shape)
    return request


@pytest.mark.parametrize(
    ("request_", "match"),
    [
        (typed("FP16", [1], fp32_contents=[1.0]), "FP16 has no typed contents"),
        (typed("FLOAT", [1], fp32_contents=[1.0]), "unsupported datatype"),
        (typed("", [1]), "unsupported datatype"),
        (typed("INT64", [-1], int64_contents=[1]), "must be non-negative"),
        (typed("INT64", [2], int64_contents=[1]), "1 values, but the shape holds 2"),
        (typed("INT64", [2**40, 2**40], int64_contents=[1]), "the shape holds"),
        (typed("INT64", [1], fp32_contents=[1.0]), r"belong in int64_contents, not in \['fp32"),
        (typed("INT64", [1], int64_contents=[1], int_contents=[1]), "belong in int64_contents"),
        (typed("INT8", [1], int_contents=[128]), "out of range for INT8"),
        (typed("INT16", [1], int_contents=[-(2**15) - 1]), "out of range for INT16"),
        (typed("UINT8", [1], uint_contents=[256]), "out of range for UINT8"),
        (typed("UINT16", [1], uint_contents=[2**16]), "out of range for UINT16"),
        (typed("BYTES", [1], bytes_contents=[b"\xff"]), None),
        (typed("INT64", [1] * 65, int64_contents=[1]), "cannot shape the data"),
        (raw_request("INT32", [2], b"\0" * 7), "7 bytes of INT32 data, but shape"),
        (raw_request("FP16", [1], b"\0" * 4), "4 bytes of FP16 data"),
        (raw_request("BOOL", [1], b"\x03"), "BOOL bytes must be 0 or 1"),
        (raw_request("BYTES", [1], b"\x02\0\0\0a"), "element of 2 bytes, but only 1 remain"),
        (raw_request("BYTES", [2], b"\x01\0\0\0a"), "1 BYTES elements, but shape needs 2"),
        (raw_request("BYTES", [1], b"\x01\0"), "truncated BYTES length prefix"),
    ],
)
def test_bad_requests(request_: Any, match: str | None) -> None:
    if match is None:  # the control: a valid request
        decode(request_)
        return
    with pytest.raises(BadDataError, match=match):
        decode(request_)


def test_raw_contents_need_one_entry_per_input() -> None:
    request = client.grpc_request({"a": np.arange(2), "b": np.arange(2)}, use_raw=True)
    del request.raw_input_contents[1]
    with pytest.raises(BadDataError, match="1 raw_input_contents for 2 inputs"):
        decode(request)


def test_raw_and_typed_contents_together() -> None:
    request = client.grpc_request({"a": np.arange(2)}, use_raw=True)
    request.inputs[0].contents.int64_contents.extend([0, 1])
    with pytest.raises(BadDataError, match="typed contents cannot come with raw"):
        decode(request)


def test_repeated_names() -> None:
    request = client.grpc_request({"a": np.arange(2)}, use_raw=False)
    request.inputs.append(request.inputs[0])
    with pytest.raises(BadDataError, match="Repeated input names"):
        decode(request)
    request = client.grpc_request({"a": np.arange(2)}, use_raw=False)
    request.outputs.add(name="y")
    request.outputs.add(name="y")
    with pytest.raises(BadDataError, match="Repeated requested output names"):
        decode(request)


@pytest.mark.parametrize(
    ("kind", "value", "match"),
    [
        ("str", b"\xff", "not UTF-8"),
        ("base64", b"@@", "invalid base64"),
        ("base64", b"\xff", "invalid base64"),
    ],
)
def test_bad_bytes_for_their_content_type(kind: str, value: bytes, match: str) -> None:
    request = typed("BYTES", [1], bytes_contents=[value])
    request.inputs[0].parameters["content_type"].string_param = kind
    with pytest.raises(BadDataError, match=match):
        decode(request)


def test_content_type_must_be_a_string_and_fit_the_datatype() -> None:
    request = typed("BYTES", [1], bytes_contents=[b"a"])
    request.inputs[0].parameters["content_type"].int64_param = 1
    with pytest.raises(BadDataError, match="content_type must be a string"):
        decode(request)
    request = typed("INT64", [1], int64_contents=[1])
    request.inputs[0].parameters["content_type"].string_param = "str"
    with pytest.raises(BadDataError, match="needs datatype BYTES"):
        decode(request)


# Responses


@pytest.mark.parametrize("name", list(TYPED))
def test_typed_response_keeps_every_bit(name: str) -> None:
    response = answer({"y": TYPED[name]}, raw=False)
    assert not response.raw_output_contents
    assert client.same_bits(client.parse_grpc_response(response)["y"], TYPED[name])


@pytest.mark.parametrize("name", list(BINARY_SAMPLES))
def test_raw_response_keeps_every_bit(name: str) -> None:
    response = answer({"y": BINARY_SAMPLES[name]}, raw=True)
    assert len(response.raw_output_contents) == 1
    assert not response.outputs[0].HasField("contents")
    assert client.same_bits(client.parse_grpc_response(response)["y"], BINARY_SAMPLES[name])


def test_an_fp16_output_makes_the_whole_response_raw() -> None:
    response = answer({"a": np.arange(2), "h": NAN_BITS["FP16"]}, raw=False)
    assert len(response.raw_output_contents) == 2
    parsed = client.parse_grpc_response(response)
    assert parsed["a"].tolist() == [0, 1] and client.same_bits(parsed["h"], NAN_BITS["FP16"])


def test_response_fields_and_parameters() -> None:
    response = answer(
        {"y": ["a"]}, raw=False, model_version="3", id="i", parameters={"n": 2**64 - 1}
    )
    assert (response.model_name, response.model_version, response.id) == ("m", "3", "i")
    assert response.parameters["n"].uint64_param == 2**64 - 1
    assert response.outputs[0].parameters["content_type"].string_param == "str"
    assert list(response.outputs[0].contents.bytes_contents) == [b"a"]
    assert answer({}, raw=False).model_version == ""


def test_parameters_round_trip() -> None:
    values = {
        "t": True,
        "i": -(2**63),
        "big": 2**63,
        "f": 0.25,
        "s": "x",
        "none": None,
    }
    message = pb.ModelInferResponse()
    v2_proto.encode_parameters(message.parameters, values, "Response")
    kinds = {key: message.parameters[key].WhichOneof("parameter_choice") for key in values}
    assert kinds == {
        "t": "bool_param",
        "i": "int64_param",
        "big": "uint64_param",
        "f": "double_param",
        "s": "string_param",
        "none": None,
    }
    assert v2_proto.decode_parameters(message.parameters) == values


@pytest.mark.parametrize("value", [2**64, -(2**63) - 1, [1], {"a": 1}, b"x"])
def test_parameters_without_a_v2_type_are_a_server_error(value: Any) -> None:
    with pytest.raises(InternalError, match="has no V2 parameter type"):
        v2_proto.encode_parameters(pb.ModelInferResponse().parameters, {"p": value}, "Response")


def test_an_answer_follows_the_request_form() -> None:
    for use_raw in (False, True):
        request = client.grpc_request({"x": SAMPLES["INT64"]}, use_raw=use_raw)
        decoded = decode(wire(request))
        response = InferenceResponse("m", [output_tensor("y", decoded.inputs[0].data * 1)])
        message = v2_proto.encode_infer_response(response, raw=v2_proto.uses_raw(request))
        assert bool(message.raw_output_contents) is use_raw
        assert client.same_bits(client.parse_grpc_response(message)["y"], SAMPLES["INT64"])


# The proto's contract: names and numbers as the protocol's specification has them

T = FieldDescriptor
FIELDS = {
    "ModelInferRequest": {
        "model_name": (1, T.TYPE_STRING),
        "model_version": (2, T.TYPE_STRING),
        "id": (3, T.TYPE_STRING),
        "parameters": (4, T.TYPE_MESSAGE),
        "inputs": (5, T.TYPE_MESSAGE),
        "outputs": (6, T.TYPE_MESSAGE),
        "raw_input_contents": (7, T.TYPE_BYTES),
    },
    "ModelInferRequest.InferInputTensor": {
        "name": (1, T.TYPE_STRING),
        "datatype": (2, T.TYPE_STRING),
        "shape": (3, T.TYPE_INT64),
        "parameters": (4, T.TYPE_MESSAGE),
        "contents": (5, T.TYPE_MESSAGE),
    },
    "ModelInferRequest.InferRequestedOutputTensor": {
        "name": (1, T.TYPE_STRING),
        "parameters": (2, T.TYPE_MESSAGE),
    },
    "ModelInferResponse": {
        "model_name": (1, T.TYPE_STRING),
        "model_version": (2, T.TYPE_STRING),
        "id": (3, T.TYPE_STRING),
        "parameters": (4, T.TYPE_MESSAGE),
        "outputs": (5, T.TYPE_MESSAGE),
        "raw_output_contents": (6, T.TYPE_BYTES),
    },
    "ModelInferResponse.InferOutputTensor": {
        "name": (1, T.TYPE_STRING),
        "datatype": (2, T.TYPE_STRING),
        "shape": (3, T.TYPE_INT64),
        "parameters": (4, T.TYPE_MESSAGE),
        "contents": (5, T.TYPE_MESSAGE),
    },
    "InferParameter": {
        "bool_param": (1, T.TYPE_BOOL),
        "int64_param": (2, T.TYPE_INT64),
        "string_param": (3, T.TYPE_STRING),
        "double_param": (4, T.TYPE_DOUBLE),
        "uint64_param": (5, T.TYPE_UINT64),
    },
    "InferTensorContents": {
        "bool_contents": (1, T.TYPE_BOOL),
        "int_contents": (2, T.TYPE_INT32),
        "int64_contents": (3, T.TYPE_INT64),
        "uint_contents": (4, T.TYPE_UINT32),
        "uint64_contents": (5, T.TYPE_UINT64),
        "fp32_contents": (6, T.TYPE_FLOAT),
        "fp64_contents": (7, T.TYPE_DOUBLE),
        "bytes_contents": (8, T.TYPE_BYTES),
    },
    "ServerLiveResponse": {"live": (1, T.TYPE_BOOL)},
    "ServerReadyResponse": {"ready": (1, T.TYPE_BOOL)},
    "ModelReadyRequest": {"name": (1, T.TYPE_STRING), "version": (2, T.TYPE_STRING)},
    "ModelReadyResponse": {"ready": (1, T.TYPE_BOOL)},
    "ServerMetadataResponse": {
        "name": (1, T.TYPE_STRING),
        "version": (2, T.TYPE_STRING),
        "extensions": (3, T.TYPE_STRING),
    },
    "ModelMetadataRequest": {"name": (1, T.TYPE_STRING), "version": (2, T.TYPE_STRING)},
    "ModelMetadataResponse": {
        "name": (1, T.TYPE_STRING),
        "versions": (2, T.TYPE_STRING),
        "platform": (3, T.TYPE_STRING),
        "inputs": (4, T.TYPE_MESSAGE),
        "outputs": (5, T.TYPE_MESSAGE),
        "parameters": (6, T.TYPE_MESSAGE),
    },
    "ModelMetadataResponse.TensorMetadata": {
        "name": (1, T.TYPE_STRING),
        "datatype": (2, T.TYPE_STRING),
        "shape": (3, T.TYPE_INT64),
        "parameters": (4, T.TYPE_MESSAGE),
    },
}


def descriptor(name: str) -> Any:
    outer, _, inner = name.partition(".")
    found = pb.DESCRIPTOR.message_types_by_name[outer]
    return found.nested_types_by_name[inner] if inner else found


@pytest.mark.parametrize("message", sorted(FIELDS))
def test_field_names_and_numbers(message: str) -> None:
    fields = descriptor(message).fields
    assert {field.name: (field.number, field.type) for field in fields} == FIELDS[message]


def test_repeated_fields_maps_and_oneof() -> None:
    request = pb.ModelInferRequest.DESCRIPTOR.fields_by_name
    assert request["raw_input_contents"].is_repeated and request["inputs"].is_repeated
    assert request["parameters"].message_type.GetOptions().map_entry
    assert request["parameters"].message_type.fields_by_name["value"].message_type.name == (
        "InferParameter"
    )
    choice = pb.InferParameter.DESCRIPTOR.oneofs_by_name["parameter_choice"]
    assert len(choice.fields) == 5
    contents = pb.InferTensorContents.DESCRIPTOR.fields
    assert all(field.is_repeated for field in contents)


def test_package_service_and_file_name() -> None:
    assert (pb.DESCRIPTOR.package, pb.DESCRIPTOR.name) == ("inference", "grpc_predict_v2.proto")
    service = pb.DESCRIPTOR.services_by_name["GRPCInferenceService"]
    methods = {m.name: (m.input_type.name, m.output_type.name) for m in service.methods}
    assert methods == {
        "ServerLive": ("ServerLiveRequest", "ServerLiveResponse"),
        "ServerReady": ("ServerReadyRequest", "ServerReadyResponse"),
        "ModelReady": ("ModelReadyRequest", "ModelReadyResponse"),
        "ServerMetadata": ("ServerMetadataRequest", "ServerMetadataResponse"),
        "ModelMetadata": ("ModelMetadataRequest", "ModelMetadataResponse"),
        "ModelInfer": ("ModelInferRequest", "ModelInferResponse"),
    }
    assert hasattr(pb_grpc, "GRPCInferenceServiceServicer")
    assert hasattr(pb_grpc, "add_GRPCInferenceServiceServicer_to_server")
    assert type(pb.ModelInferRequest()).__module__ == "seldon_server.proto.grpc_predict_v2_pb2"
