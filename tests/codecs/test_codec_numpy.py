"""Nested lists and tensor values -> numpy, with client mistakes reported as bad data."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from seldon_server.codecs import numpy as np_codec
from seldon_server.errors import BadDataError


@pytest.mark.parametrize(
    ("values", "dtype"),
    [
        ([[1, 2]], np.int64),
        ([[1.0, 2]], np.float64),
        ([True, 2], np.int64),
        (["a", "bc"], np.dtype("<U2")),
        ([True, False], np.bool_),
        ([], np.float64),
    ],
)
def test_from_nested_uses_numpy_inference(values: list[Any], dtype: Any) -> None:
    assert np_codec.from_nested(values).dtype == dtype


@pytest.mark.parametrize("values", [[[1], [1, 2]], [1, [2]], [[1, 2], [[3], [4]]]])
def test_ragged_is_bad_data(values: list[Any]) -> None:
    with pytest.raises(BadDataError, match="Invalid ndarray"):
        np_codec.from_nested(values)


def test_from_tensor_reshapes_and_keeps_ints() -> None:
    array = np_codec.from_tensor([2, 2], [1, 2, 3, 4])
    assert array.dtype == np.int64 and array.tolist() == [[1, 2], [3, 4]]
    assert np_codec.from_tensor([0], []).shape == (0,)
    assert np_codec.from_tensor([], [5]).shape == ()
    # numpy infers one -1 dimension, as the original's reshape did.
    assert np_codec.from_tensor([-1, 2], [1, 2, 3, 4]).shape == (2, 2)
    # Nested values are reshaped too, when their size fits (numpy reshape, as the original).
    assert np_codec.from_tensor([1], [[1]]).tolist() == [1]
    assert np_codec.from_tensor([4], [[1, 2], [3, 4]]).tolist() == [1, 2, 3, 4]
    assert np_codec.from_tensor([1, 2], [[1, 2]]).tolist() == [[1, 2]]


@pytest.mark.parametrize(
    ("shape", "values"),
    [
        ([3], [1, 2]),
        ([2], [1, 2, 3]),
        ([0, -1], [1, 2]),
        ([-1, -1], [1, 2]),
        ([2**40, 2**40], [1]),
        (["2"], [1, 2]),
        ([1.5], [1]),
        (None, [1]),
        ([1], None),
        ([2], [[1]]),
        ([3], [[1], [2, 3]]),
        ([2], [1, "a", [2]]),
        ({"a": 1}, [1]),
    ],
)
def test_from_tensor_rejects_values_that_do_not_fit(shape: Any, values: Any) -> None:
    with pytest.raises(BadDataError):
        np_codec.from_tensor(shape, values)


@pytest.mark.parametrize(
    ("array", "numeric"),
    [
        (np.array([1]), True),
        (np.array([1.5]), True),
        (np.array([1 + 2j]), True),
        (np.array([True]), False),
        (np.array(["a"]), False),
        (np.array([{}], dtype=object), False),
    ],
)
def test_is_numeric(array: np.ndarray, numeric: bool) -> None:
    assert np_codec.is_numeric(array) is numeric


def test_as_array_keeps_ragged_user_results_as_objects() -> None:
    array = np_codec.as_array([[1], [1, 2]])
    assert array.dtype == object and array.shape == (2,)
    same = np.arange(3)
    assert np_codec.as_array(same) is same
