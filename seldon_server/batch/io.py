"""Input lines in, output lines out in input order, and the scan of an output for --resume."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from seldon_server.batch.shard import Shard

_CHUNK = 1 << 20


def iter_lines(file: BinaryIO) -> Iterator[bytes]:
    """Every line, blank ones included (each gets an index and an output line), without EOL."""
    for raw in file:
        yield raw.rstrip(b"\r\n")


def count_lines(path: Path) -> int:
    """The number of lines iter_lines will yield (a last line without newline counts)."""
    count, last = 0, b"\n"
    with open(path, "rb") as file:
        while chunk := file.read(_CHUNK):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


@dataclass(slots=True)
class ResumeState:
    """What an interrupted run left in its output file."""

    done: set[int] = field(default_factory=set)
    batch_id: str | None = None
    lines: int = 0


def scan_output(path: Path, shard: Shard | None = None) -> ResumeState:
    """Index the complete lines of an output file and cut off a partly written last line.

    A line is identified by its batch_index (meta.tags, meta for error lines, or a V2 line's
    parameters); a line without one (a server that does not echo tags) counts by its position
    among the shard's lines, which holds for ordered output.
    """
    shard = shard or Shard()
    state = ResumeState()
    if not path.exists():
        return state
    with open(path, "r+b") as file:
        keep = 0
        for number, raw in enumerate(file):
            if not raw.endswith(b"\n"):
                break  # a line cut short by a kill: drop it, the line is sent again
            keep += len(raw)
            index, batch_id = identify(parse_line(raw))
            state.done.add(shard.line_at(number) if index is None else index)
            state.batch_id = state.batch_id or batch_id
            state.lines += 1
        file.truncate(keep)
    return state


def parse_line(raw: bytes) -> Any:
    """An output line as JSON, or None if it is not JSON."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


def identify(line: Any) -> tuple[int | None, str | None]:
    """An output line's (batch_index, batch_id); success lines keep them in meta.tags, predict
    error lines in meta itself (reference 8.4), V2 success lines in parameters."""
    if not isinstance(line, dict):
        return None, None
    meta, parameters = line.get("meta"), line.get("parameters")
    if isinstance(meta, dict):
        ids: Any = meta.get("tags") if isinstance(meta.get("tags"), dict) else meta
    elif isinstance(parameters, dict):
        ids = parameters
    else:
        return None, None
    index, batch_id = ids.get("batch_index"), ids.get("batch_id")
    if isinstance(index, float) and index.is_integer():  # gRPC tags are doubles; never inf
        index = int(index)
    if isinstance(index, int) and not isinstance(index, bool):
        return index, batch_id if isinstance(batch_id, str) else None
    return None, None


class OutputWriter:
    """Writes each task's lines in task order (or on arrival when unordered).

    Results that arrive early wait in `pending`; the pipeline bounds how far ahead of the oldest
    unfinished task the reader may go, which bounds this buffer.
    """

    def __init__(self, file: BinaryIO, ordered: bool) -> None:
        self._file = file
        self._ordered = ordered
        self._next = 0
        self._pending: dict[int, list[str] | None] = {}
        self._blocked = False

    def add(self, seq: int, lines: list[str] | None) -> int:
        """Take task `seq`'s lines (None: interrupted, never written); return tasks retired."""
        if not self._ordered:
            if lines:
                self._write(lines)
            return 1
        self._pending[seq] = lines
        retired = 0
        while self._next in self._pending:
            ready = self._pending.pop(self._next)
            self._next += 1
            retired += 1
            if ready is None:
                self._blocked = True  # an interrupted task: nothing after it may be written
            elif not self._blocked:
                self._write(ready)
        return retired

    @property
    def pending(self) -> int:
        """Tasks finished but waiting for an earlier one."""
        return len(self._pending)

    def _write(self, lines: list[str]) -> None:
        self._file.write(("\n".join(lines) + "\n").encode())

    def flush(self) -> None:
        self._file.flush()
