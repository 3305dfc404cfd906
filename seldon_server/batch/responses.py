"""Output lines: success lines from responses, error lines, and micro-batch responses split."""

from __future__ import annotations

import json
from typing import Any

from seldon_server.batch import tftensor
from seldon_server.batch.payload import Part


class SplitError(ValueError):
    """A micro-batch response that cannot be split back into one response per line."""


# Output lines use json.dumps with its default separators (", " and ": "), as the original wrote
# them (reference 8.4); ensure_ascii keeps every line pure ASCII.
dumps = json.dumps


def success_line(response: dict[str, Any]) -> str:
    """The server's response as one line, with batch_index turned back into an integer."""
    meta = response.get("meta")
    if isinstance(meta, dict):
        tags = meta.get("tags")
        # gRPC (and proto-based REST servers) return tag numbers as doubles: 7 comes back 7.0.
        if isinstance(tags, dict):
            index = tags.get("batch_index")
            if isinstance(index, float) and index.is_integer():
                tags["batch_index"] = int(index)
    return dumps(response)


def feedback_line(response: dict[str, Any], tags: dict[str, Any]) -> str:
    """A feedback response with the batch identifiers merged into its `meta.tags`."""
    meta = response.get("meta")
    if not isinstance(meta, dict):
        meta = response["meta"] = {}
    merged = dict(meta["tags"]) if isinstance(meta.get("tags"), dict) else {}
    merged.update(tags)
    meta["tags"] = merged
    return dumps(response)


def error_line(reason: str, tags: dict[str, Any], feedback: bool) -> str:
    """An error line as the original wrote it, but never with an empty reason."""
    status = {"info": "FAILURE", "reason": reason or "unknown error", "status": 1}
    return dumps({"status": status, "meta": {"tags": tags} if feedback else tags})


def split(response: dict[str, Any], parts: list[Part], batch_id: str) -> list[str]:
    """One success line per part, each looking as if its line had been sent alone."""
    data = response.get("data")
    if not isinstance(data, dict):
        raise SplitError(f"the micro-batch response has no data to split into {len(parts)} rows")
    encoding = next((name for name in ("ndarray", "tensor", "tftensor") if name in data), None)
    if encoding is None:
        raise SplitError("the micro-batch response data has no ndarray, tensor or tftensor")
    rows = _rows(encoding, data[encoding], len(parts))
    meta = response.get("meta")
    if not isinstance(meta, dict):
        meta = {}
    lines = []
    for part, row in zip(parts, rows, strict=True):
        line: dict[str, Any] = {}
        for key, value in response.items():
            if key == "data":
                line[key] = {k: row if k == encoding else v for k, v in data.items()}
            elif key != "meta":
                line[key] = value
            else:
                line[key] = _row_meta(meta, part, batch_id)
        if "meta" not in line:
            line["meta"] = _row_meta(meta, part, batch_id)
        lines.append(dumps(line))
    return lines


def _rows(encoding: str, payload: Any, count: int) -> list[Any]:
    if encoding == "ndarray":
        if not isinstance(payload, list) or len(payload) != count:
            size = len(payload) if isinstance(payload, list) else "no"
            raise SplitError(f"the micro-batch response has {size} rows for {count} lines")
        return [[row] for row in payload]
    if encoding == "tensor":
        return _tensor_rows(payload, count)
    try:
        return tftensor.split_rows(payload, count)
    except tftensor.TensorError as exc:
        raise SplitError(str(exc)) from None


def _tensor_rows(tensor: Any, count: int) -> list[dict[str, Any]]:
    shape = tensor.get("shape") if isinstance(tensor, dict) else None
    values = tensor.get("values", []) if isinstance(tensor, dict) else None
    if (
        not isinstance(shape, list)
        or not shape
        or shape[0] != count
        or not isinstance(values, list)
    ):
        raise SplitError(f"the micro-batch response tensor has shape {shape}, not {count} rows")
    width, rest = divmod(len(values), count)
    if rest:
        raise SplitError(f"{len(values)} tensor values do not split into {count} rows")
    row_shape = [1, *shape[1:]]
    rows = []
    for i in range(count):
        row_values = values[i * width : (i + 1) * width]
        rows.append(
            {
                k: row_shape if k == "shape" else row_values if k == "values" else v
                for k, v in tensor.items()
            }
        )
    return rows


def _row_meta(meta: dict[str, Any], part: Part, batch_id: str) -> dict[str, Any]:
    tags = meta.get("tags")
    if not isinstance(tags, dict):
        tags = {}
    # As with batch size 1: the user's raw tags, then the server's (which win), then the ids.
    merged = {**part.user_tags, **tags}
    merged.setdefault("batch_id", batch_id)
    merged["batch_index"] = part.line.index
    merged["batch_instance_id"] = part.line.instance_id
    if list(tags) == sorted(tags):  # the server sorts keys (Seldon's REST does): so do we
        merged = dict(sorted(merged.items()))
    row_meta = {k: merged if k == "tags" else v for k, v in meta.items()}
    row_meta.setdefault("tags", merged)
    return row_meta
