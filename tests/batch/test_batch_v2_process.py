"""--protocol v2 as a command: options, refusals, --resume, shards and merge, lean imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from batch_helpers import write_input
from batch_servers import GrpcEcho, HttpEcho
from v2_helpers import V2, line_ids, v2_server

from seldon_server.batch import merge
from seldon_server.batch.cli import main
from seldon_server.batch.config import ExitCode, build_parser, resolve
from seldon_server.batch.pipeline import run

DEADLINE = 60.0


def _argv(host: str, source: Path, *flags: str) -> list[str]:
    return ["-d", "dep", "-g", "seldon", "-h", host, "-i", str(source), "--retry-backoff", "0.01",
            *V2, *flags]  # fmt: skip


def test_the_protocol_comes_from_the_flag_or_the_env_and_defaults_to_seldon() -> None:
    assert resolve(["-d", "x"], {}).protocol == "seldon"
    assert resolve(["-d", "x"], {"SELDON_BATCH_PROTOCOL": "v2"}).protocol == "v2"
    from_cli = resolve(["-d", "x", "--protocol", "seldon"], {"SELDON_BATCH_PROTOCOL": "v2"})
    assert from_cli.protocol == "seldon"


@pytest.mark.parametrize(
    "flags,env,message",
    [
        (["-m", "feedback", "-a", "raw"], {},
         "--method feedback is not available with --protocol v2"),
        (["-m", "feedback"], {"SELDON_BATCH_PROTOCOL": "v2"},
         "--method feedback is not available with --protocol v2"),
        (["-a", "json"], {}, "--data-type json is not available with --protocol v2"),
        (["-p", "tensor"], {}, "--payload-type is for --protocol seldon"),
        (["--protocol", "v3"], {}, "--protocol: invalid choice: 'v3'"),
    ],
)  # fmt: skip
def test_what_v2_cannot_do_exits_2_with_one_line_before_any_request(
    tmp_path: Path,
    http_echo: HttpEcho,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    flags: list[str],
    env: dict[str, str],
    message: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    source = write_input(tmp_path, ['{"request": {"data": {"ndarray": [[1]]}}, "reward": 1}'])
    argv = _argv(http_echo.host, source, *flags)
    if env:  # the protocol comes from the environment only
        argv = [arg for arg in argv if arg not in V2]
    code = main(argv)

    err = capsys.readouterr().err
    assert code == ExitCode.USAGE
    assert err.count("\n") == 1 and err.startswith("seldon-batch-processor: error: ")
    assert message in err
    assert http_echo.requests == [] and not (tmp_path / "input.out.txt").exists()


def test_help_describes_the_protocol_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--protocol [seldon|v2]" in text and "SELDON_BATCH_PROTOCOL" in text
    assert "/v2/models/<deployment-name>/infer" in text
    assert "--protocol v2 (the Open Inference Protocol):" in text


def _resume_run(host: str, source: Path, transport: str) -> list[str]:
    """A --resume run without --batch-id: it must take the one in the output file."""
    config = resolve(_argv(host, source, "-t", transport, "--resume"), {})
    summary = run(config)
    assert summary.exit_code == ExitCode.OK, summary.line()
    return config.output_data_path.read_text().splitlines()


def test_resume_places_v2_lines_by_their_parameters(tmp_path: Path, transport: str) -> None:
    total = 8
    source = write_input(tmp_path, [json.dumps([[k]]) for k in range(total)])
    output = tmp_path / "input.out.txt"
    server = v2_server(transport)  # tags come back only because the processor adds them
    try:
        config = resolve(_argv(server.host, source, "-t", transport, "-u", "first"), {})
        assert run(config).exit_code == ExitCode.OK
        done = output.read_text().splitlines()
        # An --unordered run killed mid-write: lines 5, 1 and 6 done, then half a line.
        output.write_text("".join(done[k] + "\n" for k in (5, 1, 6)) + done[2][:20])
        before = len(server.requests)
        lines = _resume_run(server.host, source, transport)
        resent = sorted(r.body["parameters"]["batch_index"] for r in server.requests[before:])
    finally:
        server.stop()

    assert resent == [0, 2, 3, 4, 7]
    parsed = [json.loads(text) for text in lines]
    assert [line_ids(line)["batch_index"] for line in parsed] == [5, 1, 6, 0, 2, 3, 4, 7]
    assert {line_ids(line)["batch_id"] for line in parsed} == {"first"}
    assert all(line["outputs"][0]["data"] == [line_ids(line)["batch_index"]] for line in parsed)


def test_shards_write_v2_lines_that_merge_back_in_input_order(
    tmp_path: Path, transport: str
) -> None:
    total, shards = 7, 3
    source = write_input(tmp_path, [json.dumps([[k, k]]) for k in range(total)])
    pattern = str(tmp_path / "part-{shard}.txt")
    server = v2_server(transport)
    try:
        for index in range(shards):
            config = resolve(_argv(server.host, source, "-t", transport, "-o", pattern,
                                   "--shard-count", str(shards), "--shard-index", str(index),
                                   "-s", "2"), {})  # fmt: skip
            assert run(config).exit_code == ExitCode.OK
    finally:
        server.stop()
    parts = [tmp_path / f"part-{index}.txt" for index in range(shards)]
    summary = merge.merge(parts, tmp_path / "merged.txt", source)

    assert (summary.lines, summary.failed) == (total, 0)
    merged = [json.loads(text) for text in (tmp_path / "merged.txt").read_text().splitlines()]
    assert [line["parameters"]["batch_index"] for line in merged] == list(range(total))
    assert [line["outputs"][0]["data"] for line in merged] == [[k, k] for k in range(total)]


# Runs a V2 job with Flask, Gunicorn and prometheus_client made unimportable, then reports which
# seldon_server modules it loaded beyond its own, the generated proto, the shared codecs (which
# need only numpy and protobuf) and the stdlib-only modules they use.
_BLOCKED_RUN = """
import json, sys

class Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"flask", "werkzeug", "gunicorn", "prometheus_client"}:
            raise ImportError(f"{name} is blocked in this test")
        return None

sys.meta_path.insert(0, Blocked())
import seldon_server
before = set(sys.modules)
from seldon_server.batch.cli import main
code = main(sys.argv[1:])
allowed = ("seldon_server.batch", "seldon_server.proto", "seldon_server.codecs.",
           "seldon_server.errors", "seldon_server.options", "seldon_server.http1")
extra = sorted(m for m in set(sys.modules) - before if m.startswith("seldon_server.")
               and not m.startswith(allowed) and m != "seldon_server.codecs")
v2 = sorted(m for m in sys.modules if m.startswith("seldon_server.codecs.v2_"))
print(json.dumps({"extra": extra, "v2": v2, "flask": "flask" in sys.modules}))
sys.exit(code)
"""


@pytest.mark.parametrize("transport", ["rest", "grpc"])
def test_a_v2_run_needs_no_server_code(tmp_path: Path, transport: str) -> None:
    server: HttpEcho | GrpcEcho = HttpEcho() if transport == "rest" else GrpcEcho()
    source = write_input(tmp_path, ["[[1, 2]]", '"x"', "[[3, 4]]"])
    try:
        argv = _argv(server.host, source, "-t", transport, "-s", "2")
        done = subprocess.run([sys.executable, "-c", _BLOCKED_RUN, *argv], capture_output=True,
                              timeout=DEADLINE, check=False)  # fmt: skip
    finally:
        server.stop()
    assert done.returncode == ExitCode.LINES_FAILED, done.stderr.decode()  # '"x"' is no array
    report = json.loads(done.stdout)
    assert report["extra"] == [] and not report["flask"]
    assert "seldon_server.codecs.v2_values" in report["v2"]  # the shared codecs did the work
    lines = [json.loads(text) for text in (tmp_path / "input.out.txt").read_text().splitlines()]
    assert [line_ids(line)["batch_index"] for line in lines] == [0, 1, 2]
