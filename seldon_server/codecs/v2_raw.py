"""Open Inference Protocol (V2) raw tensor bytes, shared by gRPC raw contents and binary REST."""

from __future__ import annotations

import base64
import struct
from collections.abc import Sequence
from typing import Any

import numpy as np

from seldon_server.codecs.v2_tensors import (
    BASE64,
    DTYPES,
    NamedTensor,
    element_count,
    flat_elements,
    reshape,
)
from seldon_server.errors import BadDataError, InternalError

# The wire layout is little-endian whatever the host's byte order.
WIRE_DTYPES: dict[str, np.dtype[Any]] = {
    name: dtype.newbyteorder("<") for name, dtype in DTYPES.items() if name != "BYTES"
}

# Raw layout: fixed-size elements little-endian and row-major; BYTES elements each behind a
# 4-byte little-endian length.
_LENGTH = struct.Struct("<I")


def from_raw(datatype: str, shape: tuple[int, ...], raw: bytes | memoryview, where: str) -> Any:
    """Raw tensor bytes -> a writable, aligned, native-order array (BYTES: a list of bytes).

    The copy numpy makes here is deliberate: a view of the request buffer would be read-only
    and, in the binary extension, unaligned, and models may write to their inputs.
    """
    count = element_count(shape)
    if datatype == "BYTES":
        return unpack_bytes(raw, count, where)
    wire = WIRE_DTYPES[datatype]
    if len(raw) != count * wire.itemsize:
        raise BadDataError(
            f"{where}: {len(raw)} bytes of {datatype} data, but shape {list(shape)} needs "
            f"{count * wire.itemsize}"
        )
    values = np.frombuffer(raw, dtype=wire)
    if datatype == "BOOL" and count and values.view(np.uint8).max() > 1:
        raise BadDataError(f"{where}: BOOL bytes must be 0 or 1")
    return reshape(values.astype(DTYPES[datatype]), shape, where)


def unpack_bytes(raw: bytes | memoryview, count: int, where: str) -> list[bytes]:
    """Length-prefixed BYTES elements; exactly `count` of them must fill `raw`."""
    view = memoryview(raw)
    end, offset = len(view), 0
    elements: list[bytes] = []
    while offset < end:
        if len(elements) == count:
            raise BadDataError(f"{where}: {end - offset} bytes left after the {count} elements")
        if end - offset < _LENGTH.size:
            raise BadDataError(f"{where}: truncated BYTES length prefix")
        (length,) = _LENGTH.unpack_from(view, offset)
        offset += _LENGTH.size
        if length > end - offset:
            raise BadDataError(
                f"{where}: BYTES element of {length} bytes, but only {end - offset} remain"
            )
        elements.append(bytes(view[offset : offset + length]))
        offset += length
    if len(elements) != count:
        raise BadDataError(f"{where}: {len(elements)} BYTES elements, but shape needs {count}")
    return elements


def pack_bytes(elements: Sequence[bytes]) -> bytes:
    """BYTES elements in the raw layout."""
    parts: list[bytes] = []
    for element in elements:
        parts.append(_LENGTH.pack(len(element)))
        parts.append(element)
    return b"".join(parts)


def to_raw(tensor: NamedTensor) -> bytes:
    """A tensor's elements in the raw layout."""
    if tensor.datatype == "BYTES":
        return pack_bytes(wire_elements(tensor))
    array = np.asarray(tensor.data)
    return array.astype(WIRE_DTYPES[tensor.datatype], copy=False).tobytes()


def wire_elements(tensor: NamedTensor) -> list[bytes]:
    """A BYTES output's flat elements as sent: bytes, or base64 text under that content type."""
    elements = raw_elements(tensor)
    if tensor.parameters.get("content_type") == BASE64:
        return [base64.b64encode(element) for element in elements]
    return elements


def raw_elements(tensor: NamedTensor) -> list[bytes]:
    """A BYTES output's flat elements as bytes (str as UTF-8)."""
    return [_output_bytes(element, tensor.name) for element in flat_elements(tensor)]


def _output_bytes(element: Any, name: str) -> bytes:
    if isinstance(element, bytes):
        return element
    if isinstance(element, str):
        try:
            return element.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InternalError(f"Output {name}: element is not valid text: {exc}") from exc
    if isinstance(element, bytearray | memoryview):
        return bytes(element)
    kind = type(element).__name__
    raise InternalError(f"Output {name}: BYTES elements must be str or bytes, not {kind}")
