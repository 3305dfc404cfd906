"""`seldon-batch-processor --protocol v2` against a real MLServer 1.7 (from .venv-interop, made by
scripts/setup-interop) serving tests/e2e/mlserver_model: REST and gRPC, the batch identifiers,
micro-batching, and MLServer's refusals as error lines."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from utils import HeldPorts, spawn, stop_group, wait_until

ROOT = Path(__file__).resolve().parents[2]
MLSERVER = ROOT / ".venv-interop" / "bin" / "mlserver"
MODEL_FOLDER = Path(__file__).with_name("mlserver_model")
MODEL = "doubler"  # the name in model-settings.json, so the processor's --deployment-name
PROCESSOR = Path(sys.executable).with_name("seldon-batch-processor")
START_SECONDS = 30.0
STOP_SECONDS = 10.0
RUN_SECONDS = 60.0
PROBE_SECONDS = 1.0
TAGS = ("batch_id", "batch_index", "batch_instance_id")
BATCH_ID = "e2e"

# Among plain array lines: two V2 requests, and two lines MLServer refuses.
CUSTOMER, VECTOR, STRINGS, BAD_PARAMETERS = 4, 11, 17, 23
CUSTOMER_PARAMETERS = {"customer": "c1", "priority": 2, "urgent": True, "score": 0.5}
SPECIAL = {
    CUSTOMER: json.dumps({"inputs": [{"name": "x", "datatype": "INT64", "shape": [1, 3],
                                      "data": [1, 2, 3]}], "parameters": CUSTOMER_PARAMETERS}),
    VECTOR: json.dumps({"inputs": [{"name": "v", "datatype": "INT64", "shape": [3],
                                    "data": [5, 6, 7]}]}),
    # A BYTES tensor: the model refuses it with MLServer's InferenceError, a V2 error body.
    STRINGS: '[["a", "b"]]',
    # MLServer's own request schema wants a string content_type (pydantic rejects 7).
    BAD_PARAMETERS: json.dumps({"inputs": [{"name": "x", "datatype": "INT64", "shape": [1, 1],
                                            "data": [1]}], "parameters": {"content_type": 7}}),
}  # fmt: skip
LINES = [SPECIAL.get(k) or json.dumps([[k, k + 0.5]]) for k in range(34)]


@dataclass
class MLServer:
    """A running `mlserver start`, its ports and its log."""

    proc: subprocess.Popen[bytes]
    http_port: int
    grpc_port: int
    log: Path

    def ready(self) -> bool:
        """The model is ready over REST and the gRPC port accepts; raises if MLServer exited.

        MLServer starts its REST and gRPC servers and loads the model all at once, so a ready
        model over REST says nothing of gRPC. (A model that fails to load makes it stop, exit
        code 0.)
        """
        if self.proc.poll() is not None:
            raise AssertionError(f"mlserver start exited with code {self.proc.returncode}")
        return _rest_ready(self.http_port) and _accepts(self.grpc_port)

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _rest_ready(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=PROBE_SECONDS)
    try:
        connection.request("GET", f"/v2/models/{MODEL}/ready")
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=PROBE_SECONDS):
            return True
    except OSError:
        return False


def _environ(http_port: int, grpc_port: int, metrics_port: int) -> dict[str, str]:
    """This process's environment without MLServer's or OpenTelemetry's settings, plus ours."""
    kept = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("MLSERVER_", "OTEL_"))
    }
    return kept | {
        "MLSERVER_HOST": "127.0.0.1",
        "MLSERVER_HTTP_PORT": str(http_port),
        "MLSERVER_GRPC_PORT": str(grpc_port),
        "MLSERVER_METRICS_PORT": str(metrics_port),
        "MLSERVER_PARALLEL_WORKERS": "0",  # the model in the server process: a fast start
    }


@pytest.fixture(scope="module")
def mlserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MLServer]:
    if not MLSERVER.exists():
        pytest.fail(
            f"{MLSERVER} is missing: run scripts/setup-interop (scripts/setup runs it) to "
            "install MLServer, which these tests run the batch processor against",
            pytrace=False,
        )
    # MLServer reads a .env from its working directory (and may write .metrics, .envs): a fresh one.
    workdir = tmp_path_factory.mktemp("mlserver")
    log = workdir / "mlserver.log"
    held = HeldPorts(3)  # released once MLServer listens on them, or has failed to
    http_port, grpc_port, metrics_port = held.ports
    try:
        with log.open("wb") as sink:
            proc = spawn(
                [str(MLSERVER), "start", str(MODEL_FOLDER)],
                cwd=workdir,
                env=_environ(http_port, grpc_port, metrics_port),
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
    except BaseException:
        held.release()
        raise
    server = MLServer(proc, http_port, grpc_port, log)
    try:
        with held:
            failure = None
            try:
                wait_until(server.ready, "MLServer to serve the model", START_SECONDS)
            except AssertionError as exc:
                failure = f"{exc}; MLServer's log ends:\n{server.tail()}"
        if failure is not None:
            pytest.fail(failure, pytrace=False)
        yield server
    finally:
        stop_group(proc, timeout=STOP_SECONDS)


def _process(
    server: MLServer, transport: str, tmp_path: Path, *flags: str
) -> tuple[int, list[dict[str, Any]], str]:
    """Run the processor's CLI over LINES; its exit code, output lines and stderr."""
    source, output = tmp_path / "input.txt", tmp_path / "output.txt"
    source.write_text("".join(line + "\n" for line in LINES))
    port = server.http_port if transport == "rest" else server.grpc_port
    argv = [str(PROCESSOR), "--protocol", "v2", "--deployment-name", MODEL,
            "--gateway-type", "seldon", "--host", f"127.0.0.1:{port}", "--transport", transport,
            "--input-data-path", str(source), "--output-data-path", str(output),
            "--batch-id", BATCH_ID, "--workers", "4", "--retry-backoff", "0.01",
            *flags]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, timeout=RUN_SECONDS, check=False)
    parsed = [json.loads(text) for text in output.read_text().splitlines()]
    return done.returncode, parsed, done.stderr.decode()


def _tags(line: dict[str, Any]) -> dict[str, Any]:
    """The identifiers: in a response line's parameters, or in an error line's meta."""
    found = line["meta"] if "status" in line else line["parameters"]
    return {key: found[key] for key in TAGS}


def _seen(line: dict[str, Any]) -> dict[str, Any]:
    """The request parameters the model received (it returns them as a JSON string)."""
    seen: dict[str, Any] = json.loads(line["parameters"]["request_parameters"])
    return seen


def _doubled(k: int) -> list[dict[str, Any]]:
    """The outputs for plain line k, [[k, k + 0.5]], as MLServer's numpy codec encodes them."""
    return [{"name": "output-0", "datatype": "FP64", "shape": [1, 2],
             "parameters": {"content_type": "np"}, "data": [2.0 * k, 2.0 * k + 1]}]  # fmt: skip


def _check_common(transport: str, code: int, out: list[dict[str, Any]], err: str) -> None:
    """What every run shows, micro-batched or not."""
    assert code == 1, err  # two lines failed
    assert f"{len(LINES)} lines: ok {len(LINES) - 2}, failed 2" in err
    assert len(out) == len(LINES)
    tags = [_tags(line) for line in out]
    assert [(t["batch_id"], t["batch_index"]) for t in tags] == [
        (BATCH_ID, k) for k in range(len(LINES))
    ]
    instance_ids = [t["batch_instance_id"] for t in tags]
    assert all(isinstance(i, str) and i for i in instance_ids)
    assert len(set(instance_ids)) == len(LINES)

    for k, line in enumerate(out):
        if k not in SPECIAL:
            assert line["model_name"] == MODEL
            assert line["outputs"] == _doubled(k), k

    customer = out[CUSTOMER]
    assert customer["outputs"][0]["data"] == [2, 4, 6]
    assert customer["outputs"][0]["datatype"] == "INT64"
    # MLServer 1.7's gRPC proto has bool, int64 and string parameters only, no double_param
    # (field 4 of the Open Inference Protocol's InferParameter): the float `score` reaches the
    # model as None (left out by the runtime), and a float in a response would be dropped too
    # (mlserver/grpc/converters.py, ParametersConverter). Over REST every JSON value goes through.
    arrived = {k: v for k, v in CUSTOMER_PARAMETERS.items() if transport == "rest" or k != "score"}
    assert _seen(customer) == arrived | tags[CUSTOMER]
    assert {key: customer["parameters"][key] for key in arrived} == arrived  # echoed
    assert ("score" in customer["parameters"]) == (transport == "rest")

    # MLServer's numpy codec gives a 1-D output a second axis (inject_batch_dimension).
    vector = out[VECTOR]["outputs"][0]
    assert (vector["shape"], vector["data"]) == ([3, 1], [10, 12, 14])

    for k in (STRINGS, BAD_PARAMETERS):
        assert out[k]["status"]["status"] == 1 and "outputs" not in out[k]
    refused = out[STRINGS]["status"]["reason"]
    if transport == "rest":  # MLServerError -> HTTP 400 and a V2 {"error": ...} body
        assert refused == "HTTP 400 Bad Request: input 'input-0': cannot double BYTES values"
    else:  # the same error, mapped by MLServer to INVALID_ARGUMENT
        assert refused == "gRPC INVALID_ARGUMENT: input 'input-0': cannot double BYTES values"
    invalid = out[BAD_PARAMETERS]["status"]["reason"]
    if transport == "rest":  # FastAPI's validation answer, not a V2 error body: quoted whole
        assert invalid.startswith("HTTP 422 Unprocessable Entity: {")
        assert '"loc":["body","parameters","content_type"]' in invalid
    else:  # pydantic fails in MLServer's proto converter, which it maps to INTERNAL
        assert invalid.startswith("gRPC INTERNAL: 1 validation error for Parameters\ncontent_type")


@pytest.mark.parametrize("transport", ["rest", "grpc"])
def test_each_line_is_doubled_by_mlserver_and_keeps_its_identifiers(
    tmp_path: Path, mlserver: MLServer, transport: str
) -> None:
    code, out, err = _process(mlserver, transport, tmp_path)
    _check_common(transport, code, out, err)

    for k, line in enumerate(out):
        if "status" not in line:  # each request carried the line's own identifiers
            assert {key: _seen(line)[key] for key in TAGS} == _tags(line), k
    # MLServer makes up an id only for a request without one; the processor sends none, which
    # in a gRPC message is the empty string, so MLServer keeps it and the response has no id.
    assert all(("id" in line) == (transport == "rest") for line in out if "status" not in line)


@pytest.mark.parametrize("transport", ["rest", "grpc"])
def test_micro_batches_through_mlserver_come_back_split_per_line(
    tmp_path: Path, mlserver: MLServer, transport: str
) -> None:
    code, out, err = _process(mlserver, transport, tmp_path, "--batch-size", "4")
    _check_common(transport, code, out, err)

    # Joined plain lines reached the model with batch_id only (MLServer echoes nothing by
    # itself); the processor put each line's identifiers into its output line.
    for k, line in enumerate(out):
        if k not in SPECIAL:
            assert _seen(line) == {"batch_id": BATCH_ID}, k
    # V2 request lines went alone, with their own identifiers.
    assert {key: _seen(out[CUSTOMER])[key] for key in TAGS} == _tags(out[CUSTOMER])
