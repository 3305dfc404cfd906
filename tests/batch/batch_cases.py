"""The data type x payload type cases shared by the echo-server and real-server matrices."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np

from seldon_server.batch import tftensor

LINES = 5


def _row(k: int) -> list[list[int]]:
    return [[k, k + 1, k + 2]]


def _tf_rows(payload: dict[str, Any]) -> list[Any]:
    array = tftensor.from_json(payload)
    assert array.dtype == np.int64  # integers travel as DT_INT64, as make_tensor_proto sends them
    return array.tolist()


# (data type, payload type) -> (input line for index k, the payload the request must carry,
# a function reading the rows back out of that payload)
CASES: dict[tuple[str, str], tuple[Callable[[int], str], str, Callable[[Any], Any]]] = {
    ("data", "ndarray"): (lambda k: json.dumps(_row(k)), "ndarray", lambda p: p),
    ("data", "tensor"): (
        lambda k: json.dumps(_row(k)),
        "tensor",
        lambda p: np.reshape(p["values"], p["shape"]).tolist(),
    ),
    ("data", "tftensor"): (lambda k: json.dumps(_row(k)), "tftensor", _tf_rows),
    ("json", "ndarray"): (lambda k: json.dumps({"a": [k, "x"]}), "jsonData", lambda p: p),
    ("str", "ndarray"): (lambda k: json.dumps(f"line {k}"), "strData", lambda p: p),
    ("raw", "ndarray"): (
        lambda k: json.dumps(
            {"data": {"names": ["a", "b", "c"], "ndarray": _row(k)}, "meta": {"tags": {"who": k}}}
        ),
        "ndarray",
        lambda p: p,
    ),
    ("raw", "tensor"): (
        lambda k: json.dumps({"data": {"tensor": {"shape": [1, 3], "values": _row(k)[0]}}}),
        "tensor",
        lambda p: np.reshape(p["values"], p["shape"]).tolist(),
    ),
}


def expected(data_type: str, k: int) -> Any:
    if data_type == "json":
        return {"a": [k, "x"]}
    if data_type == "str":
        return f"line {k}"
    return _row(k)


def payload(message: dict[str, Any], key: str) -> Any:
    return message[key] if key in ("jsonData", "strData") else message["data"][key]
