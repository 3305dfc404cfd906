"""numpy <-> tensorflow.TensorProto without TensorFlow, matching make_tensor_proto/make_ndarray."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from google.protobuf import json_format

from seldon_server.errors import BadDataError
from seldon_server.proto.tensorflow.core.framework import tensor_pb2, types_pb2

TensorProto = tensor_pb2.TensorProto

# DataType -> (numpy dtype, typed value field used when tensor_content is empty)
_BY_DATATYPE: dict[int, tuple[Any, str]] = {
    types_pb2.DT_FLOAT: (np.float32, "float_val"),
    types_pb2.DT_DOUBLE: (np.float64, "double_val"),
    types_pb2.DT_INT32: (np.int32, "int_val"),
    types_pb2.DT_UINT8: (np.uint8, "int_val"),
    types_pb2.DT_INT16: (np.int16, "int_val"),
    types_pb2.DT_INT8: (np.int8, "int_val"),
    types_pb2.DT_UINT16: (np.uint16, "int_val"),
    types_pb2.DT_QINT8: (np.int8, "int_val"),
    types_pb2.DT_QUINT8: (np.uint8, "int_val"),
    types_pb2.DT_QINT16: (np.int16, "int_val"),
    types_pb2.DT_QUINT16: (np.uint16, "int_val"),
    types_pb2.DT_QINT32: (np.int32, "int_val"),
    types_pb2.DT_INT64: (np.int64, "int64_val"),
    types_pb2.DT_UINT32: (np.uint32, "uint32_val"),
    types_pb2.DT_UINT64: (np.uint64, "uint64_val"),
    types_pb2.DT_BOOL: (np.bool_, "bool_val"),
    types_pb2.DT_HALF: (np.float16, "half_val"),
    types_pb2.DT_COMPLEX64: (np.complex64, "scomplex_val"),
    types_pb2.DT_COMPLEX128: (np.complex128, "dcomplex_val"),
    types_pb2.DT_STRING: (object, "string_val"),
}

# numpy dtype -> (DataType, typed field) for encoding, the first DataType listed for the dtype.
_BY_NUMPY: dict[np.dtype[Any], tuple[int, str]] = {}
for _datatype, (_dtype, _field) in _BY_DATATYPE.items():
    if _dtype is not object:
        _BY_NUMPY.setdefault(np.dtype(_dtype), (_datatype, _field))

# make_tensor_proto writes these dtypes as raw bytes when the tensor has more than one element.
_CONTENT_DTYPES = frozenset(
    np.dtype(t)
    for t in (np.float16, np.float32, np.float64, np.int32, np.uint8, np.int16, np.int8)
    + (np.int64, np.uint32, np.uint64)
)
# Filling a short value list to the shape allocates the whole tensor; refuse absurd shapes.
MAX_FILLED_ELEMENTS = 1 << 26


def to_array(tensor: Any) -> np.ndarray:
    """Decode as TensorFlow's make_ndarray would (a short value list repeats its last value)."""
    spec = _BY_DATATYPE.get(tensor.dtype)
    if spec is None:
        raise BadDataError(f"Unsupported tftensor dtype: {_datatype_name(tensor.dtype)}")
    dtype, field = spec
    shape = [dim.size for dim in tensor.tensor_shape.dim]
    if any(size < 0 for size in shape):
        raise BadDataError(f"Invalid tftensor: negative dimension in shape {shape}")
    count = math.prod(shape)
    if tensor.tensor_content and dtype is not object:
        return _from_content(tensor.tensor_content, np.dtype(dtype), shape, count)
    values = _typed_values(tensor, dtype, field)
    if values.size > count:
        raise BadDataError(f"Invalid tftensor: {values.size} values do not fit shape {shape}")
    if values.size < count and count > MAX_FILLED_ELEMENTS:
        raise BadDataError(f"Invalid tftensor: shape {shape} is too large")
    if values.size == 0:
        return np.zeros(shape, dtype=dtype)
    if values.size < count:
        values = np.pad(values, (0, count - values.size), "edge")
    return values.reshape(shape)


def _datatype_name(datatype: int) -> str:
    try:
        return types_pb2.DataType.Name(datatype)
    except ValueError:
        return str(datatype)


def _from_content(content: bytes, dtype: np.dtype[Any], shape: list[int], count: int) -> np.ndarray:
    wire = dtype.newbyteorder("<")
    if len(content) % wire.itemsize or len(content) // wire.itemsize != count:
        raise BadDataError(
            f"Invalid tftensor: {len(content)} content bytes do not fit shape {shape} of {dtype}"
        )
    return np.frombuffer(content, dtype=wire).astype(dtype).reshape(shape)


def _typed_values(tensor: Any, dtype: Any, field: str) -> np.ndarray:
    raw = getattr(tensor, field)
    if field == "half_val":
        return np.array(raw, dtype=np.uint16).view(np.float16)
    if field in ("scomplex_val", "dcomplex_val"):
        parts = np.array(raw, dtype=np.float64)
        values = np.empty(parts.size // 2, dtype=dtype)
        values.real, values.imag = parts[0::2][: values.size], parts[1::2][: values.size]
        return values
    if dtype is object:
        return np.array(list(raw), dtype=object)
    return np.array(raw, dtype=dtype)


def from_array(array: np.ndarray, content: bool | None = None) -> Any:
    """Encode an array as TensorFlow's make_tensor_proto would.

    `content` overrides its choice between raw bytes and typed values (True: bytes whenever the
    dtype allows; False: typed values), for callers that mirror another producer's style.
    """
    tensor = TensorProto()
    tensor.tensor_shape.SetInParent()
    for size in array.shape:
        tensor.tensor_shape.dim.add().size = size
    dtype = array.dtype.newbyteorder("=")
    if dtype.kind in ("U", "S", "O"):
        tensor.dtype = types_pb2.DT_STRING
        tensor.string_val.extend(_as_bytes(item) for item in array.ravel().tolist())
        return tensor
    spec = _BY_NUMPY.get(dtype)
    if spec is None:
        raise BadDataError(f"Cannot encode dtype {array.dtype} as a tftensor")
    datatype, field = spec
    tensor.dtype = datatype  # type: ignore[assignment]  # an int is a valid enum value
    packed = array.size > 1 if content is None else content
    if dtype in _CONTENT_DTYPES and packed:
        tensor.tensor_content = np.ascontiguousarray(array, dtype=dtype.newbyteorder("<")).tobytes()
    else:
        getattr(tensor, field).extend(_typed_list(array.ravel(), field))
    return tensor


def _typed_list(flat: np.ndarray, field: str) -> list[Any]:
    if field == "half_val":
        return flat.astype(np.float16).view(np.uint16).tolist()
    if field in ("scomplex_val", "dcomplex_val"):
        interleaved = np.empty(flat.size * 2, dtype=np.float64)
        interleaved[0::2], interleaved[1::2] = flat.real, flat.imag
        return interleaved.tolist()
    return flat.tolist()


def _as_bytes(item: Any) -> bytes:
    if isinstance(item, bytes):
        return item
    return str(item).encode("utf-8")


def from_json(obj: Any) -> Any:
    """Parse the proto-JSON form of a TensorProto (as sent in REST `data.tftensor`)."""
    tensor = TensorProto()
    try:
        json_format.ParseDict(obj, tensor)
    except (json_format.ParseError, TypeError, ValueError, AttributeError) as exc:
        raise BadDataError(f"Invalid tftensor: {exc}") from exc
    return tensor


def to_json(tensor: Any) -> dict[str, Any]:
    """The proto-JSON form of a TensorProto (as returned in REST `data.tftensor`)."""
    return json_format.MessageToDict(tensor)
