"""`seldon-batch-processor merge` on hand-written shard files: order, error lines, and refusals."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from seldon_server.batch.cli import main
from seldon_server.batch.config import ExitCode


def _ok(index: int) -> str:
    return json.dumps({"data": {"ndarray": [[index]]},
                       "meta": {"tags": {"batch_id": "B", "batch_index": index}}})  # fmt: skip


def _error(index: int) -> str:
    status = {"info": "FAILURE", "reason": "bad line", "status": 1}
    return json.dumps({"status": status, "meta": {"batch_id": "B", "batch_index": index}})


def _line(index: int, errors: frozenset[int] = frozenset()) -> str:
    return _error(index) if index in errors else _ok(index)


def _shards(folder: Path, total: int, count: int = 3, **kwargs: frozenset[int]) -> list[Path]:
    """Shard files as `count` round-robin shards of `total` lines would write them."""
    paths = []
    for k in range(count):
        path = folder / f"part-{k}.txt"
        path.write_text("".join(_line(i, **kwargs) + "\n" for i in range(k, total, count)))
        paths.append(path)
    return paths


def _merge(out: Path, shards: list[Path], *flags: str) -> int:
    return main(["merge", "-o", str(out), *flags, *map(str, shards)])


def _input(folder: Path, lines: int) -> Path:
    path = folder / "input.txt"
    path.write_text("[[0]]\n" * lines)
    return path


def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("seldon-batch-processor merge: error: "), err
    return err


def test_merges_in_input_order_byte_for_byte_with_error_lines_in_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    errors = frozenset({4, 7})
    shards = _shards(tmp_path, 20, errors=errors)
    shuffled = shards[1].read_text().splitlines(keepends=True)  # as --unordered writes it
    random.Random(3).shuffle(shuffled)
    shards[1].write_text("".join(shuffled))
    out = tmp_path / "merged.txt"

    code = _merge(out, list(reversed(shards)), "-i", str(_input(tmp_path, 20)))

    assert code == ExitCode.LINES_FAILED  # as the shards' own exit codes said
    assert out.read_text() == "".join(_line(i, errors) + "\n" for i in range(20))
    assert "20 lines from 3 files: ok 18, failed 2" in capsys.readouterr().err
    assert _merge(tmp_path / "clean.txt", _shards(tmp_path, 7)) == ExitCode.OK


def test_a_missing_line_is_named_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shards = _shards(tmp_path, 20)
    shards[2].write_text("".join(_ok(i) + "\n" for i in (2, 8, 11, 14, 17)))  # 5 is lost
    out = tmp_path / "merged.txt"
    out.write_text("an earlier merge\n")

    assert _merge(out, shards) == ExitCode.IO_ERROR
    assert "missing input lines (0-based) 5 (1 in all:" in _error_line(capsys)
    assert out.read_text() == "an earlier merge\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_many_missing_lines_show_the_first_few(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shards = _shards(tmp_path, 30)
    assert _merge(tmp_path / "merged.txt", shards[:2]) == ExitCode.IO_ERROR  # shard 2 forgotten
    # Without -i the last line seen (28) bounds the check; 29 would only be caught with -i.
    assert "missing input lines (0-based) 2, 5, 8, 11, 14, ... (9 in all:" in _error_line(capsys)


def test_a_duplicated_line_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shards = _shards(tmp_path, 20)
    with open(shards[0], "a") as extra:  # line 4 again: a shard rerun without --resume, say
        extra.write(_ok(4) + "\n")

    assert _merge(tmp_path / "merged.txt", shards) == ExitCode.IO_ERROR
    err = _error_line(capsys)
    assert "duplicated 4 (1 in all)" in err and "missing" not in err
    assert not (tmp_path / "merged.txt").exists()


def test_the_same_file_twice_duplicates_every_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shards = _shards(tmp_path, 6, count=1)
    assert _merge(tmp_path / "merged.txt", shards * 2) == ExitCode.IO_ERROR
    assert "duplicated 0, 1, 2, 3, 4, ... (6 in all)" in _error_line(capsys)


def test_the_input_line_count_catches_a_missing_last_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shards = _shards(tmp_path, 20)
    out = tmp_path / "merged.txt"
    assert _merge(out, shards) == ExitCode.OK  # complete as far as the shards can tell
    capsys.readouterr()

    assert _merge(out, shards, "-i", str(_input(tmp_path, 21))) == ExitCode.IO_ERROR
    assert "missing input lines (0-based) 20 (1 in all:" in _error_line(capsys)
    assert _merge(out, shards, "-i", str(_input(tmp_path, 19))) == ExitCode.IO_ERROR
    assert "beyond the input's 19 lines: 19 (1 in all)" in _error_line(capsys)


def test_a_cut_or_unplaceable_line_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shards = _shards(tmp_path, 9)
    with open(shards[1], "a") as cut:
        cut.write(_ok(10)[:15])  # killed while writing, never resumed
    assert _merge(tmp_path / "merged.txt", shards) == ExitCode.IO_ERROR
    assert f"{shards[1]}:4: the last line is cut short" in _error_line(capsys)

    shards[1].write_text(_ok(1) + "\n" + json.dumps({"data": {}, "meta": {}}) + "\n")
    assert _merge(tmp_path / "merged.txt", shards) == ExitCode.IO_ERROR
    assert f"{shards[1]}:2: no batch_index" in _error_line(capsys)


def test_usage_and_io_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shards = _shards(tmp_path, 6)
    source = _input(tmp_path, 6)
    assert _merge(shards[0], shards) == ExitCode.USAGE  # would replace a shard file
    assert "is one of the files being merged" in _error_line(capsys)
    assert _merge(source, shards, "-i", str(source)) == ExitCode.USAGE
    _error_line(capsys)
    assert main(["merge", str(shards[0])]) == ExitCode.USAGE  # -o is required
    assert "--output-data-path" in _error_line(capsys)
    assert _merge(tmp_path / "out.txt", [*shards, tmp_path / "nope.txt"]) == ExitCode.IO_ERROR
    assert "nope.txt" in _error_line(capsys)
    assert _merge(tmp_path / "no" / "out.txt", shards) == ExitCode.IO_ERROR
    _error_line(capsys)


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["merge", "--help"])
    assert exited.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--output-data-path" in text and "--input-data-path" in text and "SHARD_FILE" in text
    assert "exit codes:" in text
