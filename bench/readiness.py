"""A benchmarked server's life: a free port, waiting for it to be ready (or for its early
exit), pinning its process tree to CPUs, stopping its process group."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from procstat import tree


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(
    url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 90.0
) -> None:
    """Poll `url` until it answers 200; SystemExit naming `log` if the server exits first
    or never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{process.args!r} exited; see {log}")
        try:
            with urllib.request.urlopen(url, timeout=1) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} never answered 200; see {log}")


def pin_tree(pid: int, cpus: set[int] | None) -> None:
    """The process and its descendants (REST worker, gRPC process, ...) on `cpus`."""
    if not cpus:
        return
    for each in tree(pid):
        with contextlib.suppress(OSError):  # gone meanwhile
            os.sched_setaffinity(each, cpus)


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group (started with start_new_session), SIGKILL after 30 s."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
