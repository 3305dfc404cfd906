"""The real `seldon-microservice` serving an identity model, started from its CLI on free ports."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from utils import HeldPorts, spawn, stop_group, wait_until

IDENTITY_MODEL = """
class Identity:
    def predict(self, X, features_names, meta=None):
        return X

    def send_feedback(self, features, feature_names, reward, truth, routing=None):
        return []
"""
READY_DEADLINE = 60.0


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    rest: str
    grpc: str
    log: Path

    def host(self, transport: str) -> str:
        return self.rest if transport == "rest" else self.grpc


def _ready(server: Server) -> bool:
    if server.process.poll() is not None:
        raise AssertionError(f"seldon-microservice exited:\n{server.log.read_text()[-3000:]}")
    try:
        with urllib.request.urlopen(f"http://{server.rest}/health/ping", timeout=1) as reply:
            if reply.status != 200:
                return False
        host, port = server.grpc.split(":")
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def identity_server(folder: Path) -> Iterator[Server]:
    """Serve IDENTITY_MODEL from `folder` until the block ends; ready (REST and gRPC) on entry."""
    (folder / "Identity.py").write_text(IDENTITY_MODEL)
    with HeldPorts(3) as held:
        http, grpc_port, metrics = held.ports
        log = folder / "server.log"
        argv = [sys.executable, "-m", "seldon_server.cli", "Identity", "--http-port", str(http),
                "--grpc-port", str(grpc_port), "--metrics-port", str(metrics)]  # fmt: skip
        env = {**os.environ, "SELDON_BIND_ADDRESS": "127.0.0.1"}
        with open(log, "wb") as out:
            process = spawn(argv, cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT)
        started = Server(process, f"127.0.0.1:{http}", f"127.0.0.1:{grpc_port}", log)
        try:
            wait_until(lambda: _ready(started), "seldon-microservice", READY_DEADLINE)
        except BaseException:
            stop_group(process)
            raise
    try:
        yield started
    finally:
        # SIGTERM by PID (the server stops its own children); SIGKILL to its group if it hangs.
        assert stop_group(process) == 0, log.read_text()[-3000:]
