"""Helpers for tests that run real processes: held ports, polling with a deadline, group stops."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

START_SECONDS = 30.0  # a cold start imports numpy, Flask and grpc in several processes
STOP_SECONDS = 30.0
FIRST_PAUSE = 0.002  # polls start fast (most waits are short) and back off to LAST_PAUSE
LAST_PAUSE = 0.02

T = TypeVar("T")


class HeldPorts:
    """Free loopback ports, each held by a bound, never listening socket until `release()`.

    While held, no bind to port 0 (another test, another process) is given them, yet a server
    binding one with SO_REUSEADDR (Gunicorn, http.server, grpc) or SO_REUSEPORT (our gRPC
    reservation) still can: so a port cannot be taken between choosing it and the child binding
    it. Release once the child is listening (or has failed to).
    """

    def __init__(self, count: int) -> None:
        self._socks: list[socket.socket] = []
        try:
            for _ in range(count):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                self._socks.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                sock.bind(("127.0.0.1", 0))
        except OSError:
            self.release()
            raise
        self.ports: list[int] = [sock.getsockname()[1] for sock in self._socks]

    def release(self) -> None:
        for sock in self._socks:
            sock.close()

    def __enter__(self) -> HeldPorts:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def wait_until(predicate: Callable[[], T], what: str, timeout: float = START_SECONDS) -> T:
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds.

    Bounded in time and in count (a pause never shorter than FIRST_PAUSE).
    """
    deadline = time.monotonic() + timeout
    pause = FIRST_PAUSE
    for _ in range(int(timeout / FIRST_PAUSE) + 2):
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            break
        time.sleep(pause)
        pause = min(pause * 2, LAST_PAUSE)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def spawn(argv: list[str], **popen: Any) -> subprocess.Popen[bytes]:
    """Start `argv` as the leader of a new process group, so `stop_group` can end all of it."""
    return subprocess.Popen(argv, start_new_session=True, **popen)


def kill_group(proc: subprocess.Popen[Any]) -> None:
    """SIGKILL the process group led by `proc` (whatever is left of it) and reap `proc`."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(10)


def stop_group(
    proc: subprocess.Popen[Any], signum: int = signal.SIGTERM, timeout: float = STOP_SECONDS
) -> int | None:
    """Send `signum` to the process (it stops its own children), SIGKILL its group when it has
    not exited within `timeout` or left members behind; returns its exit code."""
    if proc.poll() is None:
        proc.send_signal(signum)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout)
    kill_group(proc)
    return proc.returncode
