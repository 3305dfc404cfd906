"""A model with a fixed cost per call plus a small cost per row, as vectorised models have."""

from __future__ import annotations

import time
from typing import Any

CALL_SECONDS = 0.002
ROW_SECONDS = 0.000005


class Costly:
    """Spins (holding the interpreter, as Python model code does) for 2 ms + 5 us per row."""

    def predict(self, X: Any, names: list[str], meta: dict[str, Any] | None = None) -> Any:
        rows = len(X) if hasattr(X, "__len__") else 1
        until = time.perf_counter() + CALL_SECONDS + ROW_SECONDS * rows
        while time.perf_counter() < until:
            pass
        return X


class Waiting:
    """Waits 20 ms per call without holding the interpreter, as a model calling out to another
    service or a GPU does: threads then pile up, which is what admission control is for."""

    def predict(self, X: Any, names: list[str], meta: dict[str, Any] | None = None) -> Any:
        time.sleep(0.02)
        return X
