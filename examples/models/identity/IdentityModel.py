"""An identity model: returns its input, the smallest useful Seldon model."""

from __future__ import annotations

from typing import Any


class IdentityModel:
    """Echoes the request payload; class names come from the request's column count."""

    def predict(self, X: Any, features_names: list[str], meta: dict[str, Any] | None = None) -> Any:
        return X

    def send_feedback(
        self,
        features: Any,
        feature_names: list[str],
        reward: float,
        truth: Any,
        routing: Any = None,
    ) -> list[Any]:
        return []
