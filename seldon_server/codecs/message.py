"""The internal message both transports decode into and encode from."""

from __future__ import annotations

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
