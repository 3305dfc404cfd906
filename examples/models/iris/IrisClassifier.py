"""An Iris species classifier: multinomial logistic regression served from weights.npz."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from seldon_server import SeldonMicroserviceException

WEIGHTS = Path(__file__).resolve().with_name("weights.npz")


class IrisClassifier:
    """Takes rows of (sepal length, sepal width, petal length, petal width) in cm.

    Returns one row of class probabilities per input row, columns named by `class_names()`.
    """

    def __init__(self, weights_path: str = "") -> None:
        self.weights_path = Path(weights_path) if weights_path else WEIGHTS

    def load(self) -> None:
        with np.load(self.weights_path, allow_pickle=False) as saved:
            self.mean = saved["mean"]
            self.scale = saved["scale"]
            self.weights = saved["weights"]
            self.bias = saved["bias"]
            self.classes = [str(name) for name in saved["classes"]]

    def predict(self, X: Any, features_names: list[str], meta: dict[str, Any] | None = None) -> Any:
        features = _as_floats(X)
        if features.ndim == 1:
            features = features.reshape(1, -1)
        if features.ndim != 2 or features.shape[1] != self.weights.shape[0]:
            raise SeldonMicroserviceException(
                f"expected rows of {self.weights.shape[0]} values, got shape {features.shape}",
                status_code=400,
            )
        logits = ((features - self.mean) / self.scale) @ self.weights + self.bias
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)

    def class_names(self) -> list[str]:
        return list(self.classes)


def _as_floats(values: Any) -> np.ndarray:
    """The request payload as floats; anything else is the client's mistake (HTTP 400)."""
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SeldonMicroserviceException(f"expected numbers: {exc}", status_code=400) from exc
