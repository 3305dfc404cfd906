"""Thousands of generated malformed V2 requests to the real server, per transport: REST JSON, REST
with the binary tensor extension, gRPC. Each is the client's mistake: a 4xx / INVALID_ARGUMENT
(NOT_FOUND for a model it does not serve) with a message, never a 5xx, INTERNAL or UNKNOWN, and
never a traceback in the server's log; the server answers a good request afterwards.

The generator is seeded and bounded; each case breaks one thing in an otherwise valid request
(so what the server accepts on purpose, e.g. JSON true as 1 in a numeric tensor, is not here).
A failure lists the first offending cases with what came back.
"""

from __future__ import annotations

import base64
import json
import random
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import numpy as np
import pytest
import requests
from google.protobuf import text_format
from serverproc import Launcher, Server, grpc_channel
from v2_client import DATATYPES, NUMPY, TYPED_FIELD

from seldon_server.proto import grpc_predict_v2_pb2 as pb
from seldon_server.proto import grpc_predict_v2_pb2_grpc as pb_grpc

PER_TRANSPORT = 1200
SEED = 7_2026
MODEL = "Identity"
INFER = f"/v2/models/{MODEL}/infer"
HEADER = "Inference-Header-Content-Length"
BAD_DATATYPES = ["FLOAT32", "fp32", "INT128", "", "STRING", "BF16", "int32", " INT32", 3, None, []]
BAD_SHAPES: list[Any] = [[-1], [2, -3], "2", [1.5], [True], None, {}, [[2]], [None], ["1"], 4]
# (datatype, a value outside its range or of the wrong JSON type)
BAD_VALUES: list[tuple[str, Any]] = [
    ("INT8", 128), ("INT8", -129), ("UINT8", -1), ("UINT8", 256), ("INT16", 2**15),
    ("UINT16", 2**16), ("INT32", -(2**31) - 1), ("UINT32", 2**32), ("INT64", 2**63),
    ("INT64", -(2**63) - 1), ("UINT64", 2**64), ("UINT64", -1), ("INT32", 1.5), ("INT64", "1"),
    ("FP32", "1.0"), ("FP64", None), ("FP16", 1e6), ("FP32", 1e39), ("BOOL", 2), ("BOOL", "true"),
    ("BOOL", None), ("BYTES", 1), ("BYTES", None), ("BYTES", True), ("INT32", {}),
    ("FP64", [1, {}]), ("UINT8", 1e3),
]  # fmt: skip
BAD_BASE64 = ["not base64!", "YQ=", "YQ===", "\u00e9", "Y", "YWJj\n", "====", "YW Jj"]


@dataclass
class Case:
    """One malformed request and the refusal it must get (400 / 404)."""

    label: str
    body: Any  # REST: bytes; gRPC: a ModelInferRequest or raw bytes
    headers: dict[str, str] = field(default_factory=dict)
    path: str = INFER
    status: int = 400


# -- valid pieces the cases break --------------------------------------------------------------


def shape(rng: random.Random) -> list[int]:
    return [rng.randint(1, 3) for _ in range(rng.randint(1, 3))]


def values(rng: random.Random, datatype: str, count: int) -> np.ndarray:
    """`count` valid values of a datatype as numpy (BYTES: an object array of bytes)."""
    if datatype == "BYTES":
        array = np.empty(count, dtype=object)
        array[:] = [rng.choice([b"", b"a", b"xyz", "\u00e9".encode()]) for _ in range(count)]
        return array
    dtype = np.dtype(NUMPY[datatype])
    if dtype.kind == "b":
        return np.array([rng.random() < 0.5 for _ in range(count)], dtype=dtype)
    if dtype.kind == "f":
        return np.array([rng.uniform(-100, 100) for _ in range(count)], dtype=dtype)
    info = np.iinfo(dtype)
    return np.array([rng.randint(int(info.min), int(info.max)) for _ in range(count)], dtype=dtype)


def json_input(rng: random.Random, name: str = "x", datatype: str | None = None) -> dict[str, Any]:
    datatype = datatype or rng.choice(DATATYPES)
    dims = shape(rng)
    data = values(rng, datatype, int(np.prod(dims)))
    items = [v.decode() for v in data] if datatype == "BYTES" else data.tolist()
    return {"name": name, "datatype": datatype, "shape": dims, "data": items}


def raw_bytes(datatype: str, array: np.ndarray) -> bytes:
    if datatype == "BYTES":
        return b"".join(struct.pack("<I", len(e)) + e for e in array.tolist())
    return array.astype(NUMPY[datatype]).tobytes()


def binary_input(rng: random.Random, name: str = "x", datatype: str | None = None) -> Any:
    """(the input's JSON head, its binary bytes)."""
    datatype = datatype or rng.choice(DATATYPES)
    dims = shape(rng)
    data = raw_bytes(datatype, values(rng, datatype, int(np.prod(dims))))
    head = {"name": name, "datatype": datatype, "shape": dims}
    return head | {"parameters": {"binary_data_size": len(data)}}, data


# -- REST with JSON tensors ---------------------------------------------------------------------


def dumps(body: Any) -> bytes:
    return json.dumps(body).encode()


def rest_json_case(rng: random.Random, kind: int) -> Case:
    """The kind-th way to break a JSON request (kinds cycle)."""
    good = json_input(rng)
    makers: list[Callable[[], Case]] = [
        lambda: Case("non-object JSON", dumps(rng.choice([[], [good], 1, "x", None, True, 2.5]))),
        lambda: Case("garbage bytes", _garbage(rng)),
        lambda: Case("truncated JSON", _truncated(rng, dumps({"inputs": [good]}))),
        lambda: Case("no inputs list", dumps(rng.choice([{}, {"inputs": None}, {"inputs": {}}]))),
        lambda: Case("no inputs", dumps({"inputs": []})),
        lambda: Case("input not an object", dumps({"inputs": [rng.choice([1, "x", [], None])]})),
        lambda: Case("bad name", dumps({"inputs": [good | {"name": rng.choice([1, None, []])}]})),
        lambda: Case("no name", dumps({"inputs": [_without(good, "name")]})),
        lambda: Case(
            "bad datatype", dumps({"inputs": [good | {"datatype": rng.choice(BAD_DATATYPES)}]})
        ),
        lambda: Case("bad shape", dumps({"inputs": [good | {"shape": rng.choice(BAD_SHAPES)}]})),
        lambda: Case("count mismatch", dumps({"inputs": [_miscount(rng, good)]})),
        lambda: Case(
            "huge shape",
            dumps({"inputs": [good | {"shape": [rng.choice([2**64, 10**30, 2**62]), 2]}]}),
        ),
        lambda: Case("65 dimensions", dumps({"inputs": [_dims65(good)]})),
        lambda: Case("bad value", dumps({"inputs": [_bad_value(rng, good)]})),
        lambda: Case("no data", dumps({"inputs": [_without(good, "data")]})),
        lambda: Case("bad base64", dumps({"inputs": [_bad_base64(rng)]})),
        lambda: Case("str on numbers", dumps({"inputs": [_str_on_numbers(rng)]})),
        lambda: Case("bad parameters", dumps(_bad_parameters(rng, good))),
        lambda: Case("bad id", dumps({"inputs": [good], "id": rng.choice([3, [], {}, True])})),
        lambda: Case("bad outputs", dumps({"inputs": [good], "outputs": _bad_outputs(rng)})),
        lambda: Case("repeated input", dumps({"inputs": [good, good | {"data": good["data"]}]})),
        lambda: Case(
            "unknown model",
            dumps({"inputs": [good]}),
            path=f"/v2/models/{rng.choice(['Nope', 'identity', 'Identity2', 'x' * 200])}/infer",
            status=404,
        ),
    ]
    return makers[kind % len(makers)]()


def _garbage(rng: random.Random) -> bytes:
    # A first byte no JSON text starts with, then anything.
    tail = bytes(rng.randrange(256) for _ in range(rng.randint(0, 64)))
    return rng.choice([b"\x00", b"\xff", b"}", b"]", b":", b",", b"\x80", b"'"]) + tail


def _truncated(rng: random.Random, body: bytes) -> bytes:
    return body[: rng.randint(1, len(body) - 1)]


def _without(item: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k != key}


def _miscount(rng: random.Random, good: dict[str, Any]) -> dict[str, Any]:
    dims = list(good["shape"])
    dims[rng.randrange(len(dims))] += rng.choice([1, 2, 5])
    return good | {"shape": dims}


def _dims65(good: dict[str, Any]) -> dict[str, Any]:
    return good | {"shape": [1] * 65, "data": good["data"][:1]}


def _bad_value(rng: random.Random, good: dict[str, Any]) -> dict[str, Any]:
    datatype, bad = rng.choice(BAD_VALUES)
    item = json_input(rng, datatype=datatype)
    data = list(item["data"])
    data[rng.randrange(len(data))] = bad
    return item | {"data": data}


def _bad_base64(rng: random.Random) -> dict[str, Any]:
    item = json_input(rng, datatype="BYTES")
    data = [base64.b64encode(v.encode()).decode() for v in item["data"]]
    data[rng.randrange(len(data))] = rng.choice(BAD_BASE64)
    return item | {"data": data, "parameters": {"content_type": "base64"}}


def _str_on_numbers(rng: random.Random) -> dict[str, Any]:
    item = json_input(rng, datatype=rng.choice(list(NUMPY)))
    kind = rng.choice(["str", "base64", 3, None, True])
    if kind is None:
        return item | {"parameters": {"content_type": []}}
    return item | {"parameters": {"content_type": kind}}


def _bad_parameters(rng: random.Random, good: dict[str, Any]) -> dict[str, Any]:
    bad = rng.choice([[], "x", 3, True])
    return rng.choice(
        [
            {"inputs": [good | {"parameters": bad}]},
            {"inputs": [good], "parameters": bad},
            {"inputs": [good], "parameters": {"binary_data_output": rng.choice(["yes", 1, []])}},
        ]
    )


def _bad_outputs(rng: random.Random) -> Any:
    return rng.choice(
        [
            {},
            "output-0",
            [1],
            [{}],
            [{"name": 3}],
            [{"name": "nope"}],
            [{"name": "output-0"}, {"name": "output-0"}],
            [{"name": "output-0", "parameters": []}],
            [{"name": "output-0", "parameters": {"binary_data": "true"}}],
        ]
    )


# -- REST with the binary tensor extension ------------------------------------------------------


def rest_binary_case(rng: random.Random, kind: int) -> Case:
    heads, tails = zip(
        *[binary_input(rng, f"in{i}") for i in range(rng.randint(1, 3))], strict=True
    )
    header = dumps({"inputs": list(heads)})
    tail = b"".join(tails)
    body = header + tail
    length = str(len(header))
    makers: list[Callable[[], Case]] = [
        lambda: Case(
            "length not a number",
            body,
            {HEADER: rng.choice(["abc", "-1", "1.5", "", "0x10", "1e3", "+5", f"{length}x", "-0"])},
        ),  # fmt: skip
        lambda: Case("length past the body", body, {HEADER: str(len(body) + rng.randint(1, 99))}),
        lambda: Case("length zero", body, {HEADER: "0"}),
        lambda: Case(
            "length inside the JSON", body, {HEADER: str(rng.randint(1, len(header) - 1))}
        ),
        lambda: Case("length into the tensors", body, {HEADER: str(_into_tail(rng, header, tail))}),
        lambda: Case("body truncated", _cut(rng, body, len(header)), {HEADER: length}),
        lambda: Case("extra bytes", body + _nonempty(rng), {HEADER: length}),
        lambda: Case("size past the body", *_resized(rng, heads, tails, grow=True)),
        lambda: Case("size short of the tensor", *_resized(rng, heads, tails, grow=False)),
        lambda: Case("bad size", *_bad_size(rng, heads, tails)),
        lambda: Case("data and size", *_data_and_size(rng)),
        lambda: Case("bad BOOL byte", *_single(rng, "BOOL", lambda raw: _set_byte(rng, raw))),
        lambda: Case("bad BYTES prefix", *_single(rng, "BYTES", lambda raw: _bad_prefix(rng, raw))),
        lambda: Case("bad base64", *_binary_base64(rng)),
        lambda: Case("str that is not UTF-8", *_not_utf8(rng)),
        lambda: Case("garbage tensors", *_garbage_tensors(rng)),
    ]
    return makers[kind % len(makers)]()


def _binary_request(heads: Any, tails: Any) -> tuple[bytes, dict[str, str]]:
    header = dumps({"inputs": list(heads)})
    return header + b"".join(tails), {HEADER: str(len(header))}


def _into_tail(rng: random.Random, header: bytes, tail: bytes) -> int:
    # The JSON then some of the tensors' bytes: never JSON, or a binary section too short.
    return len(header) + rng.randint(1, max(1, len(tail)))


def _cut(rng: random.Random, body: bytes, header_length: int) -> bytes:
    return body[: rng.randint(header_length, len(body) - 1)]


def _nonempty(rng: random.Random) -> bytes:
    return bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))


def _resized(rng: random.Random, heads: Any, tails: Any, grow: bool) -> Any:
    heads = [json.loads(json.dumps(head)) for head in heads]
    index = rng.randrange(len(heads))
    parameters = heads[index]["parameters"]
    if grow:
        parameters["binary_data_size"] += rng.randint(1, 64) + sum(len(t) for t in tails)
        return _binary_request(heads, tails)
    if parameters["binary_data_size"] == 0:  # an empty tensor: a byte too many instead
        tails = [*tails[:index], b"\x01", *tails[index + 1 :]]
    else:
        parameters["binary_data_size"] -= rng.randint(1, parameters["binary_data_size"])
    return _binary_request(heads, tails)


def _bad_size(rng: random.Random, heads: Any, tails: Any) -> Any:
    heads = [json.loads(json.dumps(head)) for head in heads]
    heads[0]["parameters"]["binary_data_size"] = rng.choice([-1, "8", 1.5, True, [], {}])
    return _binary_request(heads, tails)


def _data_and_size(rng: random.Random) -> Any:
    head, tail = binary_input(rng, datatype=rng.choice(list(NUMPY)))
    count = int(np.prod(head["shape"]))
    return _binary_request([head | {"data": [0] * count}], [tail])


def _single(rng: random.Random, datatype: str, spoil: Callable[[bytes], bytes]) -> Any:
    head, tail = binary_input(rng, datatype=datatype)
    tail = spoil(tail)
    head["parameters"]["binary_data_size"] = len(tail)
    return _binary_request([head], [tail])


def _set_byte(rng: random.Random, raw: bytes) -> bytes:
    index = rng.randrange(len(raw))
    return raw[:index] + bytes([rng.randint(2, 255)]) + raw[index + 1 :]


def _bad_prefix(rng: random.Random, raw: bytes) -> bytes:
    """Length-prefixed elements that do not make the shape's count."""
    choice = rng.randrange(4)
    if choice == 0:  # a prefix cut short
        return raw + b"\x01\x00"
    if choice == 1:  # an element longer than what is left
        return raw + struct.pack("<I", rng.randint(1, 2**32 - 1))
    if choice == 2:  # one element too many
        return raw + struct.pack("<I", 1) + b"z"
    return raw[: rng.randint(0, len(raw) - 1)] if raw else b"\x00"  # cut inside


def _binary_base64(rng: random.Random) -> Any:
    head, _ = binary_input(rng, datatype="BYTES")
    count = int(np.prod(head["shape"]))
    items = [b"YQ=="] * count
    items[rng.randrange(count)] = rng.choice(BAD_BASE64).encode()
    tail = raw_bytes("BYTES", np.array(items, dtype=object))
    head["parameters"] |= {"binary_data_size": len(tail), "content_type": "base64"}
    return _binary_request([head], [tail])


def _not_utf8(rng: random.Random) -> Any:
    head, _ = binary_input(rng, datatype="BYTES")
    count = int(np.prod(head["shape"]))
    items = [b"ok"] * count
    items[rng.randrange(count)] = rng.choice([b"\xff", b"\xc3", b"a\x80b", b"\xed\xa0\x80"])
    tail = raw_bytes("BYTES", np.array(items, dtype=object))
    head["parameters"] |= {"binary_data_size": len(tail), "content_type": "str"}
    return _binary_request([head], [tail])


def _garbage_tensors(rng: random.Random) -> Any:
    """A numeric tensor whose bytes do not fill its shape."""
    datatype = rng.choice([d for d in NUMPY if d != "BOOL"])
    head, tail = binary_input(rng, datatype=datatype)
    garbage = _nonempty(rng)
    if len(garbage) == len(tail):
        garbage += b"\x00"
    head["parameters"]["binary_data_size"] = len(garbage)
    return _binary_request([head], [garbage])


# -- gRPC ---------------------------------------------------------------------------------------


def grpc_case(rng: random.Random, kind: int) -> Case:
    makers: list[Callable[[], Case]] = [
        lambda: Case(
            "bad datatype", _grpc_typed(rng, datatype=rng.choice(["FLOAT32", "", "BF16", "int8"]))
        ),
        lambda: Case("negative dimension", _grpc_typed(rng, dims=[2, -1])),
        lambda: Case("count mismatch", _grpc_typed(rng, extra=rng.choice([-1, 1, 3]))),
        lambda: Case("huge shape", _grpc_typed(rng, dims=[2**62, rng.randint(2, 9)])),
        lambda: Case("65 dimensions", _grpc_typed(rng, dims=[1] * 65)),
        lambda: Case("wrong contents field", _grpc_wrong_field(rng)),
        lambda: Case("FP16 typed", _grpc_fp16(rng)),
        lambda: Case("out of range", _grpc_out_of_range(rng)),
        lambda: Case("raw count mismatch", _grpc_raw_count(rng)),
        lambda: Case("raw length mismatch", _grpc_raw_length(rng)),
        lambda: Case("raw and typed", _grpc_raw_and_typed(rng)),
        lambda: Case("bad BOOL byte", _grpc_raw_single(rng, "BOOL", lambda r: _set_byte(rng, r))),
        lambda: Case(
            "bad BYTES prefix", _grpc_raw_single(rng, "BYTES", lambda r: _bad_prefix(rng, r))
        ),
        lambda: Case("repeated input", _grpc_repeated(rng)),
        lambda: Case("no inputs", pb.ModelInferRequest(model_name=MODEL)),
        lambda: Case("bad outputs", _grpc_outputs(rng)),
        lambda: Case("content type", _grpc_content_type(rng)),
        lambda: Case("bad base64", _grpc_base64(rng)),
        lambda: Case("str that is not UTF-8", _grpc_not_utf8(rng)),
        lambda: Case("unknown model", _grpc_unknown_model(rng), status=404),
    ]
    return makers[kind % len(makers)]()


def _grpc_typed(
    rng: random.Random,
    datatype: str | None = None,
    dims: list[int] | None = None,
    extra: int = 0,
) -> Any:
    """One input with typed contents, its element count off by `extra`."""
    real = rng.choice([d for d in DATATYPES if d != "FP16"])
    dims = dims if dims is not None else shape(rng)
    count = max(0, min(int(np.prod(dims)) + extra, 64))
    request = pb.ModelInferRequest(model_name=MODEL)
    tensor = request.inputs.add(
        name="x", datatype=real if datatype is None else datatype, shape=dims
    )
    _fill(tensor, real, values(rng, real, count))
    return request


def _fill(tensor: Any, datatype: str, array: np.ndarray) -> None:
    getattr(tensor.contents, TYPED_FIELD[datatype]).extend(array.tolist())


def _grpc_wrong_field(rng: random.Random) -> Any:
    datatype = rng.choice([d for d in DATATYPES if d != "FP16"])
    other = rng.choice([d for d in TYPED_FIELD if TYPED_FIELD[d] != TYPED_FIELD[datatype]])
    dims = shape(rng)
    request = pb.ModelInferRequest(model_name=MODEL)
    tensor = request.inputs.add(name="x", datatype=datatype, shape=dims)
    _fill(tensor, other, values(rng, other, int(np.prod(dims))))
    return request


def _grpc_fp16(rng: random.Random) -> Any:
    dims = shape(rng)
    request = pb.ModelInferRequest(model_name=MODEL)
    tensor = request.inputs.add(name="x", datatype="FP16", shape=dims)
    tensor.contents.fp32_contents.extend([0.5] * int(np.prod(dims)))
    return request


def _grpc_out_of_range(rng: random.Random) -> Any:
    datatype, bad = rng.choice(
        [("INT8", 128), ("INT8", -129), ("INT16", 2**15), ("UINT8", 256), ("UINT16", 70000)]
    )
    dims = shape(rng)
    array = values(rng, datatype, int(np.prod(dims))).astype(np.int64)
    array[rng.randrange(array.size)] = bad
    request = pb.ModelInferRequest(model_name=MODEL)
    tensor = request.inputs.add(name="x", datatype=datatype, shape=dims)
    getattr(tensor.contents, TYPED_FIELD[datatype]).extend(array.tolist())
    return request


def _grpc_raw(rng: random.Random, names: list[str], datatype: str | None = None) -> Any:
    request = pb.ModelInferRequest(model_name=MODEL)
    for name in names:
        real = datatype or rng.choice(DATATYPES)
        dims = shape(rng)
        request.inputs.add(name=name, datatype=real, shape=dims)
        request.raw_input_contents.append(raw_bytes(real, values(rng, real, int(np.prod(dims)))))
    return request


def _grpc_raw_count(rng: random.Random) -> Any:
    request = _grpc_raw(rng, ["a", "b"][: rng.randint(1, 2)])
    if len(request.inputs) == 2 and rng.random() < 0.5:
        del request.raw_input_contents[1]
    else:
        request.raw_input_contents.append(b"\x00" * 8)
    return request


def _grpc_raw_length(rng: random.Random) -> Any:
    request = _grpc_raw(rng, ["x"], rng.choice([d for d in NUMPY if d != "BOOL"]))
    raw = request.raw_input_contents[0]
    request.raw_input_contents[0] = raw[:-1] if rng.random() < 0.5 else raw + b"\x00"
    return request


def _grpc_raw_and_typed(rng: random.Random) -> Any:
    request = _grpc_raw(rng, ["x"], rng.choice([d for d in DATATYPES if d != "FP16"]))
    tensor = request.inputs[0]
    _fill(tensor, tensor.datatype, values(rng, tensor.datatype, int(np.prod(tensor.shape))))
    return request


def _grpc_raw_single(rng: random.Random, datatype: str, spoil: Callable[[bytes], bytes]) -> Any:
    request = _grpc_raw(rng, ["x"], datatype)
    request.raw_input_contents[0] = spoil(request.raw_input_contents[0])
    return request


def _grpc_repeated(rng: random.Random) -> Any:
    if rng.random() < 0.5:
        return _grpc_raw(rng, ["x", "x"])
    request = _grpc_typed(rng)
    request.inputs.append(request.inputs[0])
    return request


def _grpc_outputs(rng: random.Random) -> Any:
    request = _grpc_typed(rng)
    names = rng.choice([["nope"], ["output-0", "output-0"], ["output-0", "y"], [""]])
    for name in names:
        request.outputs.add(name=name)
    return request


def _grpc_content_type(rng: random.Random) -> Any:
    request = _grpc_raw(rng, ["x"], rng.choice(list(NUMPY)))
    parameter = request.inputs[0].parameters["content_type"]
    choice = rng.randrange(3)
    if choice == 0:
        parameter.string_param = rng.choice(["str", "base64"])
    elif choice == 1:
        parameter.int64_param = 3
    else:
        parameter.bool_param = True
    return request


def _grpc_base64(rng: random.Random) -> Any:
    dims = shape(rng)
    count = int(np.prod(dims))
    items = [b"YQ=="] * count
    items[rng.randrange(count)] = rng.choice(BAD_BASE64).encode()
    request = pb.ModelInferRequest(model_name=MODEL)
    tensor = request.inputs.add(name="x", datatype="BYTES", shape=dims)
    tensor.parameters["content_type"].string_param = "base64"
    if rng.random() < 0.5:
        tensor.contents.bytes_contents.extend(items)
    else:
        request.raw_input_contents.append(raw_bytes("BYTES", np.array(items, dtype=object)))
    return request


def _grpc_not_utf8(rng: random.Random) -> Any:
    dims = shape(rng)
    count = int(np.prod(dims))
    items = [b"ok"] * count
    items[rng.randrange(count)] = rng.choice([b"\xff", b"\xc3", b"a\x80b", b"\xed\xa0\x80"])
    request = pb.ModelInferRequest(model_name=MODEL)
    tensor = request.inputs.add(name="x", datatype="BYTES", shape=dims)
    tensor.parameters["content_type"].string_param = "str"
    tensor.contents.bytes_contents.extend(items)
    return request


def _grpc_unknown_model(rng: random.Random) -> Any:
    request = _grpc_typed(rng)
    request.model_name = rng.choice(["Nope", "identity", "", "x" * 300])
    return request


# -- the tests ----------------------------------------------------------------------------------


def generate(make: Callable[[random.Random, int], Case], seed: int) -> Iterator[Case]:
    rng = random.Random(seed)
    return (make(rng, kind) for kind in range(PER_TRANSPORT))


@pytest.fixture(scope="module")
def server(module_launch: Launcher) -> Server:
    launched = module_launch("--threads", "4", interface="V2Models.Identity")
    launched.wait_ready()
    return launched


def _rest_failures(server: Server, cases: Iterator[Case]) -> list[str]:
    failures = []
    with requests.Session() as session:
        for case in cases:
            headers = {"Content-Type": "application/json", **case.headers}
            reply = session.post(server.url(case.path), data=case.body, headers=headers, timeout=30)
            problem = _rest_problem(reply, case.status)
            if problem:
                failures.append(f"{case.label}: {problem}; sent {case.body[:300]!r} {case.headers}")
    return failures


def _rest_problem(reply: requests.Response, status: int) -> str:
    if reply.status_code != status:
        return f"status {reply.status_code}, not {status}: {reply.text[:300]}"
    try:
        body = reply.json()
    except ValueError:
        return f"not a JSON body: {reply.text[:300]}"
    if not isinstance(body, dict) or not isinstance(body.get("error"), str) or not body["error"]:
        return f"no error message: {reply.text[:300]}"
    return ""


def _assert_clean(server: Server, failures: list[str], log_from: int) -> None:
    shown = "\n".join(failures[:15])
    assert not failures, f"{len(failures)} of {PER_TRANSPORT} misanswered:\n{shown}"
    log = server.log()[log_from:]
    assert "Traceback" not in log, log[-4000:]
    assert " ERROR" not in log, log[-4000:]


def _assert_still_serves(server: Server) -> None:
    good = {"inputs": [{"name": "x", "datatype": "INT64", "shape": [2], "data": [1, 2**62]}]}
    reply = requests.post(server.url(INFER), json=good, timeout=30)
    assert reply.status_code == 200, reply.text
    assert reply.json()["outputs"][0]["data"] == [1, 2**62]
    with grpc_channel(server.grpc_port) as channel:
        request = pb.ModelInferRequest(model_name=MODEL)
        request.inputs.add(name="x", datatype="INT64", shape=[2]).contents.int64_contents.extend(
            [1, 2**62]
        )
        answer = pb_grpc.GRPCInferenceServiceStub(channel).ModelInfer(request, timeout=30)
    assert list(answer.outputs[0].contents.int64_contents) == [1, 2**62]


@pytest.mark.parametrize(
    "make", [rest_json_case, rest_binary_case], ids=["rest-json", "rest-binary"]
)
def test_malformed_rest_requests_are_refused_with_a_4xx(
    server: Server, make: Callable[[random.Random, int], Case]
) -> None:
    log_from = len(server.log())
    failures = _rest_failures(server, generate(make, SEED))
    _assert_clean(server, failures, log_from)
    _assert_still_serves(server)


def test_malformed_grpc_requests_are_refused_with_invalid_argument(server: Server) -> None:
    log_from = len(server.log())
    failures = []
    with grpc_channel(server.grpc_port) as channel:
        infer = pb_grpc.GRPCInferenceServiceStub(channel).ModelInfer
        for case in generate(grpc_case, SEED):
            problem = _grpc_problem(infer, case)
            if problem:
                sent = text_format.MessageToString(case.body, as_one_line=True)
                failures.append(f"{case.label}: {problem}; sent {sent}"[:600])
    _assert_clean(server, failures, log_from)
    _assert_still_serves(server)


def _grpc_problem(infer: Any, case: Case) -> str:
    expected = grpc.StatusCode.NOT_FOUND if case.status == 404 else grpc.StatusCode.INVALID_ARGUMENT
    try:
        reply = infer(case.body, timeout=30)
    except grpc.RpcError as exc:
        if exc.code() != expected:
            return f"{exc.code()}, not {expected}: {exc.details()}"
        return "" if exc.details() else "no error message"
    return f"answered {text_format.MessageToString(reply, as_one_line=True)[:200]}"


def test_grpc_bytes_that_are_no_request_are_invalid_argument(server: Server) -> None:
    log_from = len(server.log())
    rng = random.Random(SEED)
    with grpc_channel(server.grpc_port) as channel:
        call = channel.unary_unary("/inference.GRPCInferenceService/ModelInfer")
        for _ in range(20):
            garbage = b"\xff" + bytes(rng.randrange(256) for _ in range(rng.randint(0, 32)))
            with pytest.raises(grpc.RpcError) as refused:
                call(garbage, timeout=30)
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert refused.value.details()
    assert "Traceback" not in server.log()[log_from:]
