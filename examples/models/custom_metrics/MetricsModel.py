"""A model that reports custom Prometheus metrics and tags, static and per request."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from seldon_server import (
    SeldonMicroserviceException,
    SeldonResponse,
    create_counter,
    create_gauge,
    create_timer,
)


class MetricsModel:
    """Doubles its input and reports, on each prediction:

    - runtime metrics (returned in a SeldonResponse, so they apply to this response only): a
      counter of rows seen, a gauge of the last batch's mean value and a timer of the call in ms;
    - static metrics from `metrics()` (a counter of calls) and tags from `tags()`.
    Metric keys become Prometheus series on the metrics port (`/metrics`).
    """

    def __init__(self, version: str = "v1") -> None:
        self.version = version

    def predict(self, X: Any, features_names: list[str], meta: dict[str, Any] | None = None) -> Any:
        started = time.perf_counter()
        features = np.atleast_2d(_as_floats(X))
        result = features * 2
        rows = int(features.shape[0])
        metrics = [
            create_counter("example_rows_total", rows),
            create_gauge("example_last_mean", float(features.mean()) if features.size else 0.0),
            create_timer("example_predict_time", (time.perf_counter() - started) * 1000),
        ]
        return SeldonResponse(result, tags={"rows": rows}, metrics=metrics)

    def metrics(self) -> list[dict[str, Any]]:
        # A metric may carry Prometheus labels in "tags" (string values).
        return [{**create_counter("example_calls_total", 1), "tags": {"version": self.version}}]

    def tags(self) -> dict[str, Any]:
        return {"model_version": self.version}


def _as_floats(values: Any) -> np.ndarray:
    """The request payload as floats; anything else is the client's mistake (HTTP 400)."""
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SeldonMicroserviceException(f"expected numbers: {exc}", status_code=400) from exc
