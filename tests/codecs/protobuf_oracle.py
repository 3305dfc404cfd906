"""The slow side of the byte-layer tests: values read through protobuf's message classes only."""

from __future__ import annotations

from typing import Any

from google.protobuf import struct_pb2


def list_value(values: list[Any]) -> struct_pb2.ListValue:
    """A ListValue built by protobuf from Python values."""
    message = struct_pb2.ListValue()
    message.extend(values)
    return message


def plain(value: Any) -> Any:
    """A ListValue or Value as Python values, read through the message classes only."""
    if isinstance(value, struct_pb2.ListValue):
        return [plain(item) for item in value.values]
    kind = value.WhichOneof("kind")
    if kind == "list_value":
        return plain(value.list_value)
    if kind == "struct_value":
        return {key: plain(item) for key, item in value.struct_value.fields.items()}
    return None if kind == "null_value" else getattr(value, kind)
