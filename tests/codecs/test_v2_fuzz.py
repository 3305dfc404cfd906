"""Malformed V2 requests by the thousand on every path: only BadDataError may come out.

Seeded, bounded loops: each path decodes at least 1,000 mutated requests, the same ones on
every run. A decode that succeeds must still give tensors that agree with their shapes.
"""

from __future__ import annotations

import copy
import json
import math
import random
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import v2_client as client
from google.protobuf.message import DecodeError
from hypothesis import given, settings
from hypothesis import strategies as st

from seldon_server.codecs import v2_json, v2_proto
from seldon_server.codecs.v2_tensors import InferenceRequest
from seldon_server.errors import BadDataError
from seldon_server.proto import grpc_predict_v2_pb2 as pb

ROUNDS = 1200
JUNK: list[Any] = [
    None, True, False, 0, -1, 1, 3, 2**31, 2**63, 2**64, -(2**64), 10**400, 1.5, -0.0,
    float("nan"), float("inf"), "", "x", "1", "INT64", "BYTES", "FP16", "BOOL", "\ud800", "str",
    "base64", "np", [], [1], [[1, 2], [3]], ["a"], [None], [[[]]], {}, {"content_type": "str"},
    {"content_type": "base64"}, {"binary_data_size": 3}, {"binary_data_size": -1},
    {"binary_data": True}, {"binary_data_output": True},
]  # fmt: skip


def random_array(rng: random.Random) -> np.ndarray:
    name = rng.choice(client.DATATYPES)
    shape = tuple(rng.randint(0, 3) for _ in range(rng.randint(0, 3)))
    count = math.prod(shape)
    if name == "BYTES":
        array = np.empty(count, dtype=object)
        array[:] = [rng.choice([b"", b"a", "\u00e9".encode(), b"xyz"]) for _ in range(count)]
        return array.reshape(shape)
    dtype = np.dtype(client.NUMPY[name])
    if dtype.kind == "b":
        values: list[Any] = [rng.random() < 0.5 for _ in range(count)]
    elif dtype.kind in "iu":
        info = np.iinfo(dtype)
        values = [rng.randint(int(info.min), int(info.max)) for _ in range(count)]
    else:
        values = [rng.uniform(-1e3, 1e3) for _ in range(count)]
    return np.array(values, dtype=dtype).reshape(shape)


def random_inputs(rng: random.Random) -> dict[str, np.ndarray]:
    return {f"in{index}": random_array(rng) for index in range(rng.randint(1, 3))}


def spots(value: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) in a JSON-like value, the places a mutation may hit."""
    found: list[tuple[Any, Any]] = []
    stack = [value]
    while stack:
        node = stack.pop()
        keys = list(node) if isinstance(node, dict) else range(len(node))
        for key in keys:
            found.append((node, key))
            if isinstance(node[key], dict | list):
                stack.append(node[key])
    return found


def mutate_json(rng: random.Random, body: dict[str, Any]) -> Any:
    body = copy.deepcopy(body)
    for _ in range(rng.randint(1, 3)):
        places = spots(body)
        if not places:
            return rng.choice(JUNK)
        node, key = rng.choice(places)
        action = rng.random()
        if action < 0.6:
            node[key] = copy.deepcopy(rng.choice(JUNK))
        elif action < 0.8 and isinstance(node, dict):
            del node[key]
        elif isinstance(node, list):
            node.insert(key, copy.deepcopy(rng.choice(JUNK)))
        else:
            node[rng.choice(["data", "shape", "datatype", "parameters", "name", "zzz"])] = (
                copy.deepcopy(rng.choice(JUNK))
            )
    return body


def consistent(request: InferenceRequest) -> None:
    for tensor in request.inputs:
        count = math.prod(tensor.shape)
        if isinstance(tensor.data, np.ndarray):
            assert tensor.data.shape == tensor.shape
        else:
            assert len(tensor.data) == count


def only_bad_data(decode: Callable[[], InferenceRequest]) -> bool:
    """True if the request was rejected (as bad data), False if it decoded."""
    try:
        request = decode()
    except BadDataError:
        return True
    consistent(request)
    return False


def test_json_requests() -> None:
    rng = random.Random(1)
    rejected = 0
    for _ in range(ROUNDS):
        body = json.loads(client.json_request(random_inputs(rng)))
        for item in body["inputs"]:
            if item["datatype"] == "BYTES" and rng.random() < 0.3:
                item["parameters"] = {"content_type": rng.choice(["str", "base64", "np"])}
        mutated = mutate_json(rng, body)
        if rng.random() < 0.5:
            text = json.dumps(mutated).encode()  # through the parser too
            rejected += only_bad_data(lambda text=text: v2_json.parse_body(text))
        else:
            rejected += only_bad_data(lambda mutated=mutated: v2_json.decode_request(mutated))
    assert rejected > ROUNDS // 2  # the mutations mostly break the request, as they should


def test_binary_requests() -> None:
    rng = random.Random(2)
    rejected = 0
    for _ in range(ROUNDS):
        body, length = client.binary_request(random_inputs(rng))
        header: Any = length
        choice = rng.randrange(6)
        if choice == 0:
            body = body[: rng.randint(0, len(body))]
        elif choice == 1:
            body += bytes(rng.randrange(256) for _ in range(rng.randint(1, 9)))
        elif choice == 2:
            header = rng.choice([length + rng.randint(-9, 9), str(rng.randint(-3, 500)), "x"])
        elif choice == 3 and len(body) > length:
            at = rng.randrange(length, len(body))
            body = body[:at] + bytes([rng.randrange(256)]) + body[at + 1 :]
        elif choice == 4:
            at = rng.randrange(length)
            body = body[:at] + bytes([rng.randrange(256)]) + body[at + 1 :]
        else:
            mutated = mutate_json(rng, json.loads(body[:length]))
            head = json.dumps(mutated).encode()
            body, header = head + body[length:], len(head)
        rejected += only_bad_data(lambda body=body, header=header: v2_json.parse_body(body, header))
    assert rejected > ROUNDS // 2


PARAMETER_KINDS = ["bool_param", "int64_param", "string_param", "double_param", "uint64_param"]
PARAMETER_VALUES = {
    "bool_param": True,
    "int64_param": -3,
    "string_param": "str",
    "double_param": 0.5,
    "uint64_param": 7,
}


def mutate_grpc(rng: random.Random, request: Any) -> Any:
    for _ in range(rng.randint(1, 3)):
        if not request.inputs:
            break
        tensor = rng.choice(request.inputs)
        choice = rng.randrange(8)
        if choice == 0:
            tensor.datatype = rng.choice([*client.DATATYPES, "", "FLOAT", "int64"])
        elif choice == 1:
            del tensor.shape[:]
            tensor.shape.extend(
                rng.choice([-1, 0, 1, 2, 3, 2**40]) for _ in range(rng.randint(0, 3))
            )
        elif choice == 2:
            field = rng.choice(list(client.TYPED_FIELD.values()))
            values = getattr(tensor.contents, field)
            sample = {"bool": True, "bytes": b"\xff\x01", "fp32": 1e30, "fp64": -1e300}
            values.append(sample.get(field.split("_")[0], rng.choice([0, 7, 300, 70000])))
        elif choice == 3:
            tensor.ClearField("contents")
        elif choice == 4:
            kind = rng.choice(PARAMETER_KINDS)
            setattr(tensor.parameters["content_type"], kind, PARAMETER_VALUES[kind])
            if kind == "string_param":
                tensor.parameters["content_type"].string_param = rng.choice(["str", "base64"])
        elif choice == 5 and request.raw_input_contents:
            index = rng.randrange(len(request.raw_input_contents))
            data = request.raw_input_contents[index]
            request.raw_input_contents[index] = data[: rng.randint(0, len(data))] + bytes(
                rng.randrange(256) for _ in range(rng.randint(0, 6))
            )
        elif choice == 6 and request.raw_input_contents:
            if rng.random() < 0.5:
                del request.raw_input_contents[-1]
            else:
                request.raw_input_contents.append(b"\x01\x00\x00\x00a")
        else:
            request.inputs.add(name=rng.choice(["in0", "new"]), datatype="INT64", shape=[1])
    return request


def grpc_request(rng: random.Random, use_raw: bool) -> Any:
    inputs = random_inputs(rng)
    if not use_raw:  # FP16 has no typed field: the typed path sends everything else
        inputs = {k: v for k, v in inputs.items() if client.datatype(v) != "FP16"}
    return client.grpc_request(inputs, use_raw=use_raw)


@pytest.mark.parametrize("use_raw", [False, True], ids=["typed", "raw"])
def test_grpc_requests(use_raw: bool) -> None:
    rng = random.Random(3 + use_raw)
    rejected = 0
    for _ in range(ROUNDS):
        request = mutate_grpc(rng, grpc_request(rng, use_raw))
        wire = pb.ModelInferRequest.FromString(request.SerializeToString())
        rejected += only_bad_data(lambda wire=wire: v2_proto.decode_infer_request(wire))
    assert rejected > ROUNDS // 3


def test_grpc_wire_bytes() -> None:
    """Byte-level damage that still parses as a ModelInferRequest reaches the codec."""
    rng = random.Random(5)
    decoded = 0
    for _ in range(10 * ROUNDS):  # about one damaged message in five still parses
        data = bytearray(grpc_request(rng, rng.random() < 0.5).SerializeToString())
        for _ in range(rng.randint(1, 3)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        try:
            request = pb.ModelInferRequest.FromString(bytes(data))
        except DecodeError:  # not ours: the gRPC layer rejects it before the codec
            continue
        only_bad_data(lambda request=request: v2_proto.decode_infer_request(request))
        decoded += 1
        if decoded == ROUNDS:
            break
    assert decoded == ROUNDS


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=5)
    | st.sampled_from(["INT64", "BYTES", "FP16", "BOOL", "str", "base64"]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["name", "datatype", "shape", "data", "parameters", "content_type"]),
            children,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=300)
@given(st.dictionaries(st.sampled_from(["inputs", "outputs", "id", "parameters"]), json_values))
def test_arbitrary_json_bodies(body: dict[str, Any]) -> None:
    only_bad_data(lambda: v2_json.decode_request(body))


@settings(max_examples=300)
@given(st.lists(json_values, max_size=3), st.binary(max_size=40))
def test_arbitrary_inputs_with_a_binary_section(inputs: list[Any], tail: bytes) -> None:
    only_bad_data(lambda: v2_json.decode_request({"inputs": inputs}, tail))
