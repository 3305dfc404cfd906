"""The benchmark payloads and the exact replies an identity model must give, built independently."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
from google.protobuf import json_format

from seldon_server.proto import prediction_pb2


@dataclass(frozen=True)
class Payload:
    """One request kind: its REST body and gRPC message, and what the server must answer."""

    name: str
    rest_body: bytes
    rest_reply: Any  # the parsed JSON reply expected from our REST server
    grpc_request: Any  # SeldonMessage
    grpc_reply: Any  # SeldonMessage expected from our gRPC server


def _values(rows: int, cols: int, seed: int) -> list[list[float]]:
    # Full-precision doubles in [0.1, 10): typical features, and none printed in exponent form
    # (the REST encoder takes a slower path for those; bench/profile_hotpath.py measures it).
    rng = np.random.default_rng(seed)
    values: list[list[float]] = rng.uniform(0.1, 10.0, size=(rows, cols)).tolist()
    return values


def _build(name: str, request: dict[str, Any], reply_data: dict[str, Any]) -> Payload:
    reply = {"data": reply_data, "meta": {}}
    return Payload(
        name=name,
        rest_body=orjson.dumps(request),
        rest_reply=reply,
        grpc_request=json_format.ParseDict(request, prediction_pb2.SeldonMessage()),
        grpc_reply=json_format.ParseDict(reply, prediction_pb2.SeldonMessage()),
    )


def ndarray(rows: int, cols: int) -> Payload:
    values = _values(rows, cols, seed=rows * 1000 + cols)
    names = [f"t:{i}" for i in range(cols)]
    return _build(
        f"ndarray {rows}x{cols}",
        {"data": {"ndarray": values}},
        {"names": names, "ndarray": values},
    )


def tensor(rows: int, cols: int) -> Payload:
    flat = [v for row in _values(rows, cols, seed=7) for v in row]
    names = [f"t:{i}" for i in range(cols)]
    tensor_data = {"shape": [rows, cols], "values": flat}
    return _build(
        f"tensor {rows}x{cols}",
        {"data": {"tensor": tensor_data}},
        {"names": names, "tensor": tensor_data},
    )


def all_payloads() -> list[Payload]:
    """The three payloads of the targets: 1x10 ndarray (the ratio targets), 100x100, tensor."""
    return [ndarray(1, 10), ndarray(100, 100), tensor(1, 10)]


def floor_reply() -> bytes:
    """The Flask floor's fixed body: what our server answers for the 1x10 ndarray."""
    return orjson.dumps(ndarray(1, 10).rest_reply, option=orjson.OPT_SORT_KEYS) + b"\n"
