"""Open Inference Protocol (V2) tensors: datatypes, request and response types, content types."""

from __future__ import annotations

import base64
import binascii
import math
import reprlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np

from seldon_server.errors import BadDataError, InternalError

# The binary tensor extension: the JSON header's length, and each binary tensor's byte count.
HEADER_LENGTH = "Inference-Header-Content-Length"
BINARY_DATA_SIZE = "binary_data_size"

# The protocol's datatypes and the numpy dtypes decoded tensors have. BYTES elements are Python
# bytes (or str under the `str` content type) in an object array or a list.
DTYPES: dict[str, np.dtype[Any]] = {
    "BOOL": np.dtype(np.bool_),
    "UINT8": np.dtype(np.uint8),
    "UINT16": np.dtype(np.uint16),
    "UINT32": np.dtype(np.uint32),
    "UINT64": np.dtype(np.uint64),
    "INT8": np.dtype(np.int8),
    "INT16": np.dtype(np.int16),
    "INT32": np.dtype(np.int32),
    "INT64": np.dtype(np.int64),
    "FP16": np.dtype(np.float16),
    "FP32": np.dtype(np.float32),
    "FP64": np.dtype(np.float64),
    "BYTES": np.dtype(object),
}
# numpy (kind, itemsize) -> datatype; str, bytes and object arrays are all BYTES.
_DATATYPE_BY_KIND: dict[tuple[str, int], str] = {
    (dtype.kind, dtype.itemsize): name for name, dtype in DTYPES.items() if name != "BYTES"
}
_BYTES_KINDS = frozenset("OUS")
_NAMES = ", ".join(DTYPES)

STR, BASE64 = "str", "base64"

TensorData: TypeAlias = np.ndarray | list[str] | list[bytes]


@dataclass(frozen=True, slots=True)
class NamedTensor:
    """One input or output tensor.

    `data` is a numpy array of `shape` (an object array of bytes for BYTES), or a flat list of
    str or bytes when the `str` or `base64` content type asked for one.
    """

    name: str
    datatype: str
    shape: tuple[int, ...]
    data: TensorData
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RequestedOutput:
    """An output the client asked for by name, with its parameters (e.g. binary_data)."""

    name: str
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class InferenceRequest:
    """A decoded inference request, the same whichever transport carried it."""

    inputs: list[NamedTensor]
    id: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    outputs: list[RequestedOutput] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class InferenceResponse:
    """What a model answered, ready to be encoded for either transport."""

    model_name: str
    outputs: list[NamedTensor]
    model_version: str | None = None
    id: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)


def datatype_of(dtype: np.dtype[Any]) -> str:
    """The datatype that carries a numpy dtype; a model's unsupported output is a server error."""
    if dtype.kind in _BYTES_KINDS:
        return "BYTES"
    name = _DATATYPE_BY_KIND.get((dtype.kind, dtype.itemsize))
    if name is None:
        raise InternalError(f"Cannot encode dtype {dtype} as a V2 tensor")
    return name


def check_datatype(datatype: Any, where: str) -> str:
    """A request's datatype, checked against the table."""
    if not isinstance(datatype, str) or datatype not in DTYPES:
        shown = reprlib.repr(datatype)
        raise BadDataError(f"{where}: unsupported datatype {shown} (expected one of {_NAMES})")
    return datatype


def is_shape(value: Any) -> bool:
    """A JSON shape: a list of non-negative integers (booleans are not integers here)."""
    return isinstance(value, list) and all(
        isinstance(dim, int) and not isinstance(dim, bool) and dim >= 0 for dim in value
    )


def check_shape(value: Any, where: str) -> tuple[int, ...]:
    if not is_shape(value):
        raise BadDataError(f"{where}: 'shape' must be a list of non-negative integers")
    return tuple(value)


def check_parameters(value: Any, where: str) -> dict[str, Any]:
    """A JSON `parameters` object, as a copy the caller may change; absent is empty."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadDataError(f"{where}: 'parameters' must be a JSON object")
    return dict(value)


def check_count(actual: int, expected: int, where: str) -> None:
    if actual != expected:
        raise BadDataError(f"{where}: {actual} values, but the shape holds {expected}")


def element_count(shape: Sequence[int]) -> int:
    """How many elements a (checked, non-negative) shape holds, as an exact Python int."""
    return math.prod(shape)


def fits(array: np.ndarray, target: np.dtype[Any]) -> bool:
    """Whether an integer array's values all lie in an integer dtype's range."""
    if not array.size:
        return True
    info = np.iinfo(target)
    return info.min <= int(array.min()) and int(array.max()) <= info.max


def check_unique(names: Sequence[str], what: str) -> None:
    """Tensor names within a request must be distinct."""
    if len(set(names)) != len(names):
        repeated = sorted({name for name in names if names.count(name) > 1})
        raise BadDataError(f"Repeated {what} names: {repeated}")


def reshape(array: np.ndarray, shape: tuple[int, ...], where: str) -> np.ndarray:
    """array.reshape(shape); numpy's own limits (e.g. 64 dimensions) are the client's mistake."""
    try:
        return array.reshape(shape)
    except (ValueError, TypeError) as exc:
        raise BadDataError(f"{where}: cannot shape the data as {list(shape)}: {exc}") from exc


def content_type(parameters: dict[str, Any], where: str) -> str | None:
    """An input's content_type parameter, if any."""
    value = parameters.get("content_type")
    if value is not None and not isinstance(value, str):
        raise BadDataError(f"{where}: parameter content_type must be a string")
    return value


def bytes_tensor_data(
    elements: list[str] | list[bytes], shape: tuple[int, ...], kind: str | None, where: str
) -> TensorData:
    """BYTES elements (str from JSON, bytes off the wire) as their content type asks.

    `str` gives a flat list of str (UTF-8), `base64` a flat list of decoded bytes; any other
    content type keeps the raw bytes in an object array of the tensor's shape (the model sees
    the parameter and may interpret them itself).
    """
    if kind == STR:
        return [_as_text(element, where) for element in elements]
    if kind == BASE64:
        return [_b64decode(element, where) for element in elements]
    array = np.empty(len(elements), dtype=object)
    array[:] = [_as_bytes(element, where) for element in elements]
    return reshape(array, shape, where)


def check_content_type(kind: str | None, datatype: str, where: str) -> None:
    """`str` and `base64` only make sense on BYTES tensors."""
    if kind in (STR, BASE64) and datatype != "BYTES":
        shown = reprlib.repr(kind)
        raise BadDataError(f"{where}: content_type {shown} needs datatype BYTES, not {datatype}")


def _as_text(element: str | bytes, where: str) -> str:
    if isinstance(element, str):
        return element
    try:
        return element.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadDataError(f"{where}: element is not UTF-8 text: {exc}") from exc


def _as_bytes(element: str | bytes, where: str) -> bytes:
    if isinstance(element, bytes):
        return element
    try:
        return element.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate that a lenient JSON parser let through
        raise BadDataError(f"{where}: element is not valid text: {exc}") from exc


def _b64decode(element: str | bytes, where: str) -> bytes:
    try:
        return base64.b64decode(element, validate=True)
    except (binascii.Error, ValueError) as exc:  # ValueError: non-ASCII characters in a str
        raise BadDataError(f"{where}: invalid base64 element: {exc}") from exc


def flat_elements(tensor: NamedTensor) -> list[Any]:
    """A tensor's elements, flattened row-major, as Python values (ints stay ints)."""
    data = tensor.data
    return data.ravel().tolist() if isinstance(data, np.ndarray) else list(data)


def output_tensor(name: str, value: Any, parameters: dict[str, Any] | None = None) -> NamedTensor:
    """A model's output (array, scalar, nested list, or list of str/bytes) as a named tensor.

    A list of str is marked with content type `str`, so that clients that read the parameter
    give their users text back.
    """
    params = dict(parameters or {})
    if isinstance(value, list | tuple) and value and all(isinstance(v, str | bytes) for v in value):
        if all(isinstance(item, str) for item in value):
            params.setdefault("content_type", STR)
        return NamedTensor(name, "BYTES", (len(value),), list(value), params)
    try:
        array = value if isinstance(value, np.ndarray) else np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise InternalError(f"Output {name}: not a tensor: {exc}") from exc
    return NamedTensor(name, datatype_of(array.dtype), array.shape, array, params)


def select_outputs(
    outputs: Sequence[NamedTensor], requested: Sequence[RequestedOutput]
) -> list[NamedTensor]:
    """The outputs the client asked for, in its order; none asked for means all of them."""
    if not requested:
        return list(outputs)
    by_name = {output.name: output for output in outputs}
    missing = [wanted.name for wanted in requested if wanted.name not in by_name]
    if missing:
        raise BadDataError(
            f"Requested outputs {missing} are not among the model's outputs {list(by_name)}"
        )
    return [by_name[wanted.name] for wanted in requested]
