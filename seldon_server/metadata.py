"""Model metadata: defaults <- init_metadata() <- MODEL_METADATA, validated once, and its proto."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from seldon_server.proto import prediction_pb2

logger = logging.getLogger(__name__)

TENSOR_DATATYPES = (
    "BOOL",
    "UINT8",
    "UINT16",
    "UINT32",
    "UINT64",
    "INT8",
    "INT16",
    "INT32",
    "INT64",
    "FP16",
    "FP32",
    "FP64",
    "BYTES",
)
_ARRAY_MESSAGE_TYPES = ("tensor", "ndarray", "tftensor")
_KNOWN_MESSAGE_TYPES = (*_ARRAY_MESSAGE_TYPES, "jsonData", "strData", "binData")
_STRINGS = {"type": "array", "items": {"type": "string"}}
_INTEGERS = {"type": "array", "items": {"type": "integer"}}


def _closed(properties: dict[str, Any], *required: str) -> dict[str, Any]:
    """An object schema allowing only `properties`."""
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = list(required)
    return schema


# One input/output item (as the original validated it). Only the V2 alternative has no required key,
# so `{}` and `{"name": "x"}` are accepted: the original's looseness, kept for compatibility.
_ITEM_ALTERNATIVES = [
    _closed(
        {
            "messagetype": {"enum": list(_ARRAY_MESSAGE_TYPES)},
            "schema": _closed({"names": _STRINGS, "shape": _INTEGERS}),
        },
        "messagetype",
    ),
    _closed({"messagetype": {"const": "jsonData"}, "schema": {"type": "object"}}, "messagetype"),
    _closed({"messagetype": {"enum": ["strData", "binData"]}}, "messagetype"),
    _closed(
        {
            "messagetype": {"type": "string", "not": {"enum": list(_KNOWN_MESSAGE_TYPES)}},
            "schema": {"type": "object"},
        },
        "messagetype",
    ),
    _closed(
        {
            "name": {"type": "string"},
            "datatype": {"enum": list(TENSOR_DATATYPES)},
            "shape": _INTEGERS,
        }
    ),
]
_ITEMS = {"type": "array", "items": {"anyOf": _ITEM_ALTERNATIVES}}
METADATA_SCHEMA: dict[str, Any] = _closed(
    {
        "name": {"type": "string"},
        "versions": _STRINGS,
        "platform": {"type": "string"},
        "inputs": _ITEMS,
        "outputs": _ITEMS,
        "custom": {"type": "object", "additionalProperties": {"type": "string"}},
    }
)


@dataclass(frozen=True)
class ModelMetadata:
    """The merged metadata (`value`), or None with the validation `error` when it is invalid."""

    value: dict[str, Any] | None
    error: str | None = None

    @property
    def valid(self) -> bool:
        return self.value is not None


def build_metadata(
    init_metadata: Mapping[str, Any] | None,
    model_metadata_env: str,
    predictive_unit_image: str,
) -> ModelMetadata:
    """Merge image defaults, `init_metadata()` and MODEL_METADATA (shallowly, later wins).

    An invalid result is logged here once and returned with `value=None`.
    """
    merged = {
        **default_metadata(predictive_unit_image),
        **_from_init(init_metadata),
        **_from_env(model_metadata_env),
    }
    error = validation_error(merged)
    if error is not None:
        logger.error("Model metadata is invalid and will not be served: %s", error)
        return ModelMetadata(None, error)
    return ModelMetadata(merged)


def default_metadata(image: str) -> dict[str, Any]:
    """Name and version from the image; everything else empty."""
    name, tag = split_image(image)
    return {
        "name": name,
        "versions": [tag],
        "platform": "",
        "inputs": [],
        "outputs": [],
        "custom": {},
    }


def split_image(image: str) -> tuple[str, str]:
    """Name and version of an image as the original split them: at the last ':'.

    Kept naive on purpose (`img` -> ("", "img"), `host:5000/img` -> ("host", "5000/img")) because
    metadata defaults, metric labels and request paths must match the original's byte for byte.
    """
    name, _, version = image.rpartition(":")
    return name, version


def validation_error(metadata: Mapping[str, Any]) -> str | None:
    """One line describing why `metadata` breaks the schema, or None if it is valid."""
    import jsonschema  # lazy: only needed once, at start-up

    validator = jsonschema.Draft202012Validator(METADATA_SCHEMA)
    # The first error, not best_match: for an item that fits no alternative, "not valid under
    # any of the given schemas" at the item is clearer than one alternative's complaint.
    error = next(iter(validator.iter_errors(metadata)), None)
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path) or "(top level)"
    message = " ".join(f"{where}: {error.message}".split())
    return message if len(message) <= 300 else message[:297] + "..."


def _from_init(init_metadata: Any) -> dict[str, Any]:
    if init_metadata is None:
        return {}
    if not isinstance(init_metadata, Mapping):
        logger.error(
            "init_metadata() returned %s, not a dict; ignored", type(init_metadata).__name__
        )
        return {}
    return dict(init_metadata)


def _from_env(text: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    import yaml  # lazy: only needed once, at start-up

    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        logger.error(
            "MODEL_METADATA is not valid YAML or JSON; ignored: %s", " ".join(str(exc).split())
        )
        return {}
    if not isinstance(parsed, dict):
        logger.error("MODEL_METADATA is %s, not a mapping; ignored", type(parsed).__name__)
        return {}
    return parsed


def metadata_to_proto(metadata: Mapping[str, Any] | None) -> prediction_pb2.SeldonModelMetadata:
    """The metadata as a `SeldonModelMetadata`; None (invalid metadata) gives an empty message.

    Unknown fields are ignored; `schema` values become `google.protobuf.Value`.
    """
    from google.protobuf import json_format

    from seldon_server.proto import prediction_pb2

    message = prediction_pb2.SeldonModelMetadata()
    if metadata:
        json_format.ParseDict(dict(metadata), message, ignore_unknown_fields=True)
    return message
