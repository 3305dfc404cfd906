"""The custom metric constructors and validation, as the original's user contract."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from seldon_server.custom_metrics import (
    COUNTER,
    GAUGE,
    TIMER,
    create_counter,
    create_gauge,
    create_timer,
    validate_metrics,
)


@pytest.mark.parametrize(
    ("create", "kind"), [(create_counter, COUNTER), (create_gauge, GAUGE), (create_timer, TIMER)]
)
def test_constructors(create: Any, kind: str) -> None:
    assert create("mykey", 2.5) == {"key": "mykey", "type": kind, "value": 2.5}
    assert create("mykey", 3)["value"] == 3
    assert create("mykey", np.float32(1.5))["value"] == 1.5
    for bad in ("1", None, [1], {"v": 1}):
        with pytest.raises(TypeError, match="must be a number"):
            create("mykey", bad)


def test_type_names_are_the_wire_names() -> None:
    assert (COUNTER, GAUGE, TIMER) == ("COUNTER", "GAUGE", "TIMER")


@pytest.mark.parametrize(
    "metrics",
    [
        [],
        [create_counter("a", 1), create_gauge("b", -2.0), create_timer("c", 0)],
        [{"key": "a", "type": "COUNTER", "value": 1, "tags": {"x": "y"}}],
        [{"key": "a", "type": "GAUGE", "value": 1, "tags": None}],
        [{"key": "a", "type": "TIMER", "value": True}],
    ],
)
def test_valid_metrics(metrics: Any) -> None:
    assert validate_metrics(metrics) is True


@pytest.mark.parametrize(
    "metrics",
    [
        None,
        {"key": "a", "type": "COUNTER", "value": 1},
        ({"key": "a", "type": "COUNTER", "value": 1},),
        [{"type": "COUNTER", "value": 1}],
        [{"key": "a", "value": 1}],
        [{"key": "a", "type": "COUNTER"}],
        [{"key": "a", "type": "counter", "value": 1}],
        [{"key": "a", "type": "HISTOGRAM", "value": 1}],
        [{"key": "a", "type": "COUNTER", "value": "1"}],
        [{"key": "a", "type": "COUNTER", "value": None}],
        [{"key": "a", "type": "COUNTER", "value": 1, "tags": ["x"]}],
        [create_counter("a", 1), "COUNTER"],
    ],
)
def test_invalid_metrics(metrics: Any) -> None:
    assert validate_metrics(metrics) is False
