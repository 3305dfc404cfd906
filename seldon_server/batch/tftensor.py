"""Batch-side tftensor helpers over the shared codec: the JSON form both ways, rows split apart."""

from __future__ import annotations

from typing import Any

import numpy as np

from seldon_server.codecs import tftensor as codec
from seldon_server.errors import BadDataError as TensorError

__all__ = ["TensorError", "from_json", "split_rows", "to_json"]


def to_json(array: np.ndarray, packed: bool | None = None) -> dict[str, Any]:
    """The proto-JSON dict of an array's TensorProto, as REST `data.tftensor` carries it.

    `packed` forces raw bytes (True) or typed values (False); None follows make_tensor_proto.
    """
    return codec.to_json(codec.from_array(array, packed))


def from_json(obj: Any) -> np.ndarray:
    """Decode the proto-JSON dict of a TensorProto."""
    return codec.to_array(codec.from_json(obj))


def split_rows(obj: Any, count: int) -> list[dict[str, Any]]:
    """Split a tftensor along its first axis into `count` tensors of first dimension 1."""
    array = from_json(obj)
    if array.ndim == 0 or array.shape[0] != count:
        raise TensorError(f"the response tftensor has shape {list(array.shape)}, not {count} rows")
    # Keep the server's style (packed bytes or typed values) so each row looks as if sent alone.
    packed = not isinstance(obj, dict) or "tensorContent" in obj
    rows = [to_json(array[i : i + 1], packed) for i in range(count)]
    if isinstance(obj, dict):  # keep the server's key order (a REST server sorts them)
        rank = {key: n for n, key in enumerate(obj)}
        rows = [dict(sorted(row.items(), key=lambda item: rank.get(item[0], 99))) for row in rows]
    return rows
