"""Run a built model image as a SeldonDeployment would and check it over the wire.

Used by scripts/test-image after it has built the images. Each container runs as user 8888 with a
read-only root and a tmpfs /tmp, configured by SeldonDeployment-style env vars only; the host
network and free loopback ports stand in for the pod network. Exits non-zero on the first failed
check, printing what was expected and the container's log.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import grpc
from google.protobuf import json_format

from seldon_server.proto import prediction_pb2, prediction_pb2_grpc

GRACE = 10  # SELDON_GRACEFUL_TIMEOUT of the checked containers
SAMPLE = [[5.1, 3.5, 1.4, 0.2]]  # an Iris setosa
WEIGHTS = "/microservice/weights.npz"
PREDICT = "/api/v1.0/predictions"


class CheckFailed(Exception):
    pass


def podman(*args: str, check: bool = True, timeout: float = 120) -> str:
    done = subprocess.run(
        ["podman", "--runtime", "runc", *args],
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    if check and done.returncode != 0:
        raise CheckFailed(f"podman {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


class Container:
    def __init__(self, image: str, env: dict[str, str]) -> None:
        self.http, self.grpc, self.metrics = free_ports(3)
        self.name = f"seldon-image-check-{uuid.uuid4().hex[:8]}"
        ports = {
            "PREDICTIVE_UNIT_HTTP_SERVICE_PORT": str(self.http),
            "PREDICTIVE_UNIT_GRPC_SERVICE_PORT": str(self.grpc),
            "PREDICTIVE_UNIT_METRICS_SERVICE_PORT": str(self.metrics),
            "SELDON_GRACEFUL_TIMEOUT": str(GRACE),
        }
        flags = [f"--env={key}={value}" for key, value in {**ports, **env}.items()]
        podman(
            "run", "--detach", "--name", self.name, "--network", "host", "--user", "8888",
            "--read-only", "--tmpfs", "/tmp", *flags, image,
        )  # fmt: skip

    def log(self) -> str:
        """stdout and stderr, interleaved as the container wrote them."""
        done = subprocess.run(
            ["podman", "logs", self.name],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60, check=False,
        )  # fmt: skip
        return done.stdout

    def state(self) -> tuple[str, int]:
        status = podman("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", self.name)
        text, code = status.split()
        return text, int(code)

    def wait_ready(self, timeout: float = 60, grpc_on: bool = True) -> None:
        """/ready answers 200 and, with gRPC on, its port takes connections."""
        deadline = time.monotonic() + timeout
        self._wait_rest(deadline, timeout)
        if grpc_on:
            with grpc.insecure_channel(f"127.0.0.1:{self.grpc}") as channel:
                try:
                    grpc.channel_ready_future(channel).result(max(1.0, deadline - time.monotonic()))
                except grpc.FutureTimeoutError:
                    raise CheckFailed(f"gRPC not listening within {timeout}s") from None

    def _wait_rest(self, deadline: float, timeout: float) -> None:
        while time.monotonic() < deadline:
            if self.state()[0] == "exited":
                raise CheckFailed(f"the container exited while starting:\n{self.log()}")
            try:
                if rest(self.http, "GET", "/ready")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise CheckFailed(f"not ready within {timeout}s:\n{self.log()}")

    def wait_exit(self, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, code = self.state()
            if status == "exited":
                return code
            time.sleep(0.2)
        raise CheckFailed(f"still running after {timeout}s:\n{self.log()}")

    def remove(self) -> None:
        podman("rm", "--force", "--time", "0", self.name, check=False)


@contextmanager
def container(image: str, env: dict[str, str]) -> Iterator[Container]:
    started = Container(image, env)
    try:
        yield started
    except CheckFailed:
        print(started.log(), file=sys.stderr)
        raise
    finally:
        started.remove()


def rest(port: int, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        payload = None if body is None else json.dumps(body)
        conn.request(method, path, payload, {"Content-Type": "application/json"})
        reply = conn.getresponse()
        return reply.status, reply.read()
    finally:
        conn.close()


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise CheckFailed(what)
    print(f"ok: {what}")


def grpc_predict(port: int, rows: list[list[float]], timeout: float = 30) -> Any:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        return prediction_pb2_grpc.ModelStub(channel).Predict(seldon_message(rows), timeout=timeout)


def seldon_message(rows: list[list[float]]) -> Any:
    return json_format.ParseDict({"data": {"ndarray": rows}}, prediction_pb2.SeldonMessage())


def check_serving(image: str) -> None:
    env = {
        "GUNICORN_WORKERS": "2",
        "GRPC_WORKERS": "1",
        "PREDICTIVE_UNIT_ID": "classifier",
        "PREDICTOR_ID": "default",
        "SELDON_DEPLOYMENT_ID": "iris",
        "PREDICTIVE_UNIT_PARAMETERS": json.dumps(
            [{"name": "weights_path", "value": WEIGHTS, "type": "STRING"}]
        ),
    }
    with container(image, env) as box:
        box.wait_ready()
        status, body = rest(box.http, "POST", PREDICT, {"data": {"ndarray": SAMPLE}})
        reply = json.loads(body)
        expect(status == 200, "REST predict answers 200")
        expect(reply["data"]["names"] == ["setosa", "versicolor", "virginica"], "class names")
        probabilities = reply["data"]["ndarray"][0]
        expect(max(probabilities) == probabilities[0] > 0.9, "REST predicts setosa")
        expect("classifier" in reply["meta"]["requestPath"], "PREDICTIVE_UNIT_ID in requestPath")
        grpc_reply = grpc_predict(box.grpc, SAMPLE)
        expect(list(grpc_reply.data.names)[0] == "setosa", "gRPC predict answers")
        metrics = rest(box.metrics, "GET", "/metrics")[1].decode()
        expect("seldon_server_requests_total{" in metrics, "/metrics on the metrics port")
        booted = box.log().count("Booting worker with pid")
        expect(booted == 2, f"GUNICORN_WORKERS=2 started 2 REST workers (saw {booted})")
        check_graceful_stop(box)


def check_graceful_stop(box: Container) -> None:
    """SIGTERM (through tini) with requests in flight: they are answered, the exit is clean.

    The REST request is in flight for sure: its last body byte is sent only once the server has
    logged the signal. The gRPC call is a large one sent just before the stop.
    """
    body = json.dumps({"data": {"ndarray": SAMPLE}}).encode()
    head = b"POST %s HTTP/1.1\r\nHost: model\r\nContent-Type: application/json\r\n" % (
        PREDICT.encode()
    )
    held = socket.create_connection(("127.0.0.1", box.http), timeout=30)
    held.sendall(head + b"Content-Length: %d\r\n\r\n" % len(body) + body[:-1])
    rows = SAMPLE * 80000  # about 3.8 MB, under the default 4 MiB gRPC message limit
    channel = grpc.insecure_channel(f"127.0.0.1:{box.grpc}")
    future = prediction_pb2_grpc.ModelStub(channel).Predict.future(seldon_message(rows), timeout=60)
    stopped: dict[str, float] = {}

    def stop() -> None:
        podman("stop", "--time", str(GRACE + 20), box.name, timeout=GRACE + 40)
        stopped["at"] = time.monotonic()

    started = time.monotonic()
    stopper = threading.Thread(target=stop)
    stopper.start()
    deadline = time.monotonic() + 10
    while "Received SIGTERM" not in box.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    expect("Received SIGTERM" in box.log(), "the server got SIGTERM through tini")
    held.sendall(body[-1:])
    answer = _read_answer(held)
    reply = future.result(60)
    stopper.join(GRACE + 45)
    channel.close()
    expect(answer.startswith(b"HTTP/1.1 200"), "the in-flight REST request was answered")
    expect(len(reply.data.ndarray.values) == len(rows), "the gRPC call sent before it answered")
    expect(box.state() == ("exited", 0), "podman stop: exit code 0")
    expect("at" in stopped, "podman stop returned")
    took = stopped["at"] - started
    expect(took < GRACE, f"stopped within the graceful timeout ({took:.1f}s < {GRACE}s)")


def _read_answer(sock: socket.socket) -> bytes:
    """A whole HTTP response with a Content-Length body, read from a raw socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    sock.close()
    return head + b"\r\n\r\n" + rest


def check_grpc_off(image: str) -> None:
    with container(image, {"GRPC_WORKERS": "0", "GUNICORN_WORKERS": "1"}) as box:
        box.wait_ready(grpc_on=False)
        status, _ = rest(box.http, "POST", PREDICT, {"data": {"ndarray": SAMPLE}})
        expect(status == 200, "GRPC_WORKERS=0: REST serves")
        expect(_refused(lambda: grpc_predict(box.grpc, SAMPLE, timeout=3)), "and gRPC is off")


def _refused(call: Callable[[], Any]) -> bool:
    try:
        call()
    except grpc.RpcError as exc:
        return exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
    return False


def check_parameters(image: str) -> None:
    missing = "/microservice/no-such-weights.npz"
    params = json.dumps([{"name": "weights_path", "value": missing, "type": "STRING"}])
    with container(image, {"PREDICTIVE_UNIT_PARAMETERS": params}) as box:
        code = box.wait_exit()
        expect(code == 4, f"PREDICTIVE_UNIT_PARAMETERS reach the model: load() fails ({code})")
        expect(missing in box.log(), "the failure names the parameter's path")


def check_builder(builder: str) -> None:
    usage = podman("run", "--rm", "--network", "host", builder, timeout=60)
    expect("s2i" in usage.lower(), "the builder image prints its s2i usage")
    user = podman("image", "inspect", "--format", "{{.Config.User}}", builder)
    expect(user == "8888", "the builder runs as user 8888")
    legacy = podman("run", "--rm", builder, "python", "-c", "import seldon_core.user_model")
    expect(legacy == "", "model classes importing seldon_core work in the image")
    env = podman("image", "inspect", "--format", "{{.Config.Env}}", builder)
    expect("PIP_CERT" not in env, "the build's CA bundle is not baked into the image")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--image", required=True, help="the model image to run")
    parser.add_argument("--builder", required=True, help="the builder image it was built on")
    args = parser.parse_args()
    try:
        check_builder(args.builder)
        check_serving(args.image)
        check_grpc_off(args.image)
        check_parameters(args.image)
    except CheckFailed as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    print("image checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
