"""Models whose start-up fails in each documented way."""

from __future__ import annotations

from typing import Any


class MetadataFails:
    def __init__(self, **parameters: Any) -> None:
        pass

    def init_metadata(self) -> dict[str, Any]:
        raise ValueError("metadata store unreachable")

    def predict(self, X: Any, names: Any) -> Any:
        return X


class ConstructorFails:
    def __init__(self, **parameters: Any) -> None:
        raise RuntimeError("bad constructor")


class InvalidMetadata:
    def __init__(self, **parameters: Any) -> None:
        pass

    def init_metadata(self) -> dict[str, Any]:
        return {"name": 3}  # metadata's name must be a string

    def predict(self, X: Any, names: Any) -> Any:
        return X
