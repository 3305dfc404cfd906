"""Thousands of generated bad payloads per predict route: always a 4xx Seldon status, never a 5xx.

Payloads come from a seeded generator (reproducible, fast) plus hypothesis for arbitrary JSON.
A failure lists the first offending requests with what came back. "Bad" follows the original
server: what it answered normally (a `data` list or string without an encoding in it, `names` of
any type, nested tensor values that reshape, odd meta values with nothing to merge into them) is
not generated here; the meta cases are pinned down with exact bodies below.
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
ENCODINGS = ("tensor", "ndarray", "tftensor")


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
        # A list or string without "tensor"/"ndarray"/"tftensor" in it is an empty array (the
        # original's `"tensor" in data` probes); with one in it, or any other type, it is bad.
        r = self.rng
        choice = r.randrange(3)
        if choice == 0:
            data: Any = r.choice(
                [None, True, False, 0, r.randint(-(2**70), 2**70), r.uniform(-1e6, 1e6)]
            )
        elif choice == 1:
            data = [self.value() for _ in range(r.randint(0, 3))]
            data.insert(r.randint(0, len(data)), r.choice(ENCODINGS))
        else:
            text = "".join(r.choice(string.printable) for _ in range(r.randint(0, 6)))
            cut = r.randint(0, len(text))
            data = text[:cut] + r.choice(ENCODINGS) + text[cut:]
        return {"data": data, **self.maybe_meta()}

    def names_do_not_rescue(self) -> Any:
        # names of any type are passed through, so an odd one next to a bad payload stays bad
        body = self.rng.choice([self.ragged, self.bad_tensor, self.bad_tftensor])()
        data = body["data"]
        if isinstance(data, dict):
            data["names"] = self.value()
        return body

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
        elif choice == 6:  # nested values (numpy reshapes those that fit: these never do)
            if r.random() < 0.5:  # one value too many
                values = [values + [1]] if r.random() < 0.5 else [[v] for v in values] + [[1]]
            else:  # ragged nesting
                values = [values, values[:1] + [values[0], 1]] if size > 1 else [[1], [1, 2]]
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
        if r.random() < 0.5:
            meta: Any = r.choice([[], [1], "meta", "", 3, 0, 2.5, True, False, ["puid", "x"]])
        else:
            # requestPath is merged into every reply: one that is not an object is bad. (Odd
            # tags, metrics, puid and routing are echoed when the model adds nothing to them, as
            # the original did; a falsy requestPath is checked in its own test below.)
            bad = r.choice(["ab", 3, 2.5, ["a"], [["a", "b"]], True])
            odd = r.choice([{}, {"tags": ["x"]}, {"metrics": "ab"}, {"puid": 5}])
            meta = {"puid": "p", **odd, "requestPath": bad}
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
                self.names_do_not_rescue,
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


def seldon_status_problem(response: Any, status: int = 400) -> str | None:
    """Why a response is not a Seldon status body with HTTP `status` and reason
    MICROSERVICE_BAD_DATA, or None."""
    if response.status_code != status:
        return f"HTTP {response.status_code}, not {status}"
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


def expected_status(bad: BadRequest, path: str) -> int:
    """/predict takes GET and POST; the /api/ routes only POST (the original's route table)."""
    return 405 if bad.method == "GET" and path != "/predict" else 400


def run_rest(client: Any, path: str, requests: Iterator[BadRequest]) -> tuple[int, list[str]]:
    count, failures = 0, []
    for bad in requests:
        count += 1
        response = bad.send(client, path)
        problem = seldon_status_problem(response, expected_status(bad, path))
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


# Odd values inside meta. The original echoed them back when it had nothing to merge into them
# (reference cases r2_identity_meta_*), and crashed (500) where it merged: dict.update on
# meta.tags, list.extend on meta.metrics, {**requestPath}. Those are the client's mistake: 400.
ODD_META = [
    {"tags": "ab"},
    {"tags": 5},
    {"tags": ["x"]},
    {"tags": [["a", 1]]},
    {"tags": True},
    {"metrics": 5},
    {"metrics": "ab"},
    {"metrics": {"a": 1}},
    {"metrics": True},
    {"metrics": [1]},
    {"metrics": ["x"]},
    {"puid": 5},
    {"puid": {"a": 1}},
    {"puid": ["p"]},
    {"puid": 1.5},
    {"routing": "x"},
    {"routing": ["r"]},
]
BAD_REQUEST_PATH = [["a"], "ab", 3, 2.5, True, [["a", "b"]]]
FALSY_NON_OBJECTS = [False, 0, "", []]
SINGLE_ROUTES = ["/predict", "/transform-input", "/transform-output"]
# The reply's data for {"data": {"ndarray": [[1, 2]]}} on each route of AllHooks.
ROUTE_DATA = {
    "/predict": {"names": ["t:0", "t:1"], "ndarray": [[1, 2]]},
    "/transform-input": {"names": ["t:0", "t:1"], "ndarray": [[2, 4]]},
    "/transform-output": {"names": ["t:0", "t:1"], "ndarray": [[2, 3]]},
    "/route": {"names": ["t:0"], "ndarray": [[22]]},
    "/aggregate": {"names": ["t:0", "t:1"], "ndarray": [[1, 2]]},
}


class AllHooks(models.Transformer, models.Router):
    def predict(self, X: Any, names: Any) -> Any:
        return X

    def aggregate(self, features_list: Any, names_list: Any) -> Any:
        return features_list[0]


class TagsOnly:
    def predict(self, X: Any, names: Any) -> Any:
        return X

    def tags(self) -> dict[str, Any]:
        return {"m": 1}


class MetricsOnly:
    def predict(self, X: Any, names: Any) -> Any:
        return X

    def metrics(self) -> list[dict[str, Any]]:
        return [{"key": "c", "type": "COUNTER", "value": 1}]


def post_with_meta(client: Any, path: str, meta: Any) -> Any:
    body: Any = {"data": {"ndarray": [[1, 2]]}, "meta": meta}
    return client.post(path, json=[body] if path == "/aggregate" else body)


def compact(value: Any) -> bytes:
    return (json.dumps(value, sort_keys=True, separators=(",", ":")) + "\n").encode()


def info(response: Any) -> str:
    assert seldon_status_problem(response) is None, f"{response.status_code} {response.data!r}"
    return json.loads(response.data)["status"]["info"]


def _merged_by_aggregate(odd: dict[str, Any]) -> bool:
    """aggregate merges every input's tags and metrics: see the test below."""
    return "tags" in odd or not isinstance(odd.get("metrics", []), list)


ECHO_CASES = [
    pytest.param(path, odd, id=f"{json.dumps(odd)}-{path}")
    for odd in ODD_META
    for path in [*SINGLE_ROUTES, "/route", "/aggregate"]
    if not (path == "/aggregate" and _merged_by_aggregate(odd))
]


@pytest.mark.parametrize(("path", "odd"), ECHO_CASES)
def test_odd_meta_is_echoed_when_nothing_is_merged(
    rest: Any, path: str, odd: dict[str, Any]
) -> None:
    meta = {"puid": "p", **odd}
    response = post_with_meta(rest(AllHooks()), path, meta)
    # routing is never echoed; a route reply carries only the request's puid.
    expected = {k: v for k, v in meta.items() if k != "routing"}
    if path == "/route":
        expected = {"puid": meta["puid"]}
    assert response.status_code == 200, response.data
    assert response.data == compact({"data": ROUTE_DATA[path], "meta": expected})


@pytest.mark.parametrize(
    "odd",
    [
        {"tags": "ab"},
        {"tags": 5},
        {"tags": ["x"]},
        {"tags": True},
        {"metrics": 5},
        {"metrics": True},
    ],
    ids=json.dumps,
)
def test_aggregate_inputs_whose_meta_cannot_be_merged_are_400(
    rest: Any, odd: dict[str, Any]
) -> None:
    # The original's merge_meta/merge_metrics failed on these (dict.update, list.extend).
    ((field, value),) = odd.items()
    response = post_with_meta(rest(AllHooks()), "/aggregate", {"puid": "p", **odd})
    assert info(response) == f"Invalid meta.{field}: {value}"


@pytest.mark.parametrize("tags", ["ab", 5, ["x"], [["a", 1]], True], ids=json.dumps)
def test_odd_tags_are_400_when_the_model_adds_tags(rest: Any, tags: Any) -> None:
    response = post_with_meta(rest(TagsOnly()), "/predict", {"puid": "p", "tags": tags})
    assert info(response) == f"Invalid meta.tags: {tags}"
    # ... and echoed by a model that adds metrics but no tags
    response = post_with_meta(rest(MetricsOnly()), "/predict", {"puid": "p", "tags": tags})
    assert response.data == compact(
        {
            "data": ROUTE_DATA["/predict"],
            "meta": {
                "metrics": [{"key": "c", "type": "COUNTER", "value": 1}],
                "puid": "p",
                "tags": tags,
            },
        }
    )


@pytest.mark.parametrize("metrics", [5, "ab", {"a": 1}, True], ids=json.dumps)
def test_non_list_metrics_are_400_when_the_model_adds_metrics(rest: Any, metrics: Any) -> None:
    response = post_with_meta(rest(MetricsOnly()), "/predict", {"puid": "p", "metrics": metrics})
    assert info(response) == f"Invalid meta.metrics: {metrics}"
    # ... and echoed by a model that adds tags but no metrics
    response = post_with_meta(rest(TagsOnly()), "/predict", {"puid": "p", "metrics": metrics})
    assert response.data == compact(
        {
            "data": ROUTE_DATA["/predict"],
            "meta": {"metrics": metrics, "puid": "p", "tags": {"m": 1}},
        }
    )


def test_odd_metric_items_are_kept_when_the_model_adds_metrics(rest: Any) -> None:
    # list + list, as the original's metrics.extend: the items are not checked.
    response = post_with_meta(rest(MetricsOnly()), "/predict", {"metrics": [1, "x"]})
    assert response.data == compact(
        {
            "data": ROUTE_DATA["/predict"],
            "meta": {"metrics": [1, "x", {"key": "c", "type": "COUNTER", "value": 1}]},
        }
    )


@pytest.mark.parametrize("path", SINGLE_ROUTES)
@pytest.mark.parametrize("request_path", BAD_REQUEST_PATH, ids=json.dumps)
def test_non_object_request_path_is_400(rest: Any, path: str, request_path: Any) -> None:
    response = post_with_meta(rest(AllHooks()), path, {"puid": "p", "requestPath": request_path})
    assert info(response) == f"Invalid meta.requestPath: {request_path}"


@pytest.mark.parametrize("request_path", [["a"], "ab", 3, 2.5, True], ids=json.dumps)
def test_aggregate_inputs_with_a_non_object_request_path_are_400(
    rest: Any, request_path: Any
) -> None:
    body = {"puid": "p", "requestPath": request_path}
    response = post_with_meta(rest(AllHooks()), "/aggregate", body)
    assert info(response) == f"Invalid meta.requestPath: {request_path}"


@pytest.mark.parametrize("request_path", BAD_REQUEST_PATH, ids=json.dumps)
def test_route_ignores_the_request_path(rest: Any, request_path: Any) -> None:
    # The original's route reply carries only {PREDICTIVE_UNIT_ID: image} (router_tensor_req).
    response = post_with_meta(rest(AllHooks()), "/route", {"requestPath": request_path})
    assert response.data == compact({"data": ROUTE_DATA["/route"], "meta": {}})


# The original merged a falsy value as any other ({**False}, [].update and "".extend fail as
# {**"ab"} does), and the rule is "400 when a merge is needed": a falsy non-object is not an
# absent field (null is: see below). One test per field family, listing every miss.
def test_falsy_non_object_request_path_is_400(rest: Any) -> None:
    client = rest(AllHooks())
    misses = []
    for path in SINGLE_ROUTES:
        for request_path in FALSY_NON_OBJECTS:
            response = post_with_meta(client, path, {"puid": "p", "requestPath": request_path})
            if seldon_status_problem(response) is not None:
                misses.append(f"{path} requestPath={request_path!r}: {response.status_code}")
    assert not misses, "\n".join(misses)


def test_falsy_odd_tags_and_metrics_are_400_when_merged(rest: Any) -> None:
    cases = [(TagsOnly, {"tags": v}) for v in FALSY_NON_OBJECTS]
    cases += [(MetricsOnly, {"metrics": v}) for v in [False, 0, "", {}]]
    misses = []
    for model, odd in cases:
        response = post_with_meta(rest(model()), "/predict", {"puid": "p", **odd})
        if seldon_status_problem(response) is not None:
            misses.append(f"{model.__name__} {odd}: {response.status_code} {response.data!r}")
    assert not misses, "\n".join(misses)


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
