"""Sharded runs: which lines a shard owns, its options and output path, resume, and merge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from batch_helpers import ids, run_batch, without_instance_ids, write_input
from batch_servers import Fault, GrpcEcho, HttpEcho

from seldon_server.batch.cli import main
from seldon_server.batch.config import ConfigError, ExitCode, build_parser, resolve
from seldon_server.batch.shard import Shard


@pytest.mark.parametrize("count", [1, 2, 3, 7])
@pytest.mark.parametrize("total", [0, 1, 2, 10, 301])
def test_shards_split_the_lines_round_robin(count: int, total: int) -> None:
    taken = [[i for i, _ in Shard(k, count).take(range(total))] for k in range(count)]
    assert sorted(i for lines in taken for i in lines) == list(range(total))  # each line once
    for k, lines in enumerate(taken):
        shard = Shard(k, count)
        assert lines == [i for i in range(total) if i % count == k]
        assert len(lines) == shard.size(total)
        assert [shard.line_at(p) for p in range(len(lines))] == lines
        assert all(shard.owns(i) == (i in lines) for i in range(total))
    assert max(map(len, taken)) - min(map(len, taken)) <= 1  # balanced


def _resolve(*argv: str, env: dict[str, str] | None = None) -> tuple[int | None, Path]:
    config = resolve(["-d", "x", "-i", "/data/in.txt", *argv], env or {})
    return config.shard_index, config.output_data_path


def test_the_output_path_placeholder_and_the_default_per_shard() -> None:
    sharded = ("--shard-count", "3", "--shard-index", "2")
    assert _resolve(*sharded, "-o", "/out/part-{shard}.txt") == (2, Path("/out/part-2.txt"))
    assert _resolve(*sharded, "-o", "/{shard}/{x}-{shard}") == (2, Path("/2/{x}-2"))
    assert _resolve(*sharded, "-o", "/out/fixed.txt")[1] == Path("/out/fixed.txt")
    assert _resolve(*sharded)[1] == Path("/data/in.out-2.txt")  # never shared by two shards
    assert _resolve() == (None, Path("/data/in.out.txt"))  # unsharded: as before
    env = {"SELDON_BATCH_SHARD_COUNT": "4", "SELDON_BATCH_SHARD_INDEX": "1",
           "SELDON_BATCH_OUTPUT_DATA_PATH": "/out/{shard}.txt"}  # fmt: skip
    assert _resolve(env=env) == (1, Path("/out/1.txt"))
    assert resolve(["-d", "x", "--shard-count", "4", "--shard-index", "1"], {}).shard == Shard(1, 4)


def test_job_completion_index_is_the_shard_index_of_a_sharded_run_only() -> None:
    job = {"JOB_COMPLETION_INDEX": "1"}
    assert _resolve("--shard-count", "3", env=job)[0] == 1
    assert _resolve("--shard-count", "3", "--shard-index", "2", env=job)[0] == 2
    assert _resolve("--shard-count", "3", env={**job, "SELDON_BATCH_SHARD_INDEX": "0"})[0] == 0
    with pytest.raises(ConfigError, match="needs --shard-index"):  # blank counts as unset
        _resolve("--shard-count", "3", env={"JOB_COMPLETION_INDEX": " "})
    config = resolve(["-d", "x"], job)  # an Indexed Job of unsharded copies stays unsharded
    assert (config.shard_index, config.shard) == (None, Shard())


@pytest.mark.parametrize(
    "argv,env,message",
    [
        (["--shard-index", "1"], {}, "--shard-index needs --shard-count"),
        ([], {"SELDON_BATCH_SHARD_INDEX": "1"}, "--shard-index needs --shard-count"),
        (["--shard-count", "0", "--shard-index", "0"], {}, "--shard-count must be at least 1"),
        (["--shard-count", "3"], {}, "--shard-count needs --shard-index"),
        (["--shard-count", "3", "--shard-index", "3"], {}, "--shard-index must be from 0 to 2"),
        (["--shard-count", "3", "--shard-index", "-1"], {}, "--shard-index must be from 0 to 2"),
        (["--shard-count", "3"], {"JOB_COMPLETION_INDEX": "5"},
         "JOB_COMPLETION_INDEX must be from 0 to 2"),
        (["--shard-count", "3"], {"JOB_COMPLETION_INDEX": "x"}, "JOB_COMPLETION_INDEX: invalid"),
        (["--shard-count", "two"], {}, "--shard-count: invalid value"),
        (["-o", "out-{shard}.txt"], {}, "has {shard} but no --shard-count"),
    ],
)  # fmt: skip
def test_bad_shard_options_fail_with_one_line(
    argv: list[str], env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message.replace("{", r"\{")) as caught:
        resolve(["-d", "x", *argv], env)
    assert "\n" not in str(caught.value)


def test_a_bad_shard_option_exits_2_before_any_request(
    tmp_path: Path, http_echo: HttpEcho, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_input(tmp_path, ["[[1]]"])
    code = main(["-d", "x", "-g", "seldon", "-h", http_echo.host, "-i", str(source),
                 "--shard-index", "1"])  # fmt: skip
    assert code == ExitCode.USAGE
    err = capsys.readouterr().err
    assert err == "seldon-batch-processor: error: --shard-index needs --shard-count " \
        "(or SELDON_BATCH_SHARD_COUNT)\n"  # fmt: skip
    assert http_echo.requests == []


def test_help_documents_sharding_and_merge(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    expected = ["--shard-count", "--shard-index", "JOB_COMPLETION_INDEX", "{shard}", "mod N",
                "seldon-batch-processor merge", "--resume finishes one shard"]  # fmt: skip
    assert [words for words in expected if words not in text] == []


def _indices(path: Path) -> list[int]:
    return [ids(json.loads(text))["batch_index"] for text in path.read_text().splitlines()]


def test_shards_merge_into_the_single_run_output(
    tmp_path: Path, echo: HttpEcho | GrpcEcho, transport: str
) -> None:
    # Micro-batches of 3 and a bad line: the shards group other lines than the single run does.
    lines = [json.dumps([[k, k / 4]]) if k != 17 else "{oops" for k in range(40)]
    flags = ("-s", "3", "-w", "2")
    single = run_batch(tmp_path, echo.host, transport, lines, *flags)
    sent: list[set[int]] = []
    for k in range(3):
        before = len(echo.requests)
        sharding = ("--shard-count", "3", "--shard-index", str(k))
        template = str(tmp_path / "part-{shard}.txt")
        shard = run_batch(tmp_path, echo.host, transport, None, *flags, *sharding, "-o", template)
        assert shard.output_path == tmp_path / f"part-{k}.txt"
        assert shard.summary.exit_code == (ExitCode.LINES_FAILED if k == 17 % 3 else ExitCode.OK)
        assert shard.summary.line().startswith(f"shard {k} of 3: ")
        assert _indices(shard.output_path) == list(range(k, 40, 3))  # global line numbers
        sent.append(
            {int(row[0]) for r in echo.requests[before:] for row in r.body["data"]["ndarray"]}
        )
    assert [sorted(rows) for rows in sent] == [[k for k in range(i, 40, 3) if k != 17]
                                               for i in range(3)]  # fmt: skip

    merged = tmp_path / "merged.txt"
    parts = [str(tmp_path / f"part-{k}.txt") for k in (2, 0, 1)]
    code = main(["merge", "-o", str(merged), "-i", str(single.input_path), *parts])
    assert code == ExitCode.LINES_FAILED
    # Equal to the single run's output but for the random instance ids (same --batch-id here).
    # Over gRPC a line sent alone and one split from a micro-batch order their tags differently
    # (as without sharding): compare those as JSON.
    masked = [without_instance_ids(text) for text in merged.read_text().splitlines()]
    expected = [without_instance_ids(text) for text in single.texts]
    if transport == "rest":
        assert masked == expected
    assert list(map(json.loads, masked)) == list(map(json.loads, expected))


def _no_tags(number: int, body: dict[str, object]) -> Fault:
    return ("reply", {"data": {"ndarray": [[0]]}})  # a model that does not echo meta.tags


@pytest.mark.parametrize("echoes_tags", [True, False])
def test_a_shard_resumes_only_its_own_missing_lines(tmp_path: Path, echoes_tags: bool) -> None:
    server = HttpEcho() if echoes_tags else HttpEcho(_no_tags)
    sharding = ("--shard-count", "3", "--shard-index", "1", "-o", str(tmp_path / "p-{shard}"))
    try:
        first = run_batch(tmp_path, server.host, "rest", [f"[[{k}]]" for k in range(30)],
                          *sharding)  # fmt: skip
        kept = "".join(first.output_path.read_text().splitlines(keepends=True)[:4])
        first.output_path.write_text(kept + first.texts[4][:9])  # killed while writing line 5
        before = len(server.requests)
        second = run_batch(tmp_path, server.host, "rest", None, *sharding, "--resume")
        resent = [r.body["meta"]["tags"]["batch_index"] for r in server.requests[before:]]
    finally:
        server.stop()
    assert second.summary.exit_code == ExitCode.OK and second.summary.kept == 4
    # Without tags a kept line counts by its position among this shard's lines: 1, 4, 7, 10.
    assert resent == [13, 16, 19, 22, 25, 28]
    assert len(second.texts) == 10
    if echoes_tags:
        assert _indices(second.output_path) == list(range(1, 30, 3))


def test_resume_refuses_another_shards_output(tmp_path: Path, http_echo: HttpEcho) -> None:
    out = str(tmp_path / "shared.txt")
    lines = [f"[[{k}]]" for k in range(9)]
    run_batch(tmp_path, http_echo.host, "rest", lines, "--shard-count", "3", "--shard-index", "0",
              "-o", out)  # fmt: skip
    before = len(http_echo.requests)
    second = run_batch(tmp_path, http_echo.host, "rest", None, "--shard-count", "3",
                       "--shard-index", "1", "-o", out, "--resume")  # fmt: skip
    assert second.summary.exit_code == ExitCode.USAGE
    assert second.summary.error == (
        f"--resume: {out} holds input lines 0, 3, 6, which are not shard 1 of 3's; "
        "give each shard its own output path"
    )
    assert len(http_echo.requests) == before and _indices(Path(out)) == [0, 3, 6]
