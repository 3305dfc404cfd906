"""Models for the end-to-end tests: they report their pid and can block, hold, fail or load slowly.

The request's jsonData steers a call: {"hold": seconds} sleeps, {"block": true} waits for the
test to create the file `release` in the marker directory. Markers are files named
`<event>-<pid>-<unique>` in `marker_dir`, so a test can see which process did what.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from typing import Any

from seldon_server import create_counter, create_gauge, create_timer

BLOCK_LIMIT_SECONDS = 60.0  # a blocked call gives up if the test never releases it
_WATCHING = threading.Lock()
_RELEASED = threading.Event()


def mark(marker_dir: str, event: str) -> None:
    if marker_dir:
        path = os.path.join(marker_dir, f"{event}-{os.getpid()}-{uuid.uuid4().hex}")
        with open(path, "w", encoding="utf-8"):
            pass


class ServingModel:
    def __init__(self, marker_dir: str = "", load_seconds: float = 0.0, fail_load: bool = False):
        self.marker_dir = marker_dir
        self.load_seconds = load_seconds
        self.fail_load = fail_load
        self._lock = threading.Lock()
        self._active = 0
        self._max_active = 0

    def load(self) -> None:
        mark(self.marker_dir, "load")
        if self.load_seconds:
            time.sleep(self.load_seconds)
        if self.fail_load:
            raise RuntimeError("weights file is missing")

    def predict(self, X: Any, names: list[str], meta: dict[str, Any] | None = None) -> Any:
        with self._lock:
            self._active += 1
            self._max_active = max(self._max_active, self._active)
        try:
            if isinstance(X, dict):
                if X.get("hold"):
                    time.sleep(float(X["hold"]))
                if X.get("block"):
                    self._block()
                if X.get("fail"):
                    raise ValueError("asked to fail")
            return X
        finally:
            with self._lock:
                self._active -= 1

    def _block(self) -> None:
        mark(self.marker_dir, "started")
        # One thread per process polls for the file; the other blocked calls wait for its word
        # (hundreds of threads polling at once slow the whole machine down).
        if not _WATCHING.acquire(blocking=False):
            if not _RELEASED.wait(BLOCK_LIMIT_SECONDS):
                raise TimeoutError("the test never released this call")
            return
        try:
            release = os.path.join(self.marker_dir, "release")
            deadline = time.monotonic() + BLOCK_LIMIT_SECONDS
            while not os.path.exists(release):
                if time.monotonic() > deadline:
                    raise TimeoutError("the test never released this call")
                time.sleep(0.005)
            _RELEASED.set()
        finally:
            _WATCHING.release()

    def tags(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "max_active": self._max_active}

    def metrics(self) -> list[dict[str, Any]]:
        return [
            create_counter("e2e_predictions", 1),
            create_gauge("e2e_gauge", 7),
            create_timer("e2e_timer", 12.5),
        ]


class WithCustomService(ServingModel):
    def custom_service(self) -> None:
        mark(self.marker_dir, "custom")
        threading.Event().wait()


class StubbornCustomService(ServingModel):
    """A custom_service() that ignores SIGTERM: only the supervisor's SIGKILL stops it."""

    def custom_service(self) -> None:
        import signal

        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        mark(self.marker_dir, "custom")
        threading.Event().wait()
