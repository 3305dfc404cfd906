"""The user-facing custom metric format: constructors, validation and type names (no prometheus)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal

MetricType = Literal["COUNTER", "GAUGE", "TIMER"]

COUNTER: Final = "COUNTER"
GAUGE: Final = "GAUGE"
TIMER: Final = "TIMER"
METRIC_TYPES: Final[frozenset[str]] = frozenset((COUNTER, GAUGE, TIMER))

# Feedback counters recorded by the server itself (the original's names and labels).
FEEDBACK_KEY: Final = "seldon_api_model_feedback"
FEEDBACK_REWARD_KEY: Final = "seldon_api_model_feedback_reward"


def _check_number(value: Any) -> None:
    """Raise TypeError unless `value + 1` works, the original's test for a number."""
    try:
        value + 1
    except TypeError as exc:
        raise TypeError(f"metric value must be a number, got {type(value).__name__}") from exc


def create_counter(key: str, value: float) -> dict[str, Any]:
    """A COUNTER metric: `value` is added to the running total of `key`.

    Raises:
        TypeError: `value` is not a number.
    """
    _check_number(value)
    return {"key": key, "type": COUNTER, "value": value}


def create_gauge(key: str, value: float) -> dict[str, Any]:
    """A GAUGE metric: `value` replaces the current value of `key` (last value wins).

    Raises:
        TypeError: `value` is not a number.
    """
    _check_number(value)
    return {"key": key, "type": GAUGE, "value": value}


def create_timer(key: str, value: float) -> dict[str, Any]:
    """A TIMER metric: `value` is a duration in milliseconds, observed into a histogram.

    Raises:
        TypeError: `value` is not a number.
    """
    _check_number(value)
    return {"key": key, "type": TIMER, "value": value}


def _valid_metric(metric: Any) -> bool:
    if not isinstance(metric, Mapping):
        return False
    if not ("key" in metric and "value" in metric and "type" in metric):
        return False
    if metric["type"] not in METRIC_TYPES:
        return False
    # Stricter than the original, which failed later with a bare 500 on non-dict tags.
    if metric.get("tags") is not None and not isinstance(metric["tags"], Mapping):
        return False
    try:
        metric["value"] + 1
    except (TypeError, ValueError):
        return False
    return True


def validate_metrics(metrics: Any) -> bool:
    """True when `metrics` is a list of `{"key", "type", "value"[, "tags"]}` dicts.

    `type` must be COUNTER, GAUGE or TIMER and `value + 1` must not raise.
    """
    return isinstance(metrics, list) and all(_valid_metric(m) for m in metrics)
