"""Waiting for a benchmarked server: its readiness URL answering 200, or its early exit."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from pathlib import Path


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
