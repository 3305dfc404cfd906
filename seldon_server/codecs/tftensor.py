"""numpy <-> tensorflow.TensorProto without TensorFlow, matching make_tensor_proto/make_ndarray."""

from __future__ import annotations

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

# numpy dtype -> DataType for encoding; these kinds travel as raw bytes in tensor_content.
_DATATYPE_BY_NUMPY: dict[Any, Any] = {
    np.dtype(np.float32): types_pb2.DT_FLOAT,
    np.dtype(np.float64): types_pb2.DT_DOUBLE,
    np.dtype(np.float16): types_pb2.DT_HALF,
    np.dtype(np.int32): types_pb2.DT_INT32,
    np.dtype(np.uint8): types_pb2.DT_UINT8,
    np.dtype(np.int16): types_pb2.DT_INT16,
    np.dtype(np.int8): types_pb2.DT_INT8,
    np.dtype(np.int64): types_pb2.DT_INT64,
    np.dtype(np.uint16): types_pb2.DT_UINT16,
    np.dtype(np.uint32): types_pb2.DT_UINT32,
    np.dtype(np.uint64): types_pb2.DT_UINT64,
}


def to_array(tensor: Any) -> np.ndarray:
    """Decode as TensorFlow's make_ndarray would (a short value list repeats its last value)."""
    spec = _BY_DATATYPE.get(tensor.dtype)
    if spec is None:
        name = (
            types_pb2.DataType.Name(tensor.dtype)
            if tensor.dtype in types_pb2.DataType.values()
            else tensor.dtype
        )
        raise BadDataError(f"Unsupported tftensor dtype: {name}")
    dtype, field = spec
    shape = [dim.size for dim in tensor.tensor_shape.dim]
    if any(size < 0 for size in shape):
        raise BadDataError("Invalid tftensor: negative dimension")
    count = int(np.prod(shape, dtype=np.int64))
    if tensor.tensor_content and dtype is not object:
        values = np.frombuffer(tensor.tensor_content, dtype=np.dtype(dtype).newbyteorder("<"))
        if values.size != count:
            raise BadDataError(f"Invalid tftensor: {values.size} values do not fit shape {shape}")
        return values.astype(dtype).reshape(shape)
    values = _typed_values(tensor, dtype, field)
    if values.size == 0:
        return np.zeros(shape, dtype=dtype)
    if values.size > count:
        raise BadDataError(f"Invalid tftensor: {values.size} values do not fit shape {shape}")
    if values.size < count:
        values = np.pad(values, (0, count - values.size), "edge")
    return values.reshape(shape)


def _typed_values(tensor: Any, dtype: Any, field: str) -> np.ndarray:
    raw = getattr(tensor, field)
    if field == "half_val":
        return np.array(raw, dtype=np.uint16).view(np.float16)
    if field in ("scomplex_val", "dcomplex_val"):
        parts = np.array(raw, dtype=np.float64)
        return (parts[0::2] + 1j * parts[1::2]).astype(dtype)
    if dtype is object:
        return np.array(list(raw), dtype=object)
    return np.array(raw, dtype=dtype)


def from_array(array: np.ndarray) -> Any:
    """Encode an array as TensorFlow's make_tensor_proto would."""
    tensor = TensorProto()
    tensor.tensor_shape.SetInParent()
    for size in array.shape:
        tensor.tensor_shape.dim.add().size = size
    dtype = array.dtype
    datatype = _DATATYPE_BY_NUMPY.get(dtype.newbyteorder("=") if dtype.byteorder == ">" else dtype)
    if datatype is not None:
        tensor.dtype = datatype
        tensor.tensor_content = np.ascontiguousarray(array, dtype=dtype.newbyteorder("<")).tobytes()
    elif dtype == np.bool_:
        tensor.dtype = types_pb2.DT_BOOL
        tensor.bool_val.extend(array.ravel().tolist())
    elif dtype.kind == "c":
        tensor.dtype = types_pb2.DT_COMPLEX64 if dtype == np.complex64 else types_pb2.DT_COMPLEX128
        flat = array.ravel()
        interleaved = np.empty(flat.size * 2, dtype=np.float64)
        interleaved[0::2], interleaved[1::2] = flat.real, flat.imag
        target = tensor.scomplex_val if dtype == np.complex64 else tensor.dcomplex_val
        target.extend(interleaved.tolist())
    elif dtype.kind in ("U", "S", "O"):
        tensor.dtype = types_pb2.DT_STRING
        tensor.string_val.extend(_as_bytes(item) for item in array.ravel().tolist())
    else:
        raise BadDataError(f"Cannot encode dtype {dtype} as a tftensor")
    return tensor


def _as_bytes(item: Any) -> bytes:
    if isinstance(item, bytes):
        return item
    return str(item).encode("utf-8")


def from_json(obj: Any) -> Any:
    """Parse the proto-JSON form of a TensorProto (as sent in REST `data.tftensor`)."""
    tensor = TensorProto()
    try:
        json_format.ParseDict(obj, tensor)
    except (json_format.ParseError, TypeError, ValueError) as exc:
        raise BadDataError(f"Invalid tftensor: {exc}") from exc
    return tensor


def to_json(tensor: Any) -> dict[str, Any]:
    """The proto-JSON form of a TensorProto (as returned in REST `data.tftensor`)."""
    return json_format.MessageToDict(tensor)
