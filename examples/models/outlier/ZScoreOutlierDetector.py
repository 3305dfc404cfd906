"""An outlier detector that tags each request with per-row z-score outlier scores."""

from __future__ import annotations

from typing import Any

import numpy as np

from seldon_server import SeldonMicroserviceException, SeldonResponse

# Iris feature means and standard deviations (cm), so the defaults fit the iris example's input.
DEFAULT_MEANS = "5.843,3.054,3.759,1.199"
DEFAULT_STDS = "0.825,0.432,1.759,0.761"


def _floats(text: str) -> np.ndarray:
    return np.array([float(part) for part in text.split(",")])


class ZScoreOutlierDetector:
    """Scores each row by its largest absolute z-score against reference statistics.

    The request passes through unchanged; the response carries the tags `outlier_score` (one
    float per row) and `is_outlier` (score above `threshold`). Runtime tags go in a
    SeldonResponse, so concurrent requests never see each other's scores.
    """

    def __init__(
        self, means: str = DEFAULT_MEANS, stds: str = DEFAULT_STDS, threshold: float = 3.0
    ) -> None:
        self.means = _floats(means)
        self.stds = _floats(stds)
        if self.means.shape != self.stds.shape or np.any(self.stds <= 0):
            raise ValueError("means and stds need one value per column, each std > 0")
        self.threshold = threshold

    def transform_input(
        self, X: Any, features_names: list[str], meta: dict[str, Any] | None = None
    ) -> SeldonResponse:
        features = _as_floats(X)
        if features.size % self.means.shape[0]:
            raise SeldonMicroserviceException(
                f"expected rows of {self.means.shape[0]} values, got shape {features.shape}",
                status_code=400,
            )
        features = features.reshape(-1, self.means.shape[0])
        scores = np.max(np.abs((features - self.means) / self.stds), axis=1).round(3)
        tags = {
            "outlier_score": scores.tolist(),
            "is_outlier": (scores > self.threshold).tolist(),
        }
        return SeldonResponse(X, tags=tags)

    def tags(self) -> dict[str, Any]:
        return {"outlier_detector": "zscore", "outlier_threshold": self.threshold}


def _as_floats(values: Any) -> np.ndarray:
    """The request payload as floats; anything else is the client's mistake (HTTP 400)."""
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SeldonMicroserviceException(f"expected numbers: {exc}", status_code=400) from exc
