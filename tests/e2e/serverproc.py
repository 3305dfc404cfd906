"""Start the real `seldon-microservice` on free loopback ports, talk to it, watch its processes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import grpc
import requests
from google.protobuf import json_format
from grpc_health.v1 import health_pb2, health_pb2_grpc
from utils import START_SECONDS, HeldPorts, kill_group, spawn, wait_until

from seldon_server.proto import prediction_pb2, prediction_pb2_grpc
from seldon_server.settings import OPTIONS

CLI = Path(sys.executable).with_name("seldon-microservice")
MODELS = Path(__file__).with_name("models")

_SERVER_ENV = {name for option in OPTIONS for name in option.env} | {"PROMETHEUS_MULTIPROC_DIR"}
_SERVER_ENV_PREFIXES = ("OTEL_", "GUNICORN_", "FLASK_", "SELDON_", "PREDICTIVE_UNIT_", "JAEGER_")
_PARAMETER_TYPES = {bool: "BOOL", int: "INT", float: "FLOAT", str: "STRING"}


def process_tree(root: int) -> set[int]:
    """`root` and all its living descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(entry))
    found = {root} if is_alive(root) else set()
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, []))
    return found


def is_alive(pid: int) -> bool:
    """Running (a zombie has finished: it only waits to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def all_gone(pids: Iterable[int]) -> bool:
    return not any(is_alive(pid) for pid in pids)


def seldon_message(json_data: Any) -> Any:
    return json_format.ParseDict({"jsonData": json_data}, prediction_pb2.SeldonMessage())


def json_data(message: Any) -> Any:
    """A SeldonMessage's jsonData as plain Python."""
    return json_format.MessageToDict(message)["jsonData"]


def grpc_channel(port: int, *, own_connection: bool = False) -> grpc.Channel:
    """A channel; with `own_connection`, never a TCP connection shared with other channels."""
    options = [("grpc.use_local_subchannel_pool", 1)] if own_connection else []
    return grpc.insecure_channel(f"127.0.0.1:{port}", options=options)


@dataclass
class Server:
    """A running CLI process and the ports it was given."""

    proc: subprocess.Popen[bytes]
    http_port: int
    grpc_port: int
    metrics_port: int
    log_path: Path
    marker_dir: Path
    held: HeldPorts  # released once it is listening, or at cleanup
    metrics_path: str = "/metrics"
    seen: set[int] = field(default_factory=set)  # every pid of its tree ever observed

    @property
    def pid(self) -> int:
        return self.proc.pid

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.http_port}{path}"

    def metrics_url(self, path: str | None = None) -> str:
        return f"http://127.0.0.1:{self.metrics_port}{path or self.metrics_path}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tree(self) -> set[int]:
        pids = process_tree(self.pid)
        self.seen |= pids
        return pids

    def leftovers(self) -> set[int]:
        """Living processes started for this server, found by the marker directory in their
        command line (its --parameters), whoever their parent is now."""
        needle = str(self.marker_dir).encode()
        found = set()
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
                except OSError:
                    continue
                if needle in cmdline and is_alive(int(entry)):
                    found.add(int(entry))
        return found

    def wait_tree(self, size: int) -> set[int]:
        """The process tree, once it has grown to `size` processes."""

        def grown() -> set[int]:
            tree = self.tree()
            return tree if len(tree) == size else set()

        return wait_until(grown, f"{size} processes")

    def markers(self, event: str) -> list[int]:
        """The pids that left an `event` marker, one entry per marker."""
        prefix = f"{event}-"
        names = [p.name for p in self.marker_dir.iterdir() if p.name.startswith(prefix)]
        return [int(name.split("-")[1]) for name in names]

    def temp_files(self) -> list[str]:
        """What the server left in its TMPDIR."""
        return sorted(p.name for p in (self.marker_dir.parent / "tmp").iterdir())

    def release(self) -> None:
        (self.marker_dir / "release").touch()

    def wait_ready(self, *, grpc_health: bool = True, timeout: float = START_SECONDS) -> None:
        """REST /ready, the metrics endpoint and (optionally) gRPC health all answer."""
        checks = [
            lambda: self._http_ok(self.url("/ready")),
            lambda: self._http_ok(self.metrics_url()),
        ]
        if grpc_health:
            checks.append(self._grpc_serving)
        for check in checks:
            wait_until(partial(self._check, check), "the server to be ready", timeout)
        self.held.release()
        self.tree()

    def _check(self, check: Callable[[], bool]) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.log()}")
        return check()

    @staticmethod
    def _http_ok(url: str) -> bool:
        try:
            return requests.get(url, timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def _grpc_serving(self) -> bool:
        return self.grpc_health() == health_pb2.HealthCheckResponse.SERVING

    def grpc_health(self) -> int | None:
        """The gRPC health status of the server as a whole; None when it does not answer."""
        with grpc_channel(self.grpc_port) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=2)
            except grpc.RpcError:
                return None
        return int(reply.status)

    def predict_rest(self, json_data: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        return requests.post(
            self.url("/api/v1.0/predictions"), json={"jsonData": json_data}, **kwargs
        )

    def predict_grpc(self, channel: grpc.Channel, json_data: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", 30)
        return prediction_pb2_grpc.ModelStub(channel).Predict(seldon_message(json_data), **kwargs)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = START_SECONDS) -> int:
        """Signal the CLI process and wait for it to exit; returns its exit code."""
        self.tree()
        os.kill(self.pid, signum)
        return self.proc.wait(timeout)

    def kill_everything(self) -> None:
        """The finalizer: SIGKILL the process group and every pid of the tree ever seen."""
        stray = self.seen | process_tree(self.pid) | self.leftovers()
        kill_group(self.proc)
        for pid in stray:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        self.held.release()


class Launcher:
    """Starts servers in `base_dir` and, in `cleanup()`, kills whatever is left of them."""

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir
        self.servers: list[Server] = []

    def __call__(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        interface: str = "ServingModel",
        parameters: dict[str, Any] | None = None,
    ) -> Server:
        """Start `seldon-microservice INTERFACE --http-port ... *args` (not waiting for ready)."""
        run_dir = self.base_dir / f"server{len(self.servers)}"
        marker_dir = run_dir / "markers"
        marker_dir.mkdir(parents=True)
        held = HeldPorts(3)
        http_port, grpc_port, metrics_port = held.ports
        params = {"marker_dir": str(marker_dir), **(parameters or {})}
        command = [
            str(CLI), interface,
            "--http-port", str(http_port), "--grpc-port", str(grpc_port),
            "--metrics-port", str(metrics_port),
            "--parameters", _parameters_json(params),
            *args,
        ]  # fmt: skip
        log_path = run_dir / "server.log"
        with open(log_path, "wb") as log:
            proc = spawn(
                command,
                cwd=MODELS,
                env=server_env(run_dir, env or {}),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        server = Server(proc, http_port, grpc_port, metrics_port, log_path, marker_dir, held)
        server.metrics_path = (env or {}).get("PREDICTIVE_UNIT_METRICS_ENDPOINT", "/metrics")
        self.servers.append(server)
        return server

    def cleanup(self) -> list[str]:
        """Kill what is left; returns complaints about servers that exited leaving orphans."""
        complaints = []
        for server in self.servers:
            if server.proc.poll() is not None and not _vanish(server.leftovers, 5.0):
                complaints.append(f"server {server.pid} exited leaving {server.leftovers()}")
            server.kill_everything()
        return complaints


def _vanish(find: Callable[[], set[int]], timeout: float) -> bool:
    """Whether what `find` finds is gone within `timeout` (kernel kills are asynchronous)."""
    try:
        wait_until(lambda: not find(), "processes to vanish", timeout)
    except AssertionError:
        return False
    return True


def server_env(run_dir: Path, extra: dict[str, str]) -> dict[str, str]:
    """Our environment without anything the server reads, plus loopback binding and `extra`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in _SERVER_ENV and not key.startswith(_SERVER_ENV_PREFIXES)
    }
    tmp = run_dir / "tmp"  # the server's temporary files stay inside the test's directory
    tmp.mkdir(exist_ok=True)
    env.update(
        PYTHONUNBUFFERED="1",
        SELDON_BIND_ADDRESS="127.0.0.1",
        SELDON_ANNOTATIONS_PATH=str(run_dir / "no-annotations"),
        TMPDIR=str(tmp),
    )
    env.update(extra)
    return env


def _parameters_json(params: dict[str, Any]) -> str:
    return json.dumps(
        [{"name": k, "value": str(v), "type": _PARAMETER_TYPES[type(v)]} for k, v in params.items()]
    )
