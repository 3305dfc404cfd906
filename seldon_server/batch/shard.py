"""Which input lines one shard of a sharded job owns, and the shard's output path."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

PLACEHOLDER = "{shard}"  # replaced by the shard index in --output-data-path
JOB_INDEX_ENV = "JOB_COMPLETION_INDEX"  # set in each pod of a Kubernetes Indexed Job


@dataclass(frozen=True, slots=True)
class Shard:
    """Shard `index` of `count` owns the input lines whose 0-based number mod `count` is `index`.

    Round-robin rather than contiguous ranges: every shard gets the same number of lines (give or
    take one) without anyone knowing the input's length in advance, and a slow stretch of the
    input (large or hard rows) is spread over every shard. The price is that each shard reads the
    whole input, which costs little beside sending its share.
    """

    index: int = 0
    count: int = 1

    def take(self, lines: Iterable[T]) -> Iterator[tuple[int, T]]:
        """This shard's lines, each with its global 0-based line number."""
        return itertools.islice(enumerate(lines), self.index, None, self.count)

    def owns(self, line: int) -> bool:
        return line % self.count == self.index

    def line_at(self, position: int) -> int:
        """The global line number of this shard's `position`-th line (0-based)."""
        return self.index + position * self.count

    def size(self, total: int) -> int:
        """How many of `total` input lines this shard owns."""
        return max(0, (total - self.index + self.count - 1) // self.count)

    def __str__(self) -> str:
        return f"shard {self.index} of {self.count}"


def output_path(path: Path, index: int) -> Path:
    """`path` with every `{shard}` replaced by `index` (plain replace: other braces stay)."""
    return Path(str(path).replace(PLACEHOLDER, str(index)))


def default_output_path(input_path: Path, index: int | None) -> Path:
    """Beside the input with `.out` before the suffix (`.out-<index>` for a shard), so the
    default never clobbers the input, nor one shard another's output on a shared volume."""
    tag = ".out" if index is None else f".out-{index}"
    return input_path.with_name(f"{input_path.stem}{tag}{input_path.suffix}")


def sample(numbers: Iterable[int], limit: int = 5) -> str:
    """The first `limit` numbers, comma-separated, with `...` when there are more."""
    head = list(itertools.islice(numbers, limit + 1))
    text = ", ".join(str(n) for n in head[:limit])
    return text + ", ..." if len(head) > limit else text
