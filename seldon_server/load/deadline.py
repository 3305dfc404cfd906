"""The deadline of the request a thread is serving, for the steps that wait on its behalf."""

from __future__ import annotations

import threading

_local = threading.local()


def current() -> float | None:
    """The `time.monotonic()` instant the current request must be answered by, if any."""
    return getattr(_local, "deadline", None)


def set_current(deadline: float | None) -> None:
    _local.deadline = deadline
