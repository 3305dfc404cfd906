"""The supervisor loop: start the children, watch them and the signals, stop them all gracefully."""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

from seldon_server.serving.exit_codes import ExitCode
from seldon_server.serving.process import SUPERVISOR_SIGNALS, Child, reap, spawn

logger = logging.getLogger(__name__)

POLL_SECONDS = 1.0  # a safety net only: signals wake the loop at once


def _ignore(signum: int, frame: FrameType | None) -> None:
    """The Python-level handler; the signal number itself arrives through the wakeup pipe."""


def child_grace(grace: float) -> float:
    """The drain time given to each child: a little under the supervisor's own deadline, so a
    child that drains for its whole grace still exits before it would be SIGKILLed."""
    return max(0.0, grace - min(1.0, grace / 4))


class Supervisor:
    """Owns the children; any unexpected exit of a serving child stops the whole server.

    Signals are taken with handlers that only wake a pipe (`signal.set_wakeup_fd`), so a signal
    delivered to any thread (the user's model may have started some) still reaches the loop.
    """

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self.children: dict[int, Child] = {}
        self.on_exit: Callable[[Child], None] = lambda child: None
        self._wake_r, self._wake_w = os.pipe()
        for fd in (self._wake_r, self._wake_w):
            os.set_blocking(fd, False)
        self._previous_wakeup = signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)
        self._previous = {signum: signal.signal(signum, _ignore) for signum in SUPERVISOR_SIGNALS}

    def close(self) -> None:
        """Restore the signal handling found at construction (for embedding and tests)."""
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        signal.set_wakeup_fd(self._previous_wakeup)
        os.close(self._wake_r)
        os.close(self._wake_w)

    def start(self, name: str, target: Callable[[], int], **options: Any) -> Child:
        """Fork a child; a signal arriving meanwhile waits until the child reset its handlers."""
        with _signals_blocked():
            child = spawn(name, target, close_fds=(self._wake_r, self._wake_w), **options)
        self.children[child.pid] = child
        logger.info("Started %s (pid %d)", name, child.pid)
        return child

    def pending_stop(self) -> bool:
        """Whether SIGTERM or SIGINT arrived (e.g. during a preload, before any child exists)."""
        return bool({signal.SIGTERM, signal.SIGINT} & set(self._read_signals(0)))

    def run(self) -> int:
        """Supervise until a stop signal or a child's death; returns the exit code."""
        while self.children:
            signals = self._read_signals(POLL_SECONDS)
            stop = next((s for s in signals if s in (signal.SIGTERM, signal.SIGINT)), None)
            if stop is not None:
                logger.info(
                    "Received %s: stopping (grace %.1fs)", signal.Signals(stop).name, self.grace
                )
                return ExitCode.OK if self.stop() else ExitCode.FAILURE
            if signal.SIGHUP in signals:
                self._forward_hup()
            for child in self._reap():
                failure = self._failure(child)
                if failure is not None:
                    self.stop()
                    return failure
        return ExitCode.OK

    def stop(self) -> bool:
        """SIGTERM every child, wait up to the grace period, SIGKILL the rest.

        Returns True when every child exited in time by itself. A second SIGINT (Ctrl-C pressed
        again) skips the wait.
        """
        for child in self.children.values():
            _kill(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.grace
        while self.children:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if signal.SIGINT in self._read_signals(min(remaining, POLL_SECONDS)):
                logger.warning("Second interrupt: not waiting for in-flight requests")
                break
            self._reap()
        stragglers = list(self.children.values())
        for child in stragglers:
            logger.warning(
                "%s (pid %d) did not stop within %.1fs; killing it",
                child.name,
                child.pid,
                self.grace,
            )
            _kill(child.pid, signal.SIGKILL)
        for child in stragglers:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(child.pid, 0)  # SIGKILL cannot be caught: this returns promptly
            self.children.pop(child.pid, None)
            self.on_exit(child)
        if not stragglers:
            logger.info("All server processes stopped")
        return not stragglers

    def _failure(self, child: Child) -> int | None:
        """The exit code the server dies with because `child` exited, or None if that is fine."""
        if child.optional and child.clean:
            logger.info("%s (pid %d) finished", child.name, child.pid)
            return None
        if child.exit_code == ExitCode.LOAD_FAILED:
            logger.error(
                "%s (pid %d) could not load the model; stopping the server", child.name, child.pid
            )
            return ExitCode.LOAD_FAILED
        logger.error(
            "%s (pid %d) %s unexpectedly; stopping the server",
            child.name,
            child.pid,
            child.describe(),
        )
        return ExitCode.FAILURE

    def _reap(self) -> list[Child]:
        done = reap(self.children)
        for child in done:
            logger.debug("%s (pid %d) %s", child.name, child.pid, child.describe())
            self.on_exit(child)
        return done

    def _forward_hup(self) -> None:
        for child in self.children.values():
            if child.forward_hup:
                logger.info("Passing SIGHUP on to %s (pid %d)", child.name, child.pid)
                _kill(child.pid, signal.SIGHUP)

    def _read_signals(self, timeout: float) -> list[int]:
        """Signal numbers that arrived, waiting up to `timeout` seconds for the first."""
        readable, _, _ = select.select([self._wake_r], [], [], timeout)
        if not readable:
            return []
        try:
            return list(os.read(self._wake_r, 256))
        except BlockingIOError:
            return []


@contextlib.contextmanager
def _signals_blocked() -> Iterator[None]:
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, SUPERVISOR_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _kill(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)
