"""Thousands of generated bad payloads per predict route: always a 4xx Seldon status, never a 5xx.

Payloads come from a seeded generator (reproducible, fast) plus hypothesis for arbitrary JSON.
A failure lists the first offending requests with what came back.
"""

from __future__ import annotations

import base64
import io
import json
import random
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import models
import pytest
from google.protobuf import json_format, struct_pb2
from hypothesis import given, settings
from hypothesis import strategies as st

from seldon_server.proto import prediction_pb2 as pb

PREDICT_ROUTES = ["/predict", "/api/v1.0/predictions", "/api/v0.1/predictions"]
PER_ROUTE = 2000
PAYLOAD_KEYS = ("data", "jsonData", "strData", "binData")
CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "text/plain",
    "application/xml",
    "application/octet-stream",
    "application/x-www-form-urlencoded",
    "multipart/form-data",  # without a boundary: nothing parses
    None,
]
BASE64_ALPHABET = string.ascii_letters + string.digits + "+/"


@dataclass
class BadRequest:
    """One malformed request, as keyword arguments for the Flask test client."""

    what: str
    method: str = "POST"
    data: Any = None
    content_type: str | None = "application/json"
    query_string: dict[str, str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def send(self, client: Any, path: str) -> Any:
        kwargs: dict[str, Any] = {
            "method": self.method,
            "data": self.data,
            "query_string": self.query_string,
        }
        if self.content_type is not None:
            kwargs["content_type"] = self.content_type
        return client.open(path, **kwargs)


# -- the generator ----------------------------------------------------------------------------


class Generator:
    """Seeded random bad payloads, one category at a time."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    # random JSON values
    def scalar(self) -> Any:
        r = self.rng
        return r.choice(
            [
                None,
                True,
                False,
                r.randint(-(2**70), 2**70),
                r.randint(-10, 10),
                r.uniform(-1e6, 1e6),
                r.choice([1e-05, 1e300, -0.0]),
                "".join(r.choice(string.printable) for _ in range(r.randint(0, 8))),
                "é😀\u2028",
            ]
        )

    def value(self, depth: int = 0) -> Any:
        r = self.rng
        kind = r.random()
        if depth > 3 or kind < 0.5:
            return self.scalar()
        if kind < 0.75:
            return [self.value(depth + 1) for _ in range(r.randint(0, 4))]
        return {self.key(): self.value(depth + 1) for _ in range(r.randint(0, 4))}

    def key(self) -> str:
        r = self.rng
        return r.choice(
            ["meta", "names", "x", "", "DATA", "Data", "status", "seldonMessages", "é"]
        ) + (str(r.randint(0, 9)) if r.random() < 0.3 else "")

    def non_dict(self) -> Any:
        value = self.value()
        return value if not isinstance(value, dict) else [value]

    def non_list(self) -> Any:
        value = self.value()
        return value if not isinstance(value, list) else {"v": value}

    def number_list(self, n: int) -> list[Any]:
        return [
            self.rng.choice([self.rng.randint(-100, 100), self.rng.uniform(-5, 5)])
            for _ in range(n)
        ]

    # bad SeldonMessage bodies
    def json_not_object(self) -> Any:
        return self.non_dict()

    def object_without_payload(self) -> Any:
        body = {self.key(): self.value() for _ in range(self.rng.randint(0, 4))}
        if self.rng.random() < 0.5:
            body["meta"] = {"puid": "p", "tags": {"a": 1}}
        return body

    def wrong_data(self) -> Any:
        return {"data": self.non_dict(), **self.maybe_meta()}

    def wrong_names(self) -> Any:
        return {"data": {"names": self.non_list(), "ndarray": [[1, 2]]}}

    def ragged(self) -> Any:
        r = self.rng
        width = r.randint(1, 4)
        rows = [self.number_list(width) for _ in range(r.randint(2, 5))]
        rows[r.randrange(len(rows))] = self.number_list(width + r.randint(1, 3))
        if r.random() < 0.3:
            rows[r.randrange(len(rows))] = [rows[0]]  # a deeper row
        if r.random() < 0.3:
            rows = [rows, rows[:1]]  # ragged one level down
        return {"data": {"ndarray": rows}, **self.maybe_meta()}

    def bad_tensor(self) -> Any:
        r = self.rng
        shape = [r.randint(1, 5) for _ in range(r.randint(1, 3))]
        size = 1
        for dim in shape:
            size *= dim
        values = self.number_list(size)
        choice = r.randrange(9)
        if choice == 0:  # values do not fit the shape
            values = self.number_list(size + r.choice([-1, 1, 2, 7]) if size > 1 else size + 1)
        elif choice == 1:  # huge shapes
            shape = [r.choice([2**31 - 1, 2**40, 10**12, 2**62]) for _ in range(r.randint(1, 3))]
        elif choice == 2:  # negative shapes
            shape = [-r.randint(1, 5), -r.randint(1, 5)] + shape
        elif choice == 3:  # shape entries that are not integers
            shape[r.randrange(len(shape))] = r.choice([1.5, "2", None, [1], {"a": 1}, 1e400])
        elif choice == 4:
            shape = self.non_list()
        elif choice == 5:
            values = self.non_list()
        elif choice == 6:  # nested values
            values = [values] if r.random() < 0.5 else [[v] for v in values]
        elif choice == 7:
            return {"data": {"tensor": self.non_dict()}}
        else:  # a key missing
            return {"data": {"tensor": r.choice([{"shape": shape}, {"values": values}, {}])}}
        return {"data": {"tensor": {"shape": shape, "values": values}}, **self.maybe_meta()}

    def bad_tftensor(self) -> Any:
        r = self.rng
        sizes = [r.randint(1, 4) for _ in range(r.randint(1, 3))]
        dims = [{"size": str(size)} for size in sizes]
        count = 1
        for size in sizes:
            count *= size
        choice = r.randrange(8)
        if choice == 0:
            tensor: Any = r.choice([[], "tensor", 3, True, [{"dtype": "DT_FLOAT"}]])
        elif choice == 1:
            tensor = {
                "dtype": r.choice(["DT_NOPE", "float", "", "DT_RESOURCE", "DT_VARIANT", 999, -1]),
                "tensorShape": {"dim": dims},
            }
        elif choice == 2:  # typed values that overflow the shape
            tensor = {
                "dtype": "DT_INT32",
                "tensorShape": {"dim": dims},
                "intVal": list(range(count + r.randint(1, 3))),
            }
        elif choice == 3:  # whole elements, but not as many as the shape says
            dtype, width = r.choice(
                [("DT_FLOAT", 4), ("DT_DOUBLE", 8), ("DT_INT64", 8), ("DT_INT32", 4)]
            )
            elements = count + r.choice([-1, 1, 2]) if count > 1 else 2
            length = elements * width
            if r.random() < 0.3:  # not even a whole number of elements
                length = count * width + r.randint(1, width - 1)
            content = bytes(r.randrange(256) for _ in range(length))
            tensor = {
                "dtype": dtype,
                "tensorShape": {"dim": dims},
                "tensorContent": base64.b64encode(content).decode(),
            }
        elif choice == 4 and r.random() < 0.5:  # huge dims, never allocatable
            huge = [{"size": str(r.choice([2**40, 2**62, 2**63 - 1]))} for _ in range(2)]
            tensor = {
                "dtype": r.choice(["DT_FLOAT", "DT_STRING", "DT_BOOL"]),
                "tensorShape": {"dim": huge},
            }
        elif choice == 4:
            tensor = {
                "dtype": "DT_FLOAT",
                "tensorShape": {"dim": [{"size": r.choice(["-1", "-5", "x", "1.5", [1]])}]},
            }
        elif choice == 5:
            tensor = {"dtype": "DT_FLOAT", "unknownField": self.value()}
        elif choice == 6:
            tensor = {
                "dtype": "DT_FLOAT",
                "floatVal": r.choice(["x", {"a": 1}, ["x"], [[1.0]]]),
                "tensorShape": {"dim": dims},
            }
        else:
            tensor = {
                "dtype": "DT_DOUBLE",
                "tensorShape": r.choice(["shape", 5, {"dim": 3}, {"dim": ["x"]}]),
            }
        return {"data": {"tftensor": tensor}}

    def bad_base64(self) -> Any:
        r = self.rng
        if r.random() < 0.3:
            return {"binData": r.choice([12, 1.5, True, [1], {"a": "b"}, None])}
        length = 4 * r.randint(0, 6) + 1  # one char more than a multiple of 4 never decodes
        text = "".join(r.choice(BASE64_ALPHABET) for _ in range(length))
        if r.random() < 0.3:
            text = text[:1] + r.choice([" ", "!", "-", "_", "\n"]) + text[1:]
        return {"binData": text}

    def bad_meta(self) -> Any:
        r = self.rng
        if r.random() < 0.4:
            meta: Any = r.choice([[], [1], "meta", 3, 2.5, True, ["puid", "x"]])
        else:  # a field of the wrong type
            field, bad = r.choice(
                [
                    ("tags", r.choice(["ab", 5, ["x"], [["a", 1]], True])),
                    ("metrics", r.choice([5, "ab", {"a": 1}, [1], ["x"], [[]]])),
                    ("requestPath", r.choice(["ab", 3, ["a"], False])),
                    ("routing", r.choice(["x", 1, ["r"]])),
                    ("puid", r.choice([5, {"a": 1}, ["p"], 1.5])),
                ]
            )
            meta = {"puid": "p", field: bad}
        payload = r.choice([{"data": {"ndarray": [[1, 2]]}}, {"strData": "s"}, {"jsonData": {}}])
        return {**payload, "meta": meta}

    def maybe_meta(self) -> dict[str, Any]:
        return {"meta": {"puid": "p", "tags": {"t": 1}}} if self.rng.random() < 0.3 else {}

    def bad_message(self) -> Any:
        return self.rng.choice(
            [
                self.json_not_object,
                self.object_without_payload,
                self.wrong_data,
                self.wrong_names,
                self.ragged,
                self.bad_tensor,
                self.bad_tftensor,
                self.bad_base64,
                self.bad_meta,
            ]
        )()

    # bad bodies, content types and json= fields
    def not_json(self) -> bytes:
        r = self.rng
        valid = json.dumps({"data": {"ndarray": [[1, 2]]}}).encode()
        choice = r.randrange(6)
        if choice == 0:
            return bytes(r.randrange(256) for _ in range(r.randint(1, 40)))
        if choice == 1:
            return valid[: r.randint(1, len(valid) - 1)]
        if choice == 2:
            return valid + r.choice([b"}", b"x", b",", b"{}", b"\x00"])
        if choice == 3:
            return b"{'data': {'ndarray': [[1, 2]]}}"
        if choice == 4:
            return r.choice(
                [b"", b" ", b"\n", b"null", b"{", b"[", b'"unterminated', b"tru", b"01", b"1e"]
            )
        return "".join(r.choice(string.printable) for _ in range(r.randint(1, 30))).encode()

    def request(self) -> BadRequest:
        r = self.rng
        choice = r.random()
        if choice < 0.15:
            return BadRequest(
                "not JSON", data=self.not_json(), content_type=r.choice(CONTENT_TYPES)
            )
        message = self.bad_message()
        text = json.dumps(message)
        if choice < 0.65:
            return BadRequest(
                f"body {text[:200]}", data=text.encode(), content_type=r.choice(CONTENT_TYPES)
            )
        if choice < 0.75:
            field_text = text if r.random() < 0.7 else self.not_json().decode("latin-1")
            return BadRequest(
                f"json= form {field_text[:200]}",
                data={"json": field_text},
                content_type="application/x-www-form-urlencoded",
            )
        if choice < 0.85:
            field_text = text if r.random() < 0.7 else self.not_json().decode("latin-1")
            method = r.choice(["GET", "POST"])
            return BadRequest(
                f"{method} ?json={field_text[:200]}",
                method=method,
                content_type=None,
                query_string={"json": field_text},
            )
        return self.multipart()

    def multipart(self) -> BadRequest:
        r = self.rng
        choice = r.randrange(4)
        if choice == 0:
            fields: dict[str, Any] = {
                r.choice(["meta", "data", "jsonData"]): self.not_json().decode("latin-1") or "{"
            }
        elif choice == 1:
            fields = {"meta": json.dumps({"puid": "x"})}  # no payload at all
        elif choice == 2:
            fields = {
                r.choice(["strData", "file", "jsonData"]): (
                    io.BytesIO(b"\xff\xfe\xfa" + bytes(r.randrange(128, 256) for _ in range(8))),
                    "f.txt",
                )
            }
        else:
            fields = {"data": json.dumps(self.ragged()["data"])}
        return BadRequest(
            f"multipart {sorted(fields)}", data=fields, content_type="multipart/form-data"
        )

    def requests(self, count: int) -> Iterator[BadRequest]:
        for _ in range(count):
            yield self.request()


# -- REST -------------------------------------------------------------------------------------


def seldon_status_problem(response: Any) -> str | None:
    """Why a response is not a 4xx Seldon status body with reason MICROSERVICE_BAD_DATA, or None."""
    if not 400 <= response.status_code < 500:
        return f"HTTP {response.status_code}"
    if response.content_type != "application/json":
        return f"content type {response.content_type}"
    try:
        body = json.loads(response.data)
    except ValueError:
        return "body is not JSON"
    status = body.get("status") if isinstance(body, dict) else None
    if set(body) != {"status"} or not isinstance(status, dict):
        return "not a status body"
    if set(status) != {"code", "info", "reason", "status"}:
        return f"status keys {sorted(status)}"
    if (
        status["code"] != -1
        or status["status"] != 1
        or not isinstance(status["info"], str)
        or not status["info"]
    ):
        return f"status fields {status}"
    if status["reason"] != "MICROSERVICE_BAD_DATA":
        return f"reason {status['reason']}"
    return None


def run_rest(client: Any, path: str, requests: Iterator[BadRequest]) -> tuple[int, list[str]]:
    count, failures = 0, []
    for bad in requests:
        count += 1
        response = bad.send(client, path)
        problem = seldon_status_problem(response)
        if problem is not None:
            failures.append(
                f"{problem}: {bad.what} -> {response.status_code} {response.data[:200]!r}"
            )
    return count, failures


@pytest.fixture(scope="module")
def identity_client(rest: Any) -> Any:
    return rest(models.Identity())


@pytest.mark.parametrize("path", PREDICT_ROUTES)
def test_generated_bad_requests_are_4xx_seldon_status(identity_client: Any, path: str) -> None:
    seed = 1000 + PREDICT_ROUTES.index(path)
    count, failures = run_rest(identity_client, path, Generator(seed).requests(PER_ROUTE))
    assert count >= PER_ROUTE
    assert not failures, f"{len(failures)} of {count} bad requests to {path}:\n" + "\n".join(
        failures[:15]
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300)
@given(
    json_values.filter(lambda v: not (isinstance(v, dict) and any(k in v for k in PAYLOAD_KEYS)))
)
def test_arbitrary_json_without_a_payload_is_400(identity_client: Any, value: Any) -> None:
    response = identity_client.post(
        "/predict", data=json.dumps(value), content_type="application/json"
    )
    assert seldon_status_problem(response) is None, response.data


# Wrong types inside meta. The original crashed (500) on most, or echoed them into a reply the
# executor could not parse; they are the client's mistake: 400.
BAD_META = [
    {"tags": "ab"},
    {"tags": 5},
    {"tags": ["x"]},
    {"tags": [["a", 1]]},
    {"metrics": 5},
    {"metrics": "ab"},
    {"metrics": {"a": 1}},
    {"metrics": [1]},
    {"requestPath": ["a"]},
    {"requestPath": "ab"},
    {"requestPath": 3},
    {"puid": 5},
    {"puid": {"a": 1}},
    {"routing": "x"},
]
META_ROUTES = ["/predict", "/transform-input", "/transform-output", "/route", "/aggregate"]


class AllHooks(models.Transformer, models.Router):
    def predict(self, X: Any, names: Any) -> Any:
        return X

    def aggregate(self, features_list: Any, names_list: Any) -> Any:
        return features_list[0]


@pytest.mark.parametrize("path", META_ROUTES)
@pytest.mark.parametrize("meta", BAD_META, ids=[json.dumps(m) for m in BAD_META])
def test_wrong_meta_types_are_400(rest: Any, path: str, meta: dict[str, Any]) -> None:
    body: Any = {"data": {"ndarray": [[1, 2]]}, "meta": meta}
    response = rest(AllHooks()).post(path, json=[body] if path == "/aggregate" else body)
    problem = seldon_status_problem(response)
    assert problem is None, f"{problem}: {response.status_code} {response.data!r}"


def test_null_meta_fields_are_absent_fields(rest: Any) -> None:
    body = {"data": {"ndarray": [1]}, "meta": {"tags": None, "metrics": None, "puid": None}}
    response = rest(AllHooks()).post("/predict", json=body)
    assert response.data == b'{"data":{"names":[],"ndarray":[1]},"meta":{}}\n'


@pytest.mark.parametrize("size", ["9223372036854775807", "1099511627776"])
def test_huge_tftensor_shape_is_400(identity_client: Any, size: str) -> None:
    tensor = {"dtype": "DT_FLOAT", "tensorShape": {"dim": [{"size": size}, {"size": size}]}}
    response = identity_client.post("/predict", json={"data": {"tftensor": tensor}})
    assert seldon_status_problem(response) is None, response.data


def test_tftensor_content_of_odd_length_is_400(identity_client: Any) -> None:
    tensor = {"dtype": "DT_FLOAT", "tensorShape": {"dim": [{"size": "2"}]}, "tensorContent": "AQ=="}
    response = identity_client.post("/predict", json={"data": {"tftensor": tensor}})
    assert seldon_status_problem(response) is None, response.data


# -- gRPC -------------------------------------------------------------------------------------

BAD_CODES = (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN)


@pytest.fixture(scope="module")
def identity_grpc(module_grpc_server: Any) -> Any:
    return module_grpc_server(models.Identity())


def raw_predict(handle: Any) -> Callable[..., Any]:
    """Model/Predict sending bytes as they are: the server must parse them itself."""
    return handle.channel.unary_unary(
        "/seldon.protos.Model/Predict", request_serializer=None, response_deserializer=None
    )


VALID_MESSAGES = [
    json_format.ParseDict(body, pb.SeldonMessage()).SerializeToString()
    for body in (
        {
            "data": {"tensor": {"shape": [2, 2], "values": [1, 2, 3, 4]}},
            "meta": {"puid": "p", "tags": {"a": 1}},
        },
        {"data": {"names": ["a"], "ndarray": [[1, 2], [3, 4]]}},
        {"strData": "hello", "meta": {"requestPath": {"a": "b"}, "routing": {"r": 1}}},
        {"jsonData": {"a": [1, "x"]}},
        {"binData": "AAEC"},
    )
]


def garbage(rng: random.Random) -> bytes:
    """Random bytes, or a valid SeldonMessage with bytes flipped, cut, inserted or repeated."""
    if rng.random() < 0.4:
        return bytes(rng.randrange(256) for _ in range(rng.randint(1, 60)))
    buf = bytearray(rng.choice(VALID_MESSAGES))
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(4)
        position = rng.randrange(len(buf))
        if op == 0:
            buf[position] = rng.randrange(256)
        elif op == 1:
            del buf[position:]
            if not buf:
                buf.append(rng.randrange(256))
        elif op == 2:
            buf[position:position] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 5)))
        else:
            buf += buf[position:]
    return bytes(buf)


def run_grpc(
    call: Callable[..., Any], payloads: Iterator[bytes], allowed: Callable[[grpc.StatusCode], bool]
) -> tuple[int, list[str]]:
    """Send every payload; a reply (StatusCode.OK) or an error code is checked by `allowed`."""
    count, failures = 0, []
    for payload in payloads:
        count += 1
        try:
            call(payload, timeout=10)
        except grpc.RpcError as error:
            code, details = error.code(), error.details()
        else:
            code, details = grpc.StatusCode.OK, ""
        if not allowed(code):
            failures.append(f"{code.name} {details!r} for {payload[:80]!r}")
    return count, failures


def test_grpc_undecodable_bytes_are_never_internal(identity_grpc: Any) -> None:
    rng = random.Random(7)
    payloads = (garbage(rng) for _ in range(PER_ROUTE))
    count, failures = run_grpc(
        raw_predict(identity_grpc), payloads, lambda code: code not in BAD_CODES
    )
    assert count >= PER_ROUTE
    assert not failures, f"{len(failures)} of {count}:\n" + "\n".join(failures[:10])


def bad_proto(rng: random.Random) -> pb.SeldonMessage:
    """A SeldonMessage that parses but carries data no model can take."""
    message = pb.SeldonMessage()
    if rng.random() < 0.3:
        message.meta.puid = "p"
    choice = rng.randrange(7)
    if choice == 0:  # no payload at all
        if rng.random() < 0.5:
            message.meta.tags["a"].number_value = 1
    elif choice == 1:  # tensor values do not fit the shape
        shape = [rng.randint(1, 4) for _ in range(rng.randint(1, 3))]
        size = 1
        for dim in shape:
            size *= dim
        message.data.tensor.shape.extend(shape)
        message.data.tensor.values.extend(
            [rng.random()] * (size + rng.choice([-1, 1, 3]) if size > 1 else 2)
        )
    elif choice == 2:  # negative or huge shapes
        message.data.tensor.shape.extend(
            rng.choice([[-1], [-2, 3], [2**31 - 1, 2**31 - 1], [65536, 65536, 65536]])
        )
        message.data.tensor.values.extend([1.0, 2.0])
    elif choice == 3:  # ragged ndarray
        rows = [[rng.random() for _ in range(rng.randint(1, 3))] for _ in range(rng.randint(2, 4))]
        rows[-1] = rows[0] + [1.0]
        message.data.ndarray.extend(rows)
    elif choice == 4:  # ragged one level down
        message.data.ndarray.extend([[[1.0, 2.0]], [[1.0]]])
    elif choice == 5:  # tftensor content with more whole elements than the shape holds
        tensor = message.data.tftensor
        tensor.dtype, width = rng.choice(
            [(1, 4), (2, 8), (3, 4), (9, 8)]
        )  # float, double, int32, int64
        size = rng.randint(1, 4)
        tensor.tensor_shape.dim.add().size = size
        tensor.tensor_content = bytes(
            rng.randrange(256) for _ in range((size + rng.randint(1, 3)) * width)
        )
    else:  # tftensor: unsupported dtype, negative or huge dimension, or a partial element
        tensor = message.data.tftensor
        kind = rng.randrange(4)
        if kind == 0:
            tensor.dtype = rng.choice([0, 20, 21, 14, 101])  # invalid, resource, variant, bf16, ref
        elif kind == 1:
            tensor.dtype = 1
            tensor.tensor_shape.dim.add().size = -rng.randint(1, 9)
        elif kind == 2:
            tensor.dtype = rng.choice([1, 7, 10])  # float, string, bool
            for _ in range(2):
                tensor.tensor_shape.dim.add().size = rng.choice([2**40, 2**62, 2**63 - 1])
        else:
            tensor.dtype, width = rng.choice([(1, 4), (2, 8), (3, 4), (9, 8)])
            tensor.tensor_shape.dim.add().size = 2
            tensor.tensor_content = bytes(rng.randrange(256) for _ in range(2 * width - 1))
    return message


def test_grpc_bad_messages_are_invalid_argument(identity_grpc: Any) -> None:
    rng = random.Random(11)
    payloads = (bad_proto(rng).SerializeToString() for _ in range(PER_ROUTE))
    count, failures = run_grpc(
        raw_predict(identity_grpc), payloads, lambda code: code == grpc.StatusCode.INVALID_ARGUMENT
    )
    assert count >= PER_ROUTE
    assert not failures, f"{len(failures)} of {count}:\n" + "\n".join(failures[:10])


def test_grpc_huge_tftensor_is_invalid_argument(identity_grpc: Any) -> None:
    message = pb.SeldonMessage()
    message.data.tftensor.dtype = 1
    for _ in range(2):
        message.data.tftensor.tensor_shape.dim.add().size = 2**40  # never allocatable
    with pytest.raises(grpc.RpcError) as info:
        identity_grpc.model.Predict(message, timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_grpc_tftensor_content_of_odd_length_is_invalid_argument(identity_grpc: Any) -> None:
    message = pb.SeldonMessage()
    message.data.tftensor.dtype = 1  # DT_FLOAT
    message.data.tftensor.tensor_shape.dim.add().size = 2
    message.data.tftensor.tensor_content = b"\x01"
    with pytest.raises(grpc.RpcError) as info:
        identity_grpc.model.Predict(message, timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_grpc_ragged_struct_values_do_not_crash(identity_grpc: Any) -> None:
    message = pb.SeldonMessage()
    message.data.ndarray.extend([[1.0, 2.0], struct_pb2.Struct()])
    with pytest.raises(grpc.RpcError) as info:
        identity_grpc.model.Predict(message, timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
