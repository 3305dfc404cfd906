"""A sharded job against the real server: three shard processes, one killed and resumed, merged."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from batch_helpers import without_instance_ids, write_input
from model_server import Server
from utils import kill_group, spawn, wait_until

from seldon_server.batch.config import ExitCode

DEADLINE = 60.0
TOTAL = 300
BAD = {50: "{oops", 298: '"not an array"'}  # shard 2's, and shard 1's very last line


def _processor(host: str, transport: str, source: Path, *flags: str) -> list[str]:
    return [sys.executable, "-m", "seldon_server.batch.cli", "-d", "dep", "-g", "seldon",
            "-h", host, "-t", transport, "-i", str(source), "--retry-backoff", "0.01",
            *flags]  # fmt: skip


def _run(argv: list[str]) -> tuple[int, str]:
    done = subprocess.run(argv, capture_output=True, timeout=DEADLINE, check=False)
    return done.returncode, done.stderr.decode()


def _finish(proc: subprocess.Popen[bytes]) -> tuple[int, str]:
    _, err = proc.communicate(timeout=DEADLINE)
    return proc.returncode, err.decode()


def _complete_lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


@pytest.mark.parametrize("transport", ["rest", "grpc"])
def test_a_killed_and_resumed_shard_still_merges_into_the_single_run_output(
    tmp_path: Path, server: Server, transport: str
) -> None:
    lines = [BAD.get(k, json.dumps([[k, k / 8, -k]])) for k in range(TOTAL)]
    source = write_input(tmp_path, lines)
    host = server.host(transport)
    single = tmp_path / "single.txt"
    code, err = _run(_processor(host, transport, source, "-o", str(single)))
    assert code == ExitCode.LINES_FAILED, err

    # The shard index three ways: the flag, its env var, and an Indexed Job's completion index.
    sharding = ("-o", str(tmp_path / "part-{shard}.txt"), "--shard-count", "3")
    ways = [(["--shard-index", "0"], {}), ([], {"SELDON_BATCH_SHARD_INDEX": "1"}),
            ([], {"JOB_COMPLETION_INDEX": "2"})]  # fmt: skip
    slow = ["--batch-interval", "0.03"]  # shard 1 takes 3 s or more, so it is killed partway
    victim = tmp_path / "part-1.txt"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for k, (flags, env) in enumerate(ways):
            argv = _processor(host, transport, source, *sharding, *flags, *(slow if k == 1 else []))
            procs.append(spawn(argv, env={**os.environ, **env}, stderr=subprocess.PIPE))
        wait_until(lambda: _complete_lines(victim) >= 10, "shard 1's first lines", DEADLINE)
        procs[1].send_signal(signal.SIGKILL)
        results = [_finish(proc) for proc in procs]
        kept = _complete_lines(victim)
        resumed = _run(_processor(host, transport, source, *sharding, "--shard-index", "1",
                                  "--resume"))  # fmt: skip
    finally:
        for proc in procs:
            kill_group(proc)

    assert [code for code, _ in results] == [ExitCode.OK, -signal.SIGKILL, ExitCode.LINES_FAILED]
    assert 10 <= kept < TOTAL // 3  # line 298, shard 1's last, is left to the resumed run
    assert resumed[0] == ExitCode.LINES_FAILED, resumed[1]
    assert f"shard 1 of 3: {TOTAL // 3 - kept} lines" in resumed[1]
    assert f"{kept} kept from an earlier run" in resumed[1]

    merged = tmp_path / "merged.txt"
    parts = [str(tmp_path / f"part-{k}.txt") for k in range(3)]
    code, err = _run([sys.executable, "-m", "seldon_server.batch.cli", "merge",
                      "-o", str(merged), "-i", str(source), *parts])  # fmt: skip
    assert code == ExitCode.LINES_FAILED, err
    assert f"{TOTAL} lines from 3 files: ok {TOTAL - 2}, failed 2" in err

    # Line for line the single run's output, but for the batch ids (one per shard) and instance
    # ids: both random uuids, masked. gRPC tag order is protobuf map order: compare as JSON.
    got = [without_instance_ids(text) for text in merged.read_text().splitlines()]
    want = [without_instance_ids(text) for text in single.read_text().splitlines()]
    assert len(got) == TOTAL
    assert list(map(json.loads, got)) == list(map(json.loads, want))
    if transport == "rest":
        assert got == want
    assert all("status" in json.loads(got[k]) for k in BAD)
