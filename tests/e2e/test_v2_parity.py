"""One model, four front doors: Seldon v1 REST and gRPC, V2 REST and gRPC give the same numbers
and the same tags for the same input. Integers stay integers over V2 and v1 REST (v1 gRPC's
ndarray is a protobuf ListValue: doubles, as in the original)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import numpy as np
import pytest
import requests
from google.protobuf import json_format
from serverproc import Launcher, Server, grpc_channel

from seldon_server.proto import grpc_predict_v2_pb2 as pb
from seldon_server.proto import grpc_predict_v2_pb2_grpc as pb_grpc
from seldon_server.proto import prediction_pb2, prediction_pb2_grpc

FACTOR = 3
INPUTS = {
    "ints": [[1, 2, 3], [4, 5, 6]],
    "floats": [[0.5, -1.25], [2.0, 1e-3], [-0.0, 1e300]],
    "one": [[7]],
    "large ints": [[-(2**40), 2**40 + 1]],
    "three dims": [[[1, -1], [2, -2]], [[3, -3], [4, -4]]],
}


@pytest.fixture(scope="module")
def server(module_launch: Launcher) -> Server:
    launched = module_launch(interface="V2Models.Scale", parameters={"factor": FACTOR})
    launched.wait_ready()
    return launched


@pytest.fixture(scope="module")
def channel(server: Server) -> Iterator[grpc.Channel]:
    with grpc_channel(server.grpc_port) as opened:
        yield opened


def v1_rest(server: Server, x: Any) -> tuple[Any, dict[str, Any]]:
    reply = requests.post(
        server.url("/api/v1.0/predictions"), json={"data": {"ndarray": x}}, timeout=30
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    return body["data"]["ndarray"], body["meta"]["tags"]


def v1_grpc(channel: grpc.Channel, x: Any) -> tuple[Any, dict[str, Any]]:
    request = json_format.ParseDict({"data": {"ndarray": x}}, prediction_pb2.SeldonMessage())
    reply = prediction_pb2_grpc.ModelStub(channel).Predict(request, timeout=30)
    body = json_format.MessageToDict(reply)
    return body["data"]["ndarray"], body["meta"]["tags"]


def _datatype(array: np.ndarray) -> str:
    return "INT64" if array.dtype.kind == "i" else "FP64"


def v2_rest(server: Server, array: np.ndarray) -> tuple[Any, dict[str, Any]]:
    tensor = {
        "name": "x",
        "datatype": _datatype(array),
        "shape": list(array.shape),
        "data": array.ravel().tolist(),
    }
    reply = requests.post(
        server.url("/v2/models/Scale/infer"), json={"inputs": [tensor]}, timeout=30
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    [output] = body["outputs"]
    assert output["datatype"] == _datatype(array)
    assert output["shape"] == list(array.shape)
    return np.reshape(output["data"], array.shape).tolist(), body["parameters"]


def v2_grpc(channel: grpc.Channel, array: np.ndarray) -> tuple[Any, dict[str, Any]]:
    request = pb.ModelInferRequest(model_name="Scale")
    tensor = request.inputs.add(name="x", datatype=_datatype(array), shape=array.shape)
    field = "int64_contents" if array.dtype.kind == "i" else "fp64_contents"
    getattr(tensor.contents, field).extend(array.ravel().tolist())
    reply = pb_grpc.GRPCInferenceServiceStub(channel).ModelInfer(request, timeout=30)
    [output] = reply.outputs
    assert (output.datatype, list(output.shape)) == (_datatype(array), list(array.shape))
    values = list(getattr(output.contents, field))
    parameters = {
        key: getattr(value, value.WhichOneof("parameter_choice"))
        for key, value in reply.parameters.items()
    }
    return np.reshape(values, array.shape).tolist(), parameters


def _types(nested: Any) -> set[type]:
    return {type(value) for value in np.asarray(nested, dtype=object).ravel()}


@pytest.mark.parametrize("x", INPUTS.values(), ids=INPUTS.keys())
def test_v1_and_v2_give_the_same_answer(server: Server, channel: grpc.Channel, x: Any) -> None:
    array = np.array(x)
    expected = (array * FACTOR).tolist()
    tags = {"rows": len(array), "total": (array * FACTOR).sum().item()}
    answers = {
        "v1 REST": v1_rest(server, x),
        "v1 gRPC": v1_grpc(channel, x),
        "V2 REST": v2_rest(server, array),
        "V2 gRPC": v2_grpc(channel, array),
    }
    for where, (values, answer_tags) in answers.items():
        assert values == expected, where
        assert {key: answer_tags[key] for key in tags} == tags, where
    kind = int if array.dtype.kind == "i" else float
    for where in ("v1 REST", "V2 REST", "V2 gRPC"):
        values, answer_tags = answers[where]
        assert _types(values) == {kind}, where
        assert type(answer_tags["total"]) is kind, where
