"""Input line -> request body for each data type, and lines -> one micro-batch request."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from seldon_server.batch import tftensor

ENCODINGS = ("ndarray", "tensor", "tftensor")

# Which numpy kinds each encoding can carry when rows are concatenated into one request.
_BATCHABLE_KINDS = {"ndarray": "biufUS", "tensor": "iuf", "tftensor": "biuf"}


class PayloadError(ValueError):
    """A problem with one input line: it becomes that line's error line and is never retried."""


class Unbatchable(Exception):
    """A valid line that cannot join a micro-batch; it is sent on its own, as with batch size 1."""


@dataclass(slots=True)
class Line:
    """One input line: its 0-based position, its generated instance id and its bytes."""

    index: int
    instance_id: str
    raw: bytes


@dataclass(slots=True)
class Part:
    """One line's share of a micro-batch: lines with equal keys are concatenated."""

    line: Line
    key: tuple[Any, ...]
    encoding: str
    rows: Any  # the nested list (ndarray) or the array (tensor, tftensor), first dimension 1
    names: list[str]
    user_tags: dict[str, Any]


# 100-ns intervals between the UUID epoch (1582-10-15) and the Unix epoch.
_UUID_EPOCH_OFFSET = 0x01B21DD213814000


class InstanceIds:
    """uuid1 strings for one thread, ten times cheaper than uuid.uuid1() per call.

    Same layout as uuid1 (time, clock sequence, node, all taken from one real uuid1), with the
    timestamp kept strictly increasing so two lines never share an id.
    """

    def __init__(self) -> None:
        seed = uuid.uuid1()
        self._tail = f"-{seed.clock_seq_hi_variant:02x}{seed.clock_seq_low:02x}-{seed.node:012x}"
        self._last = 0

    def __call__(self) -> str:
        stamp = max(time.time_ns() // 100 + _UUID_EPOCH_OFFSET, self._last + 1)
        self._last = stamp
        high = ((stamp >> 48) & 0x0FFF) | 0x1000  # version 1
        return f"{stamp & 0xFFFFFFFF:08x}-{(stamp >> 32) & 0xFFFF:04x}-{high:04x}{self._tail}"


def batch_tags(batch_id: str, line: Line) -> dict[str, Any]:
    """The three identifiers; batch_index is a JSON integer (the original sent it as a float)."""
    return {"batch_id": batch_id, "batch_instance_id": line.instance_id, "batch_index": line.index}


def parse(raw: bytes) -> Any:
    """Parse a line as JSON; the error text becomes the line's error reason."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"invalid JSON in input line: {exc}") from None


class RequestBuilder:
    """Builds request bodies (SeldonMessage or Feedback JSON dicts) from input lines."""

    def __init__(self, data_type: str, payload_type: str, method: str, batch_id: str) -> None:
        self.data_type = data_type
        self.payload_type = payload_type
        self.feedback = method == "feedback"
        self.batch_id = batch_id

    def single(self, line: Line) -> dict[str, Any]:
        """The request for one line, with the batch identifiers in `meta.tags`."""
        value = parse(line.raw)
        tags = batch_tags(self.batch_id, line)
        if self.data_type == "raw":
            return self._raw(value, tags)
        if self.data_type == "data":
            body: dict[str, Any] = {"data": self._data(value)}
        elif self.data_type == "json":
            # The original dropped the tags for jsonData; we send them with every data type.
            body = {"jsonData": value}
        else:
            if not isinstance(value, str):
                raise PayloadError(f"a str line must be a JSON string, got {json_kind(value)}")
            body = {"strData": value}
        body["meta"] = {"tags": tags}
        return body

    def _raw(self, value: Any, tags: dict[str, Any]) -> dict[str, Any]:
        what = "Feedback" if self.feedback else "SeldonMessage"
        if not isinstance(value, dict):
            got = json_kind(value)
            raise PayloadError(f"a raw line must be a JSON object (a {what}), got {got}")
        if self.feedback:
            return value  # Feedback has no meta; the tags are merged into the output line instead
        meta = value.setdefault("meta", {})
        if not isinstance(meta, dict):
            raise PayloadError(f"meta must be a JSON object, got {json_kind(meta)}")
        user_tags = meta.setdefault("tags", {})
        if not isinstance(user_tags, dict):
            raise PayloadError(f"meta.tags must be a JSON object, got {json_kind(user_tags)}")
        user_tags.update(tags)  # the batch identifiers win over a user's tags of the same name
        return value

    def _data(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, list):
            raise PayloadError(f"a data line must be a JSON array, got {json_kind(value)}")
        if self.payload_type == "ndarray":
            return {"ndarray": value}
        array = _array(value)
        if self.payload_type == "tensor":
            if array.dtype.kind not in "iuf":
                raise PayloadError(f"a tensor payload needs numbers, got {array.dtype} values")
            return {"tensor": {"shape": list(array.shape), "values": array.ravel().tolist()}}
        try:
            return {"tftensor": tftensor.to_json(array)}
        except tftensor.TensorError as exc:
            raise PayloadError(str(exc)) from None

    def part(self, line: Line) -> Part:
        """This line's share of a micro-batch; raises Unbatchable to have it sent alone."""
        value = parse(line.raw)
        if self.data_type == "raw":
            return self._raw_part(line, value)
        if not isinstance(value, list):
            raise PayloadError(f"a data line must be a JSON array, got {json_kind(value)}")
        array = _single_row(value, self.payload_type)
        rows = value if self.payload_type == "ndarray" else array
        key = ("data", array.shape[1:], array.dtype.kind)
        return Part(line, key, self.payload_type, rows, [], {})

    def _raw_part(self, line: Line, value: Any) -> Part:
        if not isinstance(value, dict):
            raise PayloadError(f"a raw line must be a JSON object, got {json_kind(value)}")
        # Only plain `data` messages batch; anything richer is sent alone so nothing is dropped.
        meta, data = value.get("meta", {}), value.get("data")
        if set(value) - {"data", "meta"} or not isinstance(meta, dict) or set(meta) - {"tags"}:
            raise Unbatchable
        if not isinstance(data, dict) or not isinstance(meta.get("tags", {}), dict):
            raise Unbatchable
        user_tags, names = meta.get("tags", {}), data.get("names", [])
        found = [name for name in ENCODINGS if name in data]
        if len(found) != 1 or set(data) - {"names", found[0]} or not _all_str(names):
            raise Unbatchable
        encoding = found[0]
        array = _single_row(_raw_array(data[encoding], encoding), encoding)
        rows = data[encoding] if encoding == "ndarray" else array
        key = ("raw", encoding, tuple(names), array.shape[1:], array.dtype.kind)
        return Part(line, key, encoding, rows, list(names), user_tags)

    def combine(self, parts: list[Part]) -> dict[str, Any]:
        """One request for parts with equal keys; only batch_id is sent, as the original did."""
        encoding = parts[0].encoding
        data: dict[str, Any] = {"names": parts[0].names} if parts[0].names else {}
        if encoding == "ndarray":
            data["ndarray"] = [row for part in parts for row in part.rows]
        else:
            array = np.concatenate([part.rows for part in parts])
            if encoding == "tensor":
                data["tensor"] = {"shape": list(array.shape), "values": array.ravel().tolist()}
            else:
                data["tftensor"] = tftensor.to_json(array)
        return {"data": data, "meta": {"tags": {"batch_id": self.batch_id}}}


_KIND_NAMES: dict[type, str] = {dict: "an object", list: "an array", str: "a string"}


def json_kind(value: Any) -> str:
    """How an error message names a parsed JSON value: "an object", "an array", "a string", 1.5."""
    return _KIND_NAMES.get(type(value), repr(value))


def _all_str(names: Any) -> bool:
    return isinstance(names, list) and all(isinstance(name, str) for name in names)


def _array(value: Any) -> np.ndarray:
    try:
        array = np.asarray(value)
    except ValueError as exc:
        raise PayloadError(f"not a rectangular array: {exc}") from None
    if array.dtype.kind == "O":
        raise PayloadError("not a rectangular array of numbers or strings")
    return array


def _single_row(value: Any, encoding: str) -> np.ndarray:
    """The line as an array with first dimension 1, or Unbatchable."""
    try:
        array = value if isinstance(value, np.ndarray) else np.asarray(value)
    except ValueError:
        raise Unbatchable from None
    if array.ndim == 0 or array.shape[0] != 1 or array.dtype.kind not in _BATCHABLE_KINDS[encoding]:
        raise Unbatchable
    return array


def _raw_array(payload: Any, encoding: str) -> np.ndarray:
    try:
        if encoding == "ndarray":
            return np.asarray(payload)
        if encoding == "tensor":
            return np.asarray(payload["values"]).reshape(payload["shape"])
        return tftensor.from_json(payload)
    except (ValueError, TypeError, KeyError):
        raise Unbatchable from None
