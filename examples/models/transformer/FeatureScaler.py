"""An input transformer that min-max scales each feature column to [0, 1]."""

from __future__ import annotations

from typing import Any

import numpy as np

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
        features = np.asarray(X, dtype=np.float64)
        if features.shape[-1] != self.span.shape[0]:
            raise ValueError(f"expected {self.span.shape[0]} columns, got shape {features.shape}")
        return (features - self.minimums) / self.span
