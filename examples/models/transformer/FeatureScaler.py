"""An input transformer that min-max scales each feature column to [0, 1]."""

from __future__ import annotations

from typing import Any

import numpy as np

from seldon_server import SeldonMicroserviceException

# Iris measurement ranges (cm), so the default scaler fits the iris example's input.
DEFAULT_MINIMUMS = "4.3,2.0,1.0,0.1"
DEFAULT_MAXIMUMS = "7.9,4.4,6.9,2.5"


def _floats(text: str) -> np.ndarray:
    return np.array([float(part) for part in text.split(",")])


class FeatureScaler:
    """`(x - minimum) / (maximum - minimum)` per column.

    The bounds come from `--parameters` as comma-separated STRING values, one per column.
    """

    def __init__(self, minimums: str = DEFAULT_MINIMUMS, maximums: str = DEFAULT_MAXIMUMS) -> None:
        self.minimums = _floats(minimums)
        upper = _floats(maximums)
        if upper.shape != self.minimums.shape or np.any(upper <= self.minimums):
            raise ValueError("minimums and maximums need one value per column, maximum > minimum")
        self.span = upper - self.minimums

    def transform_input(
        self, X: Any, features_names: list[str], meta: dict[str, Any] | None = None
    ) -> Any:
        features = _as_floats(X)
        if features.shape[-1] != self.span.shape[0]:
            raise SeldonMicroserviceException(
                f"expected {self.span.shape[0]} columns, got shape {features.shape}",
                status_code=400,
            )
        return (features - self.minimums) / self.span


def _as_floats(values: Any) -> np.ndarray:
    """The request payload as floats; anything else is the client's mistake (HTTP 400)."""
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SeldonMicroserviceException(f"expected numbers: {exc}", status_code=400) from exc
