"""`seldon-batch-processor merge`: join a sharded job's outputs into one file in input order."""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import sys
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seldon_server.batch.config import PROG, ConfigError, ExitCode, Formatter, Parser, same_file
from seldon_server.batch.io import count_lines, identify, parse_line

_SHOWN = 5  # line numbers quoted in an error
_MAX_INDEX = 1 << 62  # fits the array's signed 64-bit items with room to spare


class MergeError(Exception):
    """One line: why the shard files cannot be merged; nothing was written."""


@dataclass(slots=True)
class ShardFile:
    """One shard's output: each line's batch_index and byte offset, by ascending batch_index."""

    path: Path
    indices: array[int]
    offsets: array[int]
    failed: int  # error lines


@dataclass(frozen=True, slots=True)
class MergeSummary:
    lines: int
    failed: int
    output: Path

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.LINES_FAILED if self.failed else ExitCode.OK


def merge(shards: Sequence[Path], output: Path, input_path: Path | None = None) -> MergeSummary:
    """Write every line of `shards` to `output` by batch_index, once every input line is known to
    be there exactly once; raises MergeError (or OSError) and then writes nothing.

    Without `input_path` a missing last line cannot be noticed: the count comes from the input.
    """
    files = [scan(path) for path in shards]
    total = count_lines(input_path) if input_path is not None else None
    lines = check(files, total)
    write(files, output)
    return MergeSummary(lines, sum(f.failed for f in files), output)


def scan(path: Path) -> ShardFile:
    """Read the batch_index of every line; a shard written with --unordered is sorted here."""
    indices, offsets = array("q"), array("q")
    failed = offset = 0
    ordered = True
    with open(path, "rb") as file:
        for number, raw in enumerate(file, 1):
            if not raw.endswith(b"\n"):
                raise MergeError(f"{path}:{number}: the last line is cut short (a shard killed "
                                 "while writing); finish that shard with --resume")  # fmt: skip
            line = parse_line(raw)
            index, _ = identify(line)
            if index is None or not 0 <= index < _MAX_INDEX:
                raise MergeError(f"{path}:{number}: no batch_index in meta.tags (or meta, or "
                                 "a V2 line's parameters) to place the line by; does the model "
                                 "echo meta.tags?")  # fmt: skip
            ordered = ordered and (not indices or index > indices[-1])
            indices.append(index)
            offsets.append(offset)
            failed += _is_error(line)
            offset += len(raw)
    if not ordered:
        order = sorted(range(len(indices)), key=indices.__getitem__)
        indices = array("q", (indices[k] for k in order))
        offsets = array("q", (offsets[k] for k in order))
    return ShardFile(path, indices, offsets, failed)


def _is_error(line: Any) -> bool:
    status = line.get("status") if isinstance(line, dict) else None
    return isinstance(status, dict) and status.get("status") in (1, "FAILURE")


@dataclass(slots=True)
class _Tally:
    """Distinct line numbers, given in ascending order: how many, and the first few."""

    count: int = 0
    first: list[int] = field(default_factory=list)
    last: int = -1

    def add(self, start: int, stop: int | None = None) -> None:
        """Numbers start..stop-1 (just `start` without stop)."""
        start, stop = max(start, self.last + 1), start + 1 if stop is None else stop
        if stop <= start:
            return
        self.count += stop - start
        self.first.extend(range(start, min(stop, start + _SHOWN - len(self.first))))
        self.last = stop - 1

    def text(self) -> str:
        return ", ".join(map(str, self.first)) + (", ..." if self.count > len(self.first) else "")


def check(files: Sequence[ShardFile], total: int | None) -> int:
    """The number of lines, if they are input lines 0..n-1 exactly once (n = `total` when
    given); otherwise MergeError naming the first few missing, duplicated or surplus lines."""
    missing, duplicated, beyond = _Tally(), _Tally(), _Tally()
    expected = 0  # the next line number not yet seen
    for index in heapq.merge(*(f.indices for f in files)):
        if total is not None and index >= total:
            beyond.add(index)
        elif index < expected:
            duplicated.add(index)
        else:
            missing.add(expected, index)
            expected = index + 1
    if total is not None:
        missing.add(expected, total)
    problems = []
    if missing.count:
        problems.append(f"missing input lines (0-based) {missing.text()} ({missing.count} in all: "
                        "a shard file left out, or a shard unfinished? finish it with "
                        "--resume)")  # fmt: skip
    if duplicated.count:
        problems.append(f"duplicated {duplicated.text()} ({duplicated.count} in all)")
    if beyond.count:
        problems.append(
            f"beyond the input's {total} lines: {beyond.text()} ({beyond.count} in all)"
        )
    if problems:
        names = f"{len(files)} shard file" + "s" * (len(files) != 1)
        raise MergeError(f"cannot merge {names} (nothing written): " + "; ".join(problems))
    return expected


def write(files: Sequence[ShardFile], output: Path) -> None:
    """Copy the lines byte for byte in batch_index order, through a temporary file renamed into
    place, so `output` is never a half-merged file that looks complete."""
    temporary = output.with_name(f".{output.name}.{os.getpid()}.merging")
    try:
        with contextlib.ExitStack() as stack:
            sources = [stack.enter_context(open(f.path, "rb")) for f in files]
            sink = stack.enter_context(open(temporary, "wb"))
            for _, k, offset in heapq.merge(*(_located(k, f) for k, f in enumerate(files))):
                source = sources[k]
                if source.tell() != offset:  # an --unordered shard; ordered ones read straight on
                    source.seek(offset)
                sink.write(source.readline())
        os.replace(temporary, output)
    finally:
        temporary.unlink(missing_ok=True)


def _located(k: int, file: ShardFile) -> Iterator[tuple[int, int, int]]:
    return zip(file.indices, itertools.repeat(k), file.offsets)


def build_parser() -> Parser:
    parser = Parser(
        prog=f"{PROG} merge",
        allow_abbrev=False,
        formatter_class=Formatter,
        description="Join the output files of a sharded job (--shard-count) into one file in\n"
        "input order, byte for byte, after checking that every input line is there exactly once\n"
        "(by each output line's batch_index). On any problem nothing is written.",
        epilog="exit codes:\n"
        "  0    every line is a success line\n"
        "  1    merged, but some lines are error lines (as the shards reported)\n"
        "  2    usage error\n"
        "  3    a file could not be read or written, or the shard files are incomplete or\n"
        "       inconsistent (missing, duplicated or unplaceable lines); nothing written",
    )
    parser.add_argument("shards", nargs="+", metavar="SHARD_FILE", type=Path,
                        help="The shards' output files, in any order")  # fmt: skip
    parser.add_argument("-o", "--output-data-path", required=True, type=Path, metavar="PATH",
                        help="The merged output file [required]")  # fmt: skip
    parser.add_argument("-i", "--input-data-path", type=Path, metavar="PATH",
                        help="The job's input file, to check that the line count matches: "
                        "without it a missing last line goes unnoticed [recommended]")  # fmt: skip
    return parser


def main(argv: Sequence[str]) -> int:
    """The `merge` subcommand; returns its exit code."""
    try:
        args = build_parser().parse_args(list(argv))
        _refuse_overwrite(args.output_data_path, [*args.shards, args.input_data_path])
    except ConfigError as exc:
        print(f"{PROG} merge: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    try:
        summary = merge(args.shards, args.output_data_path, args.input_data_path)
    except MergeError as exc:
        print(f"{PROG} merge: error: {exc}", file=sys.stderr)
        return ExitCode.IO_ERROR
    except OSError as exc:
        print(f"{PROG} merge: error: cannot read or write {exc.filename}: {exc.strerror}",
              file=sys.stderr)  # fmt: skip
        return ExitCode.IO_ERROR
    code = summary.exit_code
    print(f"{PROG} merge: {summary.lines} lines from {len(args.shards)} files: ok "
          f"{summary.lines - summary.failed}, failed {summary.failed}; output {summary.output}; "
          f"exit {int(code)} ({code.name})", file=sys.stderr)  # fmt: skip
    return code


def _refuse_overwrite(output: Path, sources: list[Path | None]) -> None:
    for source in sources:
        if source is not None and same_file(output, source):
            raise ConfigError(f"--output-data-path {output} is one of the files being merged")
