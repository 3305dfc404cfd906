"""The Open Inference Protocol (V2) over the dispatcher: health, metadata, infer; no transport."""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from seldon_server import __version__
from seldon_server.codecs.v2_model import V2_CODEC, response_of
from seldon_server.codecs.v2_tensors import InferenceRequest, InferenceResponse
from seldon_server.dispatch import SERVICE_OPERATION, Dispatcher
from seldon_server.errors import BAD_DATA, ModelNotReadyError, SeldonError

SERVER_NAME = "seldon-server"
EXTENSIONS = ("binary_tensor_data",)
# What a V2 infer call runs, per service type: the predict-style operations only.
OPERATION = {
    service_type: operation
    for service_type, operation in SERVICE_OPERATION.items()
    if operation in ("predict", "transform_input", "transform_output")
}
_UNSET = "NOT_IMPLEMENTED"


class ModelNotFoundError(SeldonError):
    """A model name or version this server does not serve (404 / NOT_FOUND)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, HTTPStatus.NOT_FOUND, BAD_DATA)


@dataclass(frozen=True)
class ModelIdentity:
    """The one model this server answers for under V2, and its metadata."""

    name: str
    versions: tuple[str, ...]  # empty: any version in a path is accepted
    metadata: dict[str, Any] | None  # None: the model's metadata failed validation


def model_name(explicit: str, unit_id: str, interface_name: str) -> str:
    """MODEL_NAME, else the predictive unit id, else the class name."""
    return explicit or unit_id or interface_name.rsplit(".", 1)[-1]


def identity(name: str, metadata: dict[str, Any] | None) -> ModelIdentity:
    versions = tuple(v for v in (metadata or {}).get("versions", []) if v and v != _UNSET)
    return ModelIdentity(name, versions, metadata)


class InferenceService:
    """V2 health, metadata and inference for one model, over the shared dispatcher."""

    def __init__(self, dispatcher: Dispatcher, model: ModelIdentity, service_type: str) -> None:
        self.dispatcher = dispatcher
        self.model = model
        self.operation = OPERATION.get(service_type)
        self.service_type = service_type
        outputs = (model.metadata or {}).get("outputs") or []
        self.output_names = [item["name"] for item in outputs if _is_tensor_spec(item)]

    @property
    def ready(self) -> bool:
        return self.dispatcher.ready

    def server_metadata(self) -> dict[str, Any]:
        return {"name": SERVER_NAME, "version": __version__, "extensions": list(EXTENSIONS)}

    def check(self, name: str, version: str | None = None) -> None:
        """Raises ModelNotFoundError unless this server serves `name` (at `version`)."""
        if name != self.model.name:
            raise ModelNotFoundError(
                f"Model {name!r} not found (this server serves {self.model.name!r})"
            )
        if version is not None and self.model.versions and version not in self.model.versions:
            raise ModelNotFoundError(f"Model {name!r} has no version {version!r}")

    def model_ready(self, name: str, version: str | None = None) -> bool:
        self.check(name, version)
        return self.ready

    def model_metadata(self, name: str, version: str | None = None) -> dict[str, Any]:
        """The model's V2 metadata: name, versions, platform and the tensor specs it declares
        (from init_metadata() / MODEL_METADATA; v1-style message specs are left out)."""
        self.check(name, version)
        metadata = self.model.metadata or {}
        return {
            "name": self.model.name,
            "versions": list(self.model.versions),
            "platform": metadata.get("platform", ""),
            "inputs": [_spec(item) for item in metadata.get("inputs", []) if _is_tensor_spec(item)],
            "outputs": [
                _spec(item) for item in metadata.get("outputs", []) if _is_tensor_spec(item)
            ],
        }

    def infer(self, name: str, version: str | None, request: InferenceRequest) -> InferenceResponse:
        self.check(name, version)
        if not self.dispatcher.ready:
            raise ModelNotReadyError()
        if self.operation is None:
            raise SeldonError(
                f"A {self.service_type} unit has no V2 inference (only models and transformers)",
                HTTPStatus.NOT_IMPLEMENTED,
                BAD_DATA,
            )
        result = getattr(self.dispatcher, self.operation)(request, V2_CODEC)
        return response_of(result, request, (self.model.name, version), self.output_names)


def _is_tensor_spec(item: Any) -> bool:
    return isinstance(item, dict) and {"name", "datatype", "shape"} <= item.keys()


def _spec(item: dict[str, Any]) -> dict[str, Any]:
    return {"name": item["name"], "datatype": item["datatype"], "shape": item["shape"]}
