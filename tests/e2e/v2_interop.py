"""Drive v2_interop_client.py (tritonclient, in .venv-interop) from the tests: jobs in, answers out.

.venv-interop is made by scripts/setup-interop, which scripts/setup runs: when it is missing the
tests fail (CI always has it), they do not skip.
"""

from __future__ import annotations

import base64
import json
import queue
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from utils import kill_group, spawn

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv-interop" / "bin" / "python"
CLIENT = Path(__file__).with_name("v2_interop_client.py")
JOB_SECONDS = 60.0


def encode(name: str, datatype: str, array: np.ndarray, **extra: Any) -> dict[str, Any]:
    """A tensor as a job's input (see v2_interop_client.py)."""
    tensor: dict[str, Any] = {"name": name, "datatype": datatype, "shape": list(array.shape)}
    if datatype == "BYTES":
        tensor["elements"] = [base64.b64encode(e).decode() for e in array.ravel().tolist()]
    else:
        little = array.astype(array.dtype.newbyteorder("<"), copy=False)
        tensor["raw"] = base64.b64encode(little.tobytes()).decode()
    return tensor | extra


def elements(output: dict[str, Any]) -> list[bytes]:
    """A BYTES output's elements as the client gave them (str as UTF-8)."""
    return [base64.b64decode(element) for element in output["elements"]]


def raw(output: dict[str, Any]) -> bytes:
    """A numeric output's bytes, little-endian, as the client decoded them."""
    return base64.b64decode(output["raw"])


class InteropClient:
    """One v2_interop_client.py process; `call(job)` sends a job and returns its answer."""

    def __init__(self) -> None:
        if not PYTHON.exists():
            pytest.fail(
                f"{PYTHON.parent.parent} is missing: run scripts/setup-interop (scripts/setup "
                "runs it) to install the other V2 clients these tests talk to the server with",
                pytrace=False,
            )
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        self.proc = spawn(
            [str(PYTHON), str(CLIENT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        self._lines: queue.Queue[bytes] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(b"")

    def call(self, **job: Any) -> dict[str, Any]:
        """The answer: {"ok": ...} or {"error": {"status", "message"}}."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(job).encode() + b"\n")
        self.proc.stdin.flush()
        try:
            line = self._lines.get(timeout=JOB_SECONDS)
        except queue.Empty:
            raise AssertionError(f"the interop client did not answer {job['op']} in time") from None
        if not line:
            kill_group(self.proc)
            self._stderr.seek(0)
            raise AssertionError(f"the interop client died:\n{self._stderr.read().decode()}")
        answer: dict[str, Any] = json.loads(line)
        assert "crash" not in answer, f"the interop client failed on {job['op']}:\n{answer}"
        return answer

    def ok(self, **job: Any) -> Any:
        """The value of a call that must succeed."""
        answer = self.call(**job)
        assert "ok" in answer, f"{job['op']} over {job.get('transport')} failed: {answer}"
        return answer["ok"]

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(10)
        finally:
            kill_group(self.proc)
            self._reader.join(10)
            assert self.proc.stdout is not None
            self.proc.stdout.close()
            self._stderr.close()
