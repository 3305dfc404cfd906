"""Open Inference Protocol (V2) lines -> request bodies, and V2 responses -> output lines."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from seldon_server.batch.payload import (
    Line,
    Part,
    PayloadError,
    Unbatchable,
    batch_tags,
    json_kind,
    parse,
)
from seldon_server.batch.responses import SplitError, dumps

# A plain line becomes this one input; a server's identity model answers with `output-0`.
INPUT_NAME = "input-0"
# JSON integers beyond these travel as UINT64 (non-negative) or not at all.
_INT64_MIN, _INT64_MAX, _UINT64_MAX = -(2**63), 2**63 - 1, 2**64 - 1
_STR = {"content_type": "str"}  # BYTES elements that are text, so a server hands the model str
_KIND_NAMES: dict[type, str] = {
    int: "integers",
    float: "numbers",
    bool: "booleans",
    str: "strings",
    type(None): "nulls",
    dict: "objects",
}


@dataclass(frozen=True, slots=True)
class V2Rows:
    """A plain line's share of a micro-batch: its row count and its flat, row-major values."""

    count: int
    data: list[Any]


class V2Codec:
    """Builds V2 request bodies from input lines, and output lines from V2 responses."""

    def __init__(self, data_type: str, batch_id: str) -> None:
        self.data_type = data_type
        self.batch_id = batch_id

    def single(self, line: Line) -> dict[str, Any]:
        """The request for one line, with the batch identifiers in its `parameters`."""
        value = parse(line.raw)
        tags = batch_tags(self.batch_id, line)
        if self.data_type == "str":
            if not isinstance(value, str):
                raise PayloadError(f"a str line must be a JSON string, got {json_kind(value)}")
            return _request(_input([1], "BYTES", [value]), tags)
        if isinstance(value, dict) and (self.data_type == "raw" or "inputs" in value):
            return _with_tags(value, tags)
        if self.data_type == "raw":
            raise PayloadError(
                f"a raw line must be a JSON object (a V2 inference request), got {json_kind(value)}"
            )
        if not isinstance(value, list):
            raise PayloadError('a data line must be a JSON array or a V2 inference request (an '
                               f'object with "inputs"), got {json_kind(value)}')  # fmt: skip
        shape, leaves = flatten(value)
        datatype = datatype_of(leaves)
        return _request(_input(shape, datatype, _values(leaves, datatype)), tags)

    def part(self, line: Line) -> Part:
        """A plain array line's rows; anything else raises Unbatchable and goes alone."""
        value = parse(line.raw)
        if self.data_type != "data" or not isinstance(value, list):
            raise Unbatchable  # a V2 request: it names its own inputs, so it cannot be joined
        try:
            shape, leaves = flatten(value)
            datatype = datatype_of(leaves)
        except PayloadError:
            raise Unbatchable from None  # sent alone, where the same check words the error line
        # Rows along the first axis need a second axis to be rows of; a zero-size row could not
        # be told apart when the response is split.
        if len(shape) < 2 or not shape[0] or not math.prod(shape[1:]):
            raise Unbatchable
        rows = V2Rows(shape[0], _values(leaves, datatype))
        return Part(line, ("v2", tuple(shape[1:]), datatype), datatype, rows, [], {})

    def combine(self, parts: list[Part]) -> dict[str, Any]:
        """One request for parts with equal keys; only batch_id is sent, as with Seldon."""
        count = sum(part.rows.count for part in parts)
        shape = [count, *parts[0].key[1]]
        data = [value for part in parts for value in part.rows.data]
        return _request(_input(shape, parts[0].encoding, data), {"batch_id": self.batch_id})

    def success(self, response: dict[str, Any], line: Line) -> str:
        """The response as one line, with the line's identifiers in its parameters."""
        return dumps(tagged(response, batch_tags(self.batch_id, line)))

    def split(self, response: dict[str, Any], parts: list[Part]) -> list[str]:
        """One line per part: every output cut along its first axis by the parts' row counts."""
        outputs = response.get("outputs")
        if not isinstance(outputs, list) or not outputs:
            raise SplitError(f"the micro-batch response has no outputs to split into {len(parts)}")
        counts = [part.rows.count for part in parts]
        pieces = [split_output(output, counts) for output in outputs]
        return [
            dumps(tagged(response, batch_tags(self.batch_id, part.line), [p[k] for p in pieces]))
            for k, part in enumerate(parts)
        ]


def _request(tensor: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
    return {"inputs": [tensor], "parameters": parameters}


def _input(shape: list[int], datatype: str, data: list[Any]) -> dict[str, Any]:
    tensor: dict[str, Any] = {"name": INPUT_NAME, "shape": shape, "datatype": datatype}
    if datatype == "BYTES":
        tensor["parameters"] = dict(_STR)
    tensor["data"] = data
    return tensor


def _with_tags(request: dict[str, Any], tags: dict[str, Any]) -> dict[str, Any]:
    parameters = request.get("parameters")
    if parameters is None:
        parameters = request["parameters"] = {}
    elif not isinstance(parameters, dict):
        raise PayloadError(f"parameters must be a JSON object, got {json_kind(parameters)}")
    parameters.update(tags)  # the batch identifiers win over a user's parameters of the same name
    return request


def flatten(value: list[Any]) -> tuple[list[int], list[Any]]:
    """The shape of a rectangular nested list (from its first elements) and its values,
    row-major; PayloadError if the nesting is ragged."""
    shape: list[int] = []
    probe: Any = value
    while isinstance(probe, list):
        shape.append(len(probe))
        if not probe:
            break
        probe = probe[0]
    leaves: list[Any] = []
    _collect(value, shape, leaves)
    return shape, leaves


def _collect(value: Any, shape: list[int], leaves: list[Any]) -> None:
    """The values of a rectangular nested list, row-major, without recursion (a line may nest
    a thousand levels deep)."""
    if len(shape) > MAX_DIMS:
        raise PayloadError(f"a data line may have at most {MAX_DIMS} dimensions")
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if not isinstance(item, list) or len(item) != shape[level]:
            raise PayloadError(f"a data line must be a rectangular array: shape {shape} expected")
        if level + 1 < len(shape):
            stack.extend((child, level + 1) for child in reversed(item))
        elif any(isinstance(child, list) for child in item):
            raise PayloadError(f"a data line must be a rectangular array: shape {shape} expected")
        else:
            leaves.extend(item)


MAX_DIMS = 64  # what numpy holds


def datatype_of(leaves: list[Any]) -> str:
    """The datatype that carries a line's values exactly: INT64 (UINT64 past its range) for
    integers, FP64 for numbers with a fraction, BOOL, or BYTES for strings."""
    kinds = {type(leaf) for leaf in leaves}
    if kinds == {int}:
        low, high = min(leaves), max(leaves)
        if low >= _INT64_MIN and high <= _INT64_MAX:
            return "INT64"
        if low >= 0 and high <= _UINT64_MAX:
            return "UINT64"
        raise PayloadError("a data line's integers must fit in 64 bits")
    if kinds <= {int, float}:  # an empty array too: nothing says otherwise
        return "FP64"
    if kinds == {bool}:
        return "BOOL"
    if kinds == {str}:
        return "BYTES"
    found = ", ".join(sorted(_KIND_NAMES.get(kind, kind.__name__) for kind in kinds))
    raise PayloadError(
        f"a data line's values must be all numbers, all booleans or all strings, not {found}"
    )


def _values(leaves: list[Any], datatype: str) -> list[Any]:
    # Integers in an FP64 tensor go as floats, as a server's identity model answers them.
    return [float(leaf) for leaf in leaves] if datatype == "FP64" else leaves


def tagged(
    response: dict[str, Any], tags: dict[str, Any], outputs: list[Any] | None = None
) -> dict[str, Any]:
    """The response (with `outputs` instead of its own, if given) and the batch identifiers in
    its parameters, added when the server did not echo them, so every line can be placed by
    --resume and merge. The identifiers sent win over a server's different values."""
    server = response.get("parameters")
    server = server if isinstance(server, dict) else {}
    parameters = {**server, **tags}
    if server and list(server) == sorted(server):  # a server that sorts its keys: so do we
        parameters = dict(sorted(parameters.items()))
    line: dict[str, Any] = {}
    for key, value in response.items():
        if key == "outputs" and "parameters" not in line:
            line["parameters"] = parameters  # where the protocol puts it, before the outputs
        if key == "parameters":
            line[key] = parameters
        else:
            line[key] = outputs if key == "outputs" and outputs is not None else value
    line.setdefault("parameters", parameters)
    return line


def split_output(output: Any, counts: list[int]) -> list[dict[str, Any]]:
    """An output tensor cut into consecutive pieces of `counts` rows, each with flat data."""
    name = output.get("name") if isinstance(output, dict) else None
    shape = output.get("shape") if isinstance(output, dict) else None
    total = sum(counts)
    if not _is_shape(shape) or not shape or shape[0] != total:
        raise SplitError(f"the micro-batch output {name!r} has shape {shape}, not {total} rows")
    assert isinstance(output, dict)  # for mypy: _is_shape saw its shape
    data = output.get("data")
    try:
        _, leaves = flatten(data) if isinstance(data, list) else ([], [])
    except PayloadError:
        leaves = []
    width = math.prod(shape[1:])
    if len(leaves) != total * width:
        raise SplitError(f"the micro-batch output {name!r} has {len(leaves)} values, not "
                         f"{total * width}")  # fmt: skip
    pieces, start = [], 0
    for count in counts:
        row_shape, values = [count, *shape[1:]], leaves[start * width : (start + count) * width]
        start += count
        pieces.append(
            {
                k: row_shape if k == "shape" else values if k == "data" else v
                for k, v in output.items()
            }  # fmt: skip
        )
    return pieces


def _is_shape(value: Any) -> bool:
    # codecs.v2_tensors.is_shape, not imported: this module loads in Seldon-protocol runs too,
    # which load no V2 codec.
    return isinstance(value, list) and all(
        isinstance(dim, int) and not isinstance(dim, bool) and dim >= 0 for dim in value
    )
