"""Models for the load-control tests: a row-wise model that reports the size of each call."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from seldon_server import SeldonResponse

FAIL_VALUE = -1.0  # a row starting with it makes the whole call raise


class RowModel:
    """Doubles its rows after a fixed cost per call; each answer carries its call's row count
    (tag `call_rows`), so a client sees how many rows its request was batched with."""

    def __init__(self, marker_dir: str = "", call_ms: float = 2.0) -> None:
        self.call_seconds = call_ms / 1000

    def predict(self, X: Any, names: list[str], meta: dict[str, Any] | None = None) -> Any:
        time.sleep(self.call_seconds)
        if isinstance(X, np.ndarray) and X.ndim == 2 and X.size and X.dtype.kind in "biuf":
            if (X[:, 0] == FAIL_VALUE).any():
                raise ValueError("asked to fail")
            return SeldonResponse(X * 2, tags={"call_rows": int(X.shape[0])})
        return X


class WrongRows(RowModel):
    """Answers one row too few: a batch's result cannot be split back."""

    def predict(self, X: Any, names: list[str], meta: dict[str, Any] | None = None) -> Any:
        return X[1:] if isinstance(X, np.ndarray) and X.ndim == 2 else X
