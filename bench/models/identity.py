"""The benchmark's user model: returns its input unchanged, so the server's own cost is measured."""

from __future__ import annotations

from typing import Any


class Identity:
    """A plain Seldon model class, as a user would write it (no base class)."""

    def predict(self, X: Any, names: list[str], meta: dict[str, Any] | None = None) -> Any:
        return X
