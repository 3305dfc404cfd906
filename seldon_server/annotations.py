"""Parse the Kubernetes downward-API annotations file (`key="value"` lines)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

logger = logging.getLogger(__name__)

DEFAULT_ANNOTATIONS_PATH = "/etc/podinfo/annotations"
REST_TIMEOUT_ANNOTATION = "seldon.io/rest-timeout"
GRPC_MAX_MESSAGE_SIZE_ANNOTATION = "seldon.io/grpc-max-message-size"


def load_annotations(path: str | Path = DEFAULT_ANNOTATIONS_PATH) -> dict[str, str]:
    """Read the annotations file at `path`; a missing file means no annotations.

    Other I/O errors (permissions, a directory) propagate so start-up can name the path.
    """
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, NotADirectoryError):
        return {}
    return parse_annotations(text)


def parse_annotations(text: str) -> dict[str, str]:
    """Parse `key="value"` lines, splitting at the first `=`; other lines are skipped."""
    annotations: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key:
            if line.strip():
                logger.debug("Skipping annotation line %r", line)
            continue
        annotations[key] = _unquote(value.strip())
    return annotations


def _unquote(value: str) -> str:
    """Strip the surrounding quotes, undoing the escapes the kubelet writes (`\\"`, `\\n`)."""
    if len(value) < 2 or value[0] != '"' or value[-1] != '"':
        return value
    try:
        decoded = json.loads(value)
    except ValueError:
        # Go's %q has a few escapes JSON lacks (\x.., \a, \v); keep the raw text then.
        return value[1:-1]
    return decoded if isinstance(decoded, str) else value[1:-1]
