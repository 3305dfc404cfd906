"""`seldon-batch-processor --protocol v2` against the real `seldon-microservice`, both started
from their CLIs: V2 REST and gRPC, the batch identifiers through to the model, micro-batching,
and the server's refusals as error lines."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from serverproc import Launcher, Server

PROCESSOR = Path(sys.executable).with_name("seldon-batch-processor")
MODEL = "Identity"  # the class name: the model's V2 name when MODEL_NAME is not set
DEADLINE = 60.0
TAGS = ("batch_id", "batch_index", "batch_instance_id")


@pytest.fixture(scope="module")
def server(module_launch: Launcher) -> Server:
    launched = module_launch("--threads", "4", interface="V2Models.Identity")
    launched.wait_ready()
    return launched


def _process(
    server: Server, transport: str, tmp_path: Path, lines: list[str], *flags: str
) -> tuple[int, list[dict[str, Any]], str]:
    """Run the processor's CLI over `lines`; its exit code, output lines and stderr."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    source, output = tmp_path / "input.txt", tmp_path / "output.txt"
    source.write_text("".join(line + "\n" for line in lines))
    port = server.http_port if transport == "rest" else server.grpc_port
    argv = [str(PROCESSOR), "--protocol", "v2", "-d", MODEL, "-g", "seldon",
            "-h", f"127.0.0.1:{port}", "-t", transport, "-i", str(source), "-o", str(output),
            "-u", "e2e", "--retry-backoff", "0.01", *flags]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, timeout=DEADLINE, check=False)
    parsed = [json.loads(text) for text in output.read_text().splitlines()]
    return done.returncode, parsed, done.stderr.decode()


def _request(k: int) -> str:
    tensor = {"name": "text", "datatype": "BYTES", "shape": [1], "data": [f"row {k}"],
              "parameters": {"content_type": "str"}}  # fmt: skip
    return json.dumps({"inputs": [tensor], "parameters": {"customer": k}})


@pytest.mark.parametrize("transport", ["rest", "grpc"])
def test_every_line_comes_back_as_a_v2_response_with_its_identifiers(
    tmp_path: Path, server: Server, transport: str
) -> None:
    lines = ["[[1, 2, 3]]", "[[0.5, 1.5]]", _request(2), "[true, false]", '[["a", "b"]]']
    code, out, err = _process(server, transport, tmp_path, lines, "-w", "3")

    assert code == 0, err
    assert [line["outputs"][0]["data"] for line in out] == [
        [1, 2, 3], [0.5, 1.5], ["row 2"], [True, False], ["a", "b"],
    ]  # fmt: skip
    assert [line["outputs"][0]["datatype"] for line in out] == [
        "INT64", "FP64", "BYTES", "BOOL", "BYTES",
    ]  # fmt: skip
    for k, line in enumerate(out):
        assert line["model_name"] == MODEL
        ids = {key: line["parameters"][key] for key in TAGS}
        assert (ids["batch_id"], ids["batch_index"]) == ("e2e", k)
        # The model saw the identifiers among the request's parameters (its tags).
        seen = json.loads(line["parameters"]["request_tags"])
        assert {key: seen[key] for key in TAGS} == ids
    assert json.loads(out[2]["parameters"]["request_tags"])["customer"] == 2


@pytest.mark.parametrize("transport", ["rest", "grpc"])
def test_micro_batches_reach_the_model_joined_and_come_back_split(
    tmp_path: Path, server: Server, transport: str
) -> None:
    lines = [json.dumps([[k, k / 2, -k]]) for k in range(7)]
    code, single, err = _process(server, transport, tmp_path / "one", lines)
    assert code == 0, err
    code, batched, err = _process(server, transport, tmp_path / "many", lines, "-s", "3")
    assert code == 0, err

    assert [line["outputs"] for line in batched] == [line["outputs"] for line in single]
    assert [line["parameters"]["batch_index"] for line in batched] == list(range(7))
    assert [line["parameters"]["received"] for line in batched] == (
        ["ndarray float64 [3, 3]"] * 6 + ["ndarray float64 [1, 3]"]
    )


@pytest.mark.parametrize("transport", ["rest", "grpc"])
def test_the_servers_refusals_become_error_lines(
    tmp_path: Path, server: Server, transport: str
) -> None:
    bad = {"inputs": [{"name": "x", "datatype": "INT32", "shape": [3], "data": [1, 2]}]}
    code, out, _ = _process(server, transport, tmp_path / "bad", ["[[1]]", json.dumps(bad)])
    assert code == 1
    assert "status" not in out[0] and out[1]["meta"]["batch_index"] == 1
    reason = out[1]["status"]["reason"]
    if transport == "rest":  # the server's V2 error text, not its raw body
        assert reason == "HTTP 400 Bad Request: Input 'x': 2 values, but the shape holds 3"
    else:  # the client cannot even build that message
        assert reason.startswith("not a valid V2 inference request: Input 'x': 2 values")

    code, out, _ = _process(server, transport, tmp_path / "missing", ["[[1]]"], "-d", "Nobody")
    assert code == 1
    reason = out[0]["status"]["reason"]
    assert reason.startswith("HTTP 404 Not Found: " if transport == "rest" else "gRPC NOT_FOUND: ")
    assert "Nobody" in reason and "{" not in reason
