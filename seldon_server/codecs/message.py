"""The internal messages every transport decodes into and encodes from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

PayloadKind = Literal["data", "jsonData", "strData", "binData", "customData"]
Encoding = Literal["ndarray", "tensor", "tftensor"]


@dataclass(slots=True)
class Message:
    """A SeldonMessage with its payload decoded.

    Requests: `value` is what the user hook receives (ndarray for `data`, object for
    `jsonData`, str, bytes, or the protobuf Any for `customData`); `encoding` is the `data`
    encoding that was sent (None when `data` held none of ndarray/tensor/tftensor).
    Responses: `value` is what the hook returned, `array` its numpy view for `data`, and `encoding`
    the encoding chosen for the reply.
    """

    kind: PayloadKind | None
    value: Any
    names: list[str] = field(default_factory=list)
    encoding: Encoding | None = None
    meta: dict[str, Any] | None = None
    array: np.ndarray | None = None


@dataclass(frozen=True, slots=True)
class Raw:
    """A transport-native response from a raw hook, sent back as it is."""

    value: Any


Reply = Raw | Message  # what a dispatcher operation returns


@dataclass(slots=True)
class Feedback:
    """A Feedback message decoded: the request it rates (features), the truth and the reward."""

    request: Message
    truth: Any
    reward: float
    routing: Mapping[str, int]  # the rated response's meta.routing: unit name -> branch


# The hooks with a *_raw form, which receives the transport's own message, and a deprecated
# per-transport form (<hook>_rest, <hook>_grpc) that is tried before it.
RAW_CAPABLE_HOOKS = (
    "predict",
    "transform_input",
    "transform_output",
    "route",
    "aggregate",
    "send_feedback",
)


def hook_forms(suffix: str) -> dict[str, str]:
    """hook -> one of its other forms, e.g. hook_forms("raw")["predict"] == "predict_raw"."""
    return {hook: f"{hook}_{suffix}" for hook in RAW_CAPABLE_HOOKS}


def is_custom_data(value: Any) -> bool:
    """A protobuf Any: what a hook returns to answer `customData` (gRPC only)."""
    from google.protobuf import any_pb2  # cached after the first call; rare results only

    return isinstance(value, any_pb2.Any)
