"""How a V2 inference request reaches the model class and how its answer becomes V2 outputs."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from seldon_server.codecs.message import Feedback, Message, Reply
from seldon_server.codecs.v2_tensors import (
    InferenceRequest,
    InferenceResponse,
    NamedTensor,
    output_tensor,
    select_outputs,
)
from seldon_server.errors import BadDataError, InternalError

DEFAULT_OUTPUT = "output-0"
# Request parameters that steer the protocol itself, not the model: never passed on as tags.
PROTOCOL_PARAMETERS = frozenset(
    ("content_type", "headers", "binary_data_output", "binary_data", "binary_data_size")
)


def request_message(request: InferenceRequest) -> Message:
    """The request as the hooks receive it.

    One input: its data (a numpy array of its shape and dtype; BYTES as its content type says),
    with `names` from the input's `names` parameter. Several inputs: a dict name -> data. `meta`
    carries the request's own parameters as tags and its id as the puid.
    """
    meta: dict[str, Any] = {}
    tags = {k: v for k, v in request.parameters.items() if k not in PROTOCOL_PARAMETERS}
    if tags:
        meta["tags"] = tags
    if request.id:
        meta["puid"] = request.id
    if len(request.inputs) == 1:
        tensor = request.inputs[0]
        return Message("data", tensor.data, _names(tensor), "tensor", meta)
    if not request.inputs:
        raise BadDataError("A V2 inference request needs at least one input")
    return Message("jsonData", {tensor.name: tensor.data for tensor in request.inputs}, meta=meta)


def _names(tensor: NamedTensor) -> list[str]:
    names = tensor.parameters.get("names")
    if names is None:
        return []
    if isinstance(names, str):  # gRPC parameters hold no lists: a comma-separated string
        return [name.strip() for name in names.split(",")]
    if isinstance(names, list) and all(isinstance(name, str) for name in names):
        return names
    raise BadDataError(f"Input {tensor.name!r}: parameter 'names' must be a list of strings")


def response_of(
    result: Reply,
    request: InferenceRequest,
    model: tuple[str, str | None],
    output_names: list[str],
) -> InferenceResponse:
    """The hook's answer as outputs: an array or list is one output (named after the first
    output of the model's metadata, else output-0), a dict one output per key, text or bytes
    one BYTES element. Response tags become response parameters."""
    if not isinstance(result, Message):  # raw hooks are not called for V2 requests
        raise InternalError("A raw hook's answer cannot be sent as V2 outputs")
    outputs = _outputs(result, output_names[0] if output_names else DEFAULT_OUTPUT)
    name, version = model
    parameters = _parameters((result.meta or {}).get("tags") or {})
    return InferenceResponse(
        name, select_outputs(outputs, request.outputs), version, request.id, parameters
    )


def _outputs(result: Message, first_name: str) -> list[NamedTensor]:
    value = result.value
    if result.kind == "data":
        return [output_tensor(first_name, value)]
    if result.kind == "jsonData":
        if not isinstance(value, Mapping) or not value:
            raise InternalError(
                "A V2 answer must be an array, a list, text, bytes or a dict of them, "
                f"not {type(value).__name__}"
            )
        return [output_tensor(str(key), item) for key, item in value.items()]
    if result.kind in ("strData", "binData"):
        return [output_tensor(first_name, [value])]
    raise InternalError(f"A {result.kind} answer cannot be sent as V2 outputs")


def _parameters(tags: Mapping[str, Any]) -> dict[str, Any]:
    """Tags as V2 parameters, which hold only scalars: anything else goes as its JSON text."""
    out: dict[str, Any] = {}
    for key, value in tags.items():
        if isinstance(value, bool | int | float | str):
            out[str(key)] = value
        else:
            out[str(key)] = json.dumps(value, sort_keys=True, default=str)
    return out


class V2Codec:
    """The dispatcher's view of a V2 request: tensors in, no raw hooks, no feedback."""

    serves_raw_hooks = False
    legacy_hooks: Mapping[str, str] = {}

    @staticmethod
    def decode(native: Any) -> Message:
        return request_message(native)

    @staticmethod
    def decode_list(native: Any) -> list[Message]:
        raise BadDataError("aggregate is not available over the V2 protocol")

    @staticmethod
    def decode_feedback(native: Any) -> Feedback:
        raise BadDataError("feedback is not available over the V2 protocol")

    @staticmethod
    def feedback_reward(native: Any) -> float:
        raise BadDataError("feedback is not available over the V2 protocol")

    @staticmethod
    def native(native: Any) -> Any:
        return native

    @staticmethod
    def legacy_native(hook: str, native: Any) -> Any:
        return native

    @staticmethod
    def raw_reply(hook: str, reply: Any) -> Any:
        return reply

    @staticmethod
    def take_raw_metrics(response: Any, keep: bool) -> list[dict[str, Any]]:
        return []


V2_CODEC = V2Codec()
