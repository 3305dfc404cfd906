"""Run progress: a redrawn bar on a terminal, a periodic log line otherwise."""

from __future__ import annotations

import logging
import time
from typing import TextIO

logger = logging.getLogger(__name__)

_BAR_WIDTH = 30
_BAR_EVERY = 0.2  # seconds between redraws of the bar
LOG_EVERY = 10.0  # seconds between progress log lines when not on a terminal


class Progress:
    """Reports lines done, ok and failed, and the rate, without slowing the writer down."""

    def __init__(self, stream: TextIO, total: int | None, interactive: bool) -> None:
        self._stream = stream
        self._total = total
        self._interactive = interactive
        self._start = time.monotonic()
        self._last = self._start
        self._drawn = False

    def update(self, ok: int, failed: int) -> None:
        """Called often; draws or logs only when its interval has passed."""
        now = time.monotonic()
        if now - self._last < (_BAR_EVERY if self._interactive else LOG_EVERY):
            return
        self._last = now
        rate = (ok + failed) / max(now - self._start, 1e-9)
        if self._interactive:
            self._draw(ok, failed, rate)
        else:
            logger.info(
                "processed %d lines (ok %d, failed %d), %.1f rows/s", ok + failed, ok, failed, rate
            )

    def _draw(self, ok: int, failed: int, rate: float) -> None:
        done = ok + failed
        if self._total:
            filled = min(_BAR_WIDTH, _BAR_WIDTH * done // self._total)
            bar = "#" * filled + "-" * (_BAR_WIDTH - filled)
            head = f"[{bar}] {100 * done / self._total:5.1f}% {done}/{self._total}"
        else:
            head = f"{done} lines"
        self._stream.write(f"\r{head} ok {ok} failed {failed} {rate:.0f} rows/s ")
        self._stream.flush()
        self._drawn = True

    def finish(self) -> None:
        """End the bar's line so the summary starts on its own."""
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()
