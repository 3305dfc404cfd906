"""Open Inference Protocol (V2) tensor values as JSON `data` <-> numpy, integers kept exact."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

from seldon_server.codecs.v2_raw import raw_elements
from seldon_server.codecs.v2_tensors import (
    BASE64,
    DTYPES,
    NamedTensor,
    TensorData,
    bytes_tensor_data,
    check_count,
    datatype_of,
    element_count,
    fits,
    flat_elements,
    reshape,
)
from seldon_server.errors import BadDataError

# numpy kinds that the inferred array of a JSON list may have, by the target dtype's kind. JSON
# true/false count as 1/0 in numeric tensors, as numpy reads them.
_FAST_KINDS = {"b": "b", "i": "biu", "u": "biu", "f": "biuf"}
_WHAT = {"b": "true or false", "i": "integers", "u": "integers", "f": "numbers"}
_NATIVE = (np.dtype(np.float64), np.dtype(np.int64))
_NULL_HINT = " (not null: send NaN and infinities as NaN and Infinity, or as binary data)"
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "b": (bool,),
    "i": (int,),
    "u": (int,),
    "f": (int, float),
}


def from_json(
    data: Any, datatype: str, shape: tuple[int, ...], kind: str | None, where: str
) -> TensorData:
    """An input's `data` (flat or nested, row-major) -> its tensor values.

    Integer datatypes never read their values through a float, and nothing is wrapped or
    overflowed: integers out of the datatype's range, and finite numbers too large for a float
    datatype, are errors.
    """
    count = element_count(shape)
    if datatype == "BYTES":
        leaves = _leaves(data)
        check_count(len(leaves), count, where)
        if not all(isinstance(leaf, str) for leaf in leaves):
            raise BadDataError(f"{where}: BYTES data must be strings")
        return bytes_tensor_data(leaves, shape, kind, where)
    target = DTYPES[datatype]
    array = _fast(data, target, where)
    if array is None:
        array = _exact(_leaves(data), target, where)
    check_count(array.size, count, where)
    return reshape(array, shape, where)


def _leaves(data: Any) -> list[Any]:
    """The scalars of arbitrarily nested lists, row-major, without recursion."""
    if not isinstance(data, list):
        return [data]
    leaves: list[Any] = []
    stack = [iter(data)]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            leaves.append(item)
        else:
            stack.pop()
    return leaves


def _fast(data: Any, target: np.dtype[Any], where: str) -> np.ndarray | None:
    """numpy's C conversion, when its inferred dtype shows the values need no checking.

    None sends the data to the exact path, which either converts what numpy could not infer
    exactly (e.g. UINT64 values above 2**63 mixed with small ones, which numpy reads as
    float64) or says precisely what is wrong.
    """
    try:
        inferred = np.array(data)
    except (ValueError, TypeError, OverflowError):
        return None  # ragged nesting and the like
    if inferred.dtype.kind not in _FAST_KINDS[target.kind]:
        return None
    if target.kind == "f":
        return _to_float(inferred, target, where)
    if target.kind in "iu" and inferred.dtype.kind != "b" and not fits(inferred, target):
        return None
    return inferred.astype(target, copy=False)


def _to_float(values: np.ndarray, target: np.dtype[Any], where: str) -> np.ndarray:
    if target.itemsize == 8:  # nothing a JSON number holds overflows a double: no checks
        return values.astype(target, copy=False)
    with np.errstate(over="ignore", invalid="ignore"):
        out = values.astype(target, copy=False)
    # Only a narrowing cast (to FP16 or FP32) can turn a finite value into an infinity.
    infinities = out.size and not np.isfinite(out).all()
    if infinities and (np.isinf(out) & np.isfinite(values)).any():
        raise BadDataError(f"{where}: a value is out of range for {datatype_of(target)}")
    return out


def _exact(leaves: list[Any], target: np.dtype[Any], where: str) -> np.ndarray:
    """Checks every value's JSON type and range, then converts them."""
    family = target.kind
    wanted = _JSON_TYPES[family]
    if not all(isinstance(leaf, wanted) for leaf in leaves):
        # Some JSON encoders write NaN and infinities as null, which would silently lose them.
        hint = _NULL_HINT if family == "f" and None in leaves else ""
        raise BadDataError(f"{where}: {datatype_of(target)} data must be {_WHAT[family]}{hint}")
    if family in "iu" and leaves:
        info = np.iinfo(target)
        if min(leaves) < info.min or max(leaves) > info.max:
            raise BadDataError(f"{where}: a value is out of range for {datatype_of(target)}")
    if family != "f":
        return np.array(leaves, dtype=target)
    try:
        # float64 first: Python's own int -> float conversion, which fails on huge ints.
        values = np.array(leaves, dtype=np.float64)
    except OverflowError as exc:
        raise BadDataError(f"{where}: a value is out of range for {datatype_of(target)}") from exc
    return _to_float(values, target, where)


def output_json(tensor: NamedTensor, arrays: bool = False) -> dict[str, Any]:
    """An output as its JSON object, values flat in row-major order.

    `.tolist()` keeps integers as Python ints (exact at any width) and floats as floats. With
    `arrays`, float64 and int64 values stay a numpy array, for an encoder that prints them as
    their tolist() would be printed (orjson does), without the list.
    BYTES elements go as text; if one is not UTF-8 the whole tensor goes as base64, marked
    with content_type base64 so that clients can tell.
    """
    parameters = dict(tensor.parameters)
    data: Any
    if tensor.datatype == "BYTES":
        data = _bytes_json(tensor, parameters)
    else:
        array = np.asarray(tensor.data)
        if arrays and array.dtype in _NATIVE:
            data = np.ascontiguousarray(array).ravel()
        else:
            data = array.ravel().tolist()
    out: dict[str, Any] = {"name": tensor.name, "datatype": tensor.datatype}
    out["shape"] = list(tensor.shape)
    if parameters:
        out["parameters"] = parameters
    out["data"] = data
    return out


def _bytes_json(tensor: NamedTensor, parameters: dict[str, Any]) -> list[str]:
    if parameters.get("content_type") != BASE64:
        elements = flat_elements(tensor)
        if all(isinstance(element, str) for element in elements):
            return elements
        try:
            return [element.decode("utf-8") for element in raw_elements(tensor)]
        except UnicodeDecodeError:
            parameters["content_type"] = BASE64
    return [base64.b64encode(element).decode("ascii") for element in raw_elements(tensor)]
