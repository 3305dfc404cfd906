"""The real server's Open Inference Protocol (V2) through tritonclient, HTTP and gRPC.

tritonclient runs in .venv-interop (v2_interop_client.py); plain JSON requests (the content
types MLServer's clients send) go with requests from this process.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import requests
from serverproc import Launcher, Server
from utils import wait_until
from v2_interop import InteropClient, elements, encode, raw

from seldon_server import __version__

# mode -> (transport, binary): HTTP with JSON tensors, HTTP with the binary tensor extension
# (inputs and outputs), gRPC (tritonclient always sends raw_input_contents).
MODES: dict[str, tuple[str, bool]] = {
    "http-json": ("http", False),
    "http-binary": ("http", True),
    "grpc": ("grpc", True),
}
NUMPY = {
    "BOOL": np.bool_,
    "UINT8": np.uint8,
    "UINT16": np.uint16,
    "UINT32": np.uint32,
    "UINT64": np.uint64,
    "INT8": np.int8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "FP16": np.float16,
    "FP32": np.float32,
    "FP64": np.float64,
    "BYTES": np.object_,
}
DATATYPES = list(NUMPY)
# Quiet and signalling NaNs with payloads, negative ones too: binary and raw tensors keep every
# bit. JSON carries NaN as a token, so there only the canonical NaN goes.
NAN_BITS = {
    "FP16": (np.uint16, [0x7E01, 0xFE00, 0x7C01, 0xFD55]),
    "FP32": (np.uint32, [0x7FC00001, 0xFFC12345, 0x7F800001, 0xFF80FFFF]),
    "FP64": (
        np.uint64,
        [0x7FF8000000000001, 0xFFF0000000000001, 0x7FF0DEADBEEF0001, 0xFFF8000000000000],
    ),
}


def sample(datatype: str, binary: bool) -> np.ndarray:
    """Every datatype's edge values, in a multi-dimensional shape."""
    if datatype == "BOOL":
        return np.array([[True, False, True], [False, False, True]])
    if datatype == "BYTES":
        items = [b"", b"a", "\u00e9\u4e2d".encode(), b"x" * 300, b'{"json": "text"}', b" "]
        if binary:  # JSON strings are text: only binary tensors carry any byte
            items[4:] = [b"\x00\xff\xfe", b"\x80"]
        array = np.empty(6, dtype=object)
        array[:] = items
        return array.reshape(3, 2)
    dtype = np.dtype(NUMPY[datatype])
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        values = [info.min, info.min + 1, 0, 1, info.max - 1, info.max]
        if dtype.itemsize == 8:
            values += [2**53 + 1, info.max - 2**53 + 3]  # not exact as a float64
        return np.array(values, dtype=dtype).reshape(2, -1)
    finfo = np.finfo(dtype)
    floats = np.array(
        [0.1, -0.0, 0.0, 1 / 3, finfo.max, -finfo.max, finfo.tiny, finfo.smallest_subnormal,
         np.inf, -np.inf, np.nan, -2.5],
        dtype=dtype,
    )  # fmt: skip
    if binary:
        uint, bits = NAN_BITS[datatype]
        floats = np.concatenate([floats, np.array(bits, dtype=uint).view(dtype)])
    return floats.reshape(2, 1, -1)


def cases(datatype: str, binary: bool) -> dict[str, np.ndarray]:
    """The sample, an empty tensor of three dimensions, a scalar and a one-element vector."""
    full = sample(datatype, binary)
    return {
        "sample": full,
        "empty": full.ravel()[:0].reshape(2, 0, 3),
        "scalar": full.ravel()[-1:].reshape(()),
        "one": full.ravel()[1:2],
    }


def little_endian(array: np.ndarray) -> bytes:
    return array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()


def received(datatype: str, array: np.ndarray) -> str:
    """What Identity says it was given (V2Models.describe) for one input."""
    text = f"ndarray {array.dtype} {list(array.shape)}"
    return text + " bytes" if datatype == "BYTES" and array.size else text


def assert_round_trip(output: dict[str, Any], datatype: str, array: np.ndarray, mode: str) -> None:
    """Same datatype, shape and bits, as stated by the response and as decoded by the client."""
    assert output["datatype"] == datatype
    assert output["shape"] == list(array.shape)
    assert output["numpy_shape"] == list(array.shape)
    # The binary tensor extension was used exactly when asked for.
    assert ("binary_data_size" in output["parameters"]) == (mode == "http-binary")
    if datatype == "BYTES":
        assert output["dtype"] == "object"
        assert elements(output) == array.ravel().tolist()
        if array.size:  # JSON gives the client text, binary tensors bytes
            assert output["element_types"] == (["str"] if mode == "http-json" else ["bytes"])
        assert "content_type" not in output["parameters"]  # all text, or raw bytes
    else:
        assert output["dtype"] == array.dtype.name
        assert raw(output) == little_endian(array)


def url(server: Server, transport: str) -> str:
    return f"127.0.0.1:{server.http_port if transport == 'http' else server.grpc_port}"


def _job(server: Server, mode: str, inputs: list[Any], outputs: list[str] | None) -> dict[str, Any]:
    transport, binary = MODES[mode]
    return {
        "op": "infer",
        "transport": transport,
        "url": url(server, transport),
        "model": "Identity",
        "inputs": [encode(name, dt, array, binary=binary) for name, dt, array in inputs],
        "outputs": None if outputs is None else [{"name": n, "binary": binary} for n in outputs],
    }


def refused(answer: dict[str, Any], transport: str, status: int, code: str) -> str:
    """The refusal's message, once its status is the one expected for the transport."""
    assert "error" in answer, answer
    assert answer["error"]["status"] == (str(status) if transport == "http" else code)
    assert answer["error"]["message"]
    return str(answer["error"]["message"])


@pytest.fixture(scope="module")
def interop() -> Iterator[InteropClient]:
    client = InteropClient()
    yield client
    client.close()


@pytest.fixture(scope="module")
def identity(module_launch: Launcher) -> Server:
    server = module_launch(interface="V2Models.Identity")
    server.wait_ready()
    return server


@pytest.fixture(scope="module")
def declared(module_launch: Launcher) -> Server:
    server = module_launch(interface="V2Models.Declared")
    server.wait_ready()
    return server


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("datatype", DATATYPES)
def test_every_datatype_round_trips_bit_for_bit(
    interop: InteropClient, identity: Server, datatype: str, mode: str
) -> None:
    for case, array in cases(datatype, MODES[mode][1]).items():
        answer = interop.call(**_job(identity, mode, [("x", datatype, array)], ["output-0"]))
        assert "ok" in answer, (case, answer)
        [output] = answer["ok"]["outputs"]
        assert output["name"] == "output-0"
        assert_round_trip(output, datatype, array, mode)
        assert answer["ok"]["parameters"]["received"] == received(datatype, array), case


@pytest.mark.parametrize("mode", MODES)
def test_several_inputs_reach_the_model_as_a_dict_and_come_back_as_its_keys(
    interop: InteropClient, identity: Server, mode: str
) -> None:
    binary = MODES[mode][1]
    inputs = [(f"in_{dt.lower()}", dt, sample(dt, binary)) for dt in DATATYPES]
    names = [name for name, _, _ in inputs]
    answer = interop.ok(**_job(identity, mode, inputs, names))
    assert [output["name"] for output in answer["outputs"]] == names
    for output, (_, datatype, array) in zip(answer["outputs"], inputs, strict=True):
        assert_round_trip(output, datatype, array, mode)
    seen = json.loads(answer["parameters"]["received"])
    assert seen == {name: received(dt, array) for name, dt, array in inputs}


@pytest.mark.parametrize("mode", MODES)
def test_requested_outputs_are_the_ones_answered_in_their_order(
    interop: InteropClient, identity: Server, mode: str
) -> None:
    inputs = [(n, "INT32", np.array([i], dtype=np.int32)) for i, n in enumerate("abc")]
    answer = interop.ok(**_job(identity, mode, inputs, ["c", "a"]))
    assert [(o["name"], raw(o)) for o in answer["outputs"]] == [
        ("c", little_endian(np.array([2], np.int32))),
        ("a", little_endian(np.array([0], np.int32))),
    ]
    transport = MODES[mode][0]
    message = refused(
        interop.call(**_job(identity, mode, inputs, ["a", "nope"])),
        transport,
        400,
        "StatusCode.INVALID_ARGUMENT",
    )
    assert "nope" in message


def test_without_requested_outputs_http_answers_binary_and_grpc_raw(
    interop: InteropClient, identity: Server
) -> None:
    """tritonclient asks for binary outputs with binary_data_output when it names none."""
    array = sample("FP32", True)
    for mode in ("http-binary", "grpc"):
        [output] = interop.ok(**_job(identity, mode, [("x", "FP32", array)], None))["outputs"]
        assert output["name"] == "output-0"
        assert_round_trip(output, "FP32", array, mode)
        if mode == "http-binary":
            assert output["parameters"] == {"binary_data_size": array.nbytes}


@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_request_parameters_reach_the_model_as_tags_and_model_tags_come_back(
    interop: InteropClient, identity: Server, transport: str
) -> None:
    mode = "http-json" if transport == "http" else "grpc"
    parameters = {"tenant": "acme", "count": 7, "flag": True, "ratio": 0.25}
    job = _job(identity, mode, [("x", "INT64", np.arange(4).reshape(2, 2))], ["output-0"])
    answer = interop.ok(**job, parameters=parameters)
    # tritonclient's own protocol parameters (binary_data_output, ...) are not the model's.
    assert json.loads(answer["parameters"]["request_tags"]) == parameters
    assert answer["parameters"]["model"] == "identity"  # the tags() hook
    assert answer["parameters"]["received"] == "ndarray int64 [2, 2]"
    assert answer["model_name"] == "Identity"


@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_health_and_server_metadata(
    interop: InteropClient, identity: Server, transport: str
) -> None:
    where = {"transport": transport, "url": url(identity, transport)}
    assert interop.ok(op="server_live", **where) is True
    assert interop.ok(op="server_ready", **where) is True
    assert interop.ok(op="model_ready", model="Identity", **where) is True
    metadata = interop.ok(op="server_metadata", **where)
    assert metadata["name"] == "seldon-server"
    assert metadata["version"] == __version__
    assert "binary_tensor_data" in metadata["extensions"]


@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_an_unknown_model_is_not_found(
    interop: InteropClient, identity: Server, transport: str
) -> None:
    mode = "http-json" if transport == "http" else "grpc"
    job = _job(identity, mode, [("x", "INT8", np.array([1], np.int8))], ["output-0"])
    code = "StatusCode.NOT_FOUND"
    assert "Nope" in refused(interop.call(**job | {"model": "Nope"}), transport, 404, code)
    where = {"transport": transport, "url": url(identity, transport)}
    refused(interop.call(op="model_metadata", model="Nope", **where), transport, 404, code)
    if transport == "http":  # tritonclient's HTTP is_model_ready reads any non-200 as False
        assert interop.ok(op="model_ready", model="Nope", **where) is False
    else:
        refused(interop.call(op="model_ready", model="Nope", **where), transport, 404, code)


@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_declared_metadata_names_the_output_and_versions_the_model(
    interop: InteropClient, declared: Server, transport: str
) -> None:
    where = {"transport": transport, "url": url(declared, transport)}
    spec = {"datatype": "FP32", "shape": [-1, 3]}
    assert interop.ok(op="model_metadata", model="Declared", **where) == {
        "name": "Declared",
        "versions": ["1"],
        "platform": "seldon-e2e",
        "inputs": [{"name": "x", **spec}],
        "outputs": [{"name": "y", **spec}],
    }
    assert interop.ok(op="model_ready", model="Declared", version="1", **where) is True
    array = np.array([[1.5, -2.0, 3.25], [0.0, 1e-3, -7.0]], dtype=np.float32)
    mode = "http-binary" if transport == "http" else "grpc"
    job = _job(declared, mode, [("x", "FP32", array)], None) | {"model": "Declared"}
    answer = interop.ok(**job, version="1")
    [output] = answer["outputs"]
    assert output["name"] == "y"
    assert_round_trip(output, "FP32", array, mode)
    assert answer["model_version"] == "1"
    message = refused(interop.call(**job, version="2"), transport, 404, "StatusCode.NOT_FOUND")
    assert "version" in message


def test_not_ready_until_load_returns(launch: Launcher, interop: InteropClient) -> None:
    server = launch(interface="V2Models.Identity", parameters={"block_load": True})
    # The gRPC server listens while load() runs; the REST worker starts serving after it.
    wait_until(lambda: server.grpc_health() is not None, "the gRPC server to listen")
    wait_until(lambda: server.markers("load"), "load() to start")
    grpc_at = {"transport": "grpc", "url": url(server, "grpc")}
    assert interop.ok(op="server_live", **grpc_at) is True
    assert interop.ok(op="server_ready", **grpc_at) is False
    assert interop.ok(op="model_ready", model="Identity", **grpc_at) is False
    job = _job(server, "grpc", [("x", "INT8", np.array([1], np.int8))], None)
    refused(interop.call(**job), "grpc", 503, "StatusCode.UNAVAILABLE")
    # REST: no 200 (Gunicorn's worker serves nothing until its load() returns).
    assert _rest_status(server, "GET", "/v2/health/ready") != 200
    assert _rest_status(server, "POST", "/v2/models/Identity/infer") != 200

    server.release()
    server.wait_ready()
    for transport in ("http", "grpc"):
        where = {"transport": transport, "url": url(server, transport)}
        assert interop.ok(op="server_ready", **where) is True
        assert interop.ok(op="model_ready", model="Identity", **where) is True
        mode = "http-binary" if transport == "http" else "grpc"
        answer = interop.ok(**_job(server, mode, [("x", "INT8", np.array([1], np.int8))], None))
        assert raw(answer["outputs"][0]) == b"\x01"
    assert requests.get(server.url("/v2/health/ready"), timeout=10).json() == {"ready": True}


def _rest_status(server: Server, method: str, path: str) -> int | None:
    """The status a REST call answers with, None if it does not answer within a moment."""
    good = {"inputs": [{"name": "x", "datatype": "INT8", "shape": [1], "data": [1]}]}
    body = good if method == "POST" else None
    try:
        return requests.request(method, server.url(path), json=body, timeout=0.5).status_code
    except requests.RequestException:
        return None


# -- content types, as MLServer's codecs send them ---------------------------------------------


def _post(server: Server, body: dict[str, Any]) -> requests.Response:
    return requests.post(server.url("/v2/models/Identity/infer"), json=body, timeout=30)


def test_str_content_type_gives_the_model_text_and_the_answer_says_str(identity: Server) -> None:
    words = ["h\u00e9llo", "", "\u4e2d\u6587", "a b"]
    reply = _post(
        identity,
        {
            "inputs": [
                {
                    "name": "text",
                    "datatype": "BYTES",
                    "shape": [4],
                    "parameters": {"content_type": "str"},
                    "data": words,
                }
            ]
        },
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["parameters"]["received"] == "list[str]"
    assert body["outputs"] == [
        {
            "name": "output-0",
            "datatype": "BYTES",
            "shape": [4],
            "parameters": {"content_type": "str"},
            "data": words,
        }
    ]


def test_base64_content_type_gives_the_model_decoded_bytes(identity: Server) -> None:
    blobs = [b"\x00\xff\xfe", "h\u00e9".encode(), b""]
    encoded = [base64.b64encode(blob).decode() for blob in blobs]
    tensor = {
        "name": "blob",
        "datatype": "BYTES",
        "shape": [3],
        "parameters": {"content_type": "base64"},
        "data": encoded,
    }
    reply = _post(identity, {"inputs": [tensor]})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["parameters"]["received"] == "list[bytes]"
    # Bytes that are not all UTF-8 go back as base64, and say so.
    [output] = body["outputs"]
    assert output["parameters"] == {"content_type": "base64"}
    assert [base64.b64decode(item) for item in output["data"]] == blobs
    # Text once decoded goes back as text.
    tensor |= {"shape": [1], "data": [base64.b64encode("h\u00e9".encode()).decode()]}
    reply = _post(identity, {"inputs": [tensor]})
    assert reply.status_code == 200, reply.text
    assert reply.json()["outputs"][0]["data"] == ["h\u00e9"]
    assert reply.json()["parameters"]["received"] == "list[bytes]"


def test_bytes_without_content_type_reach_the_model_as_an_array_of_bytes(
    identity: Server,
) -> None:
    tensor = {"name": "b", "datatype": "BYTES", "shape": [2, 1], "data": [["ab"], ["c"]]}
    reply = _post(identity, {"inputs": [tensor]})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["parameters"]["received"] == "ndarray object [2, 1] bytes"
    assert body["outputs"][0] | {"parameters": None} == {
        "name": "output-0",
        "datatype": "BYTES",
        "shape": [2, 1],
        "parameters": None,
        "data": ["ab", "c"],
    }
