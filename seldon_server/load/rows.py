"""Which requests can share one predict call, and how their rows are joined and split."""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from seldon_server.codecs.message import Message
from seldon_server.errors import InternalError

# numpy kinds a batch may hold: booleans, integers, unsigned integers and floats.
_ROW_KINDS = frozenset("biuf")


def batch_key(request: Message) -> Hashable | None:
    """What requests must share to be joined (dtype, trailing shape, names); None: alone.

    Only numeric `data` arrays with at least one dimension and one row are joined: strings,
    JSON, bytes and scalars have no rows to concatenate.
    """
    value = request.value
    if request.kind != "data" or value.__class__ is not np.ndarray:
        return None
    if value.ndim == 0 or value.shape[0] == 0 or value.dtype.kind not in _ROW_KINDS:
        return None
    names = request.names
    if names.__class__ is not list or not all(name.__class__ is str for name in names):
        return None  # odd names (null, numbers, objects) are the model's to judge, alone
    return value.dtype.str, value.shape[1:], tuple(names)


def join(requests: Sequence[Message]) -> np.ndarray:
    """The requests' rows, in order, as one array (the requests share a batch key)."""
    if len(requests) == 1:
        return requests[0].value  # type: ignore[no-any-return]
    return np.concatenate([request.value for request in requests])


def split(result: Any, counts: Sequence[int]) -> list[Any]:
    """Each request's rows of a batched result, in order.

    Raises:
        InternalError: the result has no rows, or not one per row asked for.
    """
    total = sum(counts)
    if isinstance(result, list | tuple):  # split as it is: its items keep their own types
        if len(result) != total:
            raise _mismatch(len(result), total, len(counts))
        if len(counts) == 1:
            return [result]
        edges = [0, *itertools.accumulate(counts)]
        return [list(result[start:end]) for start, end in itertools.pairwise(edges)]
    rows: np.ndarray = result if isinstance(result, np.ndarray) else np.asarray(None)
    found = rows.shape[0] if rows.ndim else None
    if found != total:
        raise _mismatch(found, total, len(counts))
    if len(counts) == 1:
        return [result]
    bounds = np.cumsum(counts)[:-1]
    return np.split(rows, bounds)


def _mismatch(found: int | None, total: int, requests: int) -> InternalError:
    return InternalError(
        f"Batched predict returned {found if found is not None else 'no'} rows for the "
        f"{total} rows of {requests} requests; with --max-batch-size a model must answer "
        "one row per input row"
    )


def groups(keys: Sequence[Hashable | None], max_size: int) -> list[list[int]]:
    """Indices of requests called together: the same key, in order, up to `max_size` a call;
    a None key is a call of its own. Calls are ordered by their first request."""
    open_groups: dict[Hashable, list[int]] = {}
    calls: list[list[int]] = []
    for index, key in enumerate(keys):
        if key is None:
            calls.append([index])
            continue
        group = open_groups.get(key)
        if group is None or len(group) >= max_size:
            group = open_groups[key] = []
            calls.append(group)
        group.append(index)
    return calls
