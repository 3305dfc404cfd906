"""Nested lists and tensor values <-> numpy arrays, with client mistakes reported as bad data."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from seldon_server.errors import BadDataError

EMPTY = np.array([])


def from_nested(values: Any) -> np.ndarray:
    """numpy's own dtype inference (all ints -> int64, mixed -> float, strings -> unicode)."""
    try:
        return np.array(values)
    except (ValueError, TypeError, OverflowError) as exc:
        raise BadDataError(f"Invalid ndarray: {exc}") from exc


def from_tensor(shape: Any, values: Any) -> np.ndarray:
    """A tensor's flat values reshaped; values keep their JSON type (ints stay ints)."""
    if not isinstance(values, list) or not isinstance(shape, list):
        raise BadDataError("Invalid tensor: 'shape' and 'values' must be lists")
    array = from_nested(values)
    try:
        return array.reshape(shape)
    except (ValueError, TypeError) as exc:
        raise BadDataError(f"Invalid tensor: {exc}") from exc


_NUMERIC: dict[np.dtype[Any], bool] = {}


def is_numeric(array: np.ndarray) -> bool:
    """Numeric results echo the request's encoding; others (str, bool, object) go as ndarray."""
    numeric = _NUMERIC.get(array.dtype)
    if numeric is None:
        numeric = _NUMERIC[array.dtype] = bool(np.issubdtype(array.dtype, np.number))
    return numeric


# What an ndarray or a tensor payload would garble, by numpy kind.
_GARBLED = {
    "c": "their imaginary parts have no place there (a tftensor holds them)",
    "m": "durations would lose their unit (convert them to numbers first)",
}


def check_plain(array: np.ndarray, encoding: str) -> None:
    """Bad data for a non-empty reply array that an ndarray or tensor cannot hold faithfully."""
    problem = _GARBLED.get(array.dtype.kind)
    if problem is not None and array.size:
        raise BadDataError(f"Cannot encode dtype {array.dtype} as {encoding}: {problem}")


def as_array(value: Any) -> np.ndarray:
    """The numpy view of a hook's list or array result."""
    if isinstance(value, np.ndarray):
        return value
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.array(value)
    except (ValueError, TypeError):
        # A ragged list returned by user code: keep it as an object array (encoded as given).
        return _object_array(value)


def _object_array(value: list[Any]) -> np.ndarray:
    array = np.empty(len(value), dtype=object)
    for index, item in enumerate(value):
        array[index] = item
    return array
