"""Run the batch processor in-process on a list of input lines and read its output back."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seldon_server.batch.config import resolve
from seldon_server.batch.pipeline import Summary, run

BATCH_ID = "batch-under-test"


@dataclass
class BatchRun:
    summary: Summary
    texts: list[str]  # the output lines as written
    input_path: Path
    output_path: Path

    @property
    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(text) for text in self.texts]


def write_input(tmp_path: Path, lines: list[str], name: str = "input.txt") -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines))
    return path


def run_batch(
    tmp_path: Path, host: str, transport: str, lines: list[str] | None, *flags: str
) -> BatchRun:
    """Run with the `seldon` gateway and fast retries unless `flags` say otherwise."""
    input_path = tmp_path / "input.txt"
    if lines is not None:
        write_input(tmp_path, lines)
    argv = ["-d", "dep", "-g", "seldon", "-h", host, "-t", transport, "-i", str(input_path),
            "-u", BATCH_ID, "--retry-backoff", "0.01", "--timeout", "10", *flags]  # fmt: skip
    config = resolve(argv, {})
    summary = run(config)
    texts = config.output_data_path.read_text().splitlines()
    return BatchRun(summary, texts, input_path, config.output_data_path)


def ids(line: dict[str, Any]) -> dict[str, Any]:
    """The identifiers of an output line (success: meta.tags; error: meta)."""
    meta = line["meta"]
    return meta["tags"] if "status" not in line or "tags" in meta else meta


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def without_instance_ids(text: str) -> str:
    """An output line with its random instance id masked, to compare two runs."""
    return _UUID.sub("<uuid>", text)
