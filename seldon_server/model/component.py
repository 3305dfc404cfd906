"""The public user-model API: the optional SeldonComponent base class and SeldonResponse."""

from __future__ import annotations

from typing import Any

from seldon_server.errors import SeldonNotImplementedError


class SeldonResponse:
    """A hook's return value plus runtime tags and metrics that apply to this response only.

    Thread-safe alternative to mutable instance state: `predict` may return
    `SeldonResponse(data, tags={"k": "v"}, metrics=[create_counter("c", 1)])`.
    """

    def __init__(
        self,
        data: Any,
        tags: dict[str, Any] | None = None,
        metrics: list[dict[str, Any]] | None = None,
    ) -> None:
        self.data = data
        self.tags = tags if tags is not None else {}
        self.metrics = metrics if metrics is not None else []

    @classmethod
    def create(cls, data: Any) -> SeldonResponse:
        """Wrap a plain return value; a SeldonResponse is returned unchanged."""
        return data if isinstance(data, SeldonResponse) else cls(data)


class SeldonComponent:
    """Optional base class for user models: every hook falls through until overridden.

    Dispatch treats a hook inherited unchanged from this class as absent, and a hook that raises
    `SeldonNotImplementedError` at run time as "fall through to the next one".
    """

    def __init__(self, **kwargs: Any) -> None:
        self.tracer: Any = None

    def load(self) -> None:
        """Load model artefacts: once per serving process, or once before fork with --preload."""

    def tags(self) -> dict[str, Any]:
        raise SeldonNotImplementedError("tags is not implemented")

    def class_names(self) -> list[str]:
        raise SeldonNotImplementedError("class_names is not implemented")

    def metrics(self) -> list[dict[str, Any]]:
        raise SeldonNotImplementedError("metrics is not implemented")

    def feature_names(self) -> list[str]:
        raise SeldonNotImplementedError("feature_names is not implemented")

    def predict(self, X: Any, names: list[str], meta: dict[str, Any] | None = None) -> Any:
        raise SeldonNotImplementedError("predict is not implemented")

    def predict_raw(self, msg: Any) -> Any:
        raise SeldonNotImplementedError("predict_raw is not implemented")

    def transform_input(self, X: Any, names: list[str], meta: dict[str, Any] | None = None) -> Any:
        raise SeldonNotImplementedError("transform_input is not implemented")

    def transform_input_raw(self, msg: Any) -> Any:
        raise SeldonNotImplementedError("transform_input_raw is not implemented")

    def transform_output(self, X: Any, names: list[str], meta: dict[str, Any] | None = None) -> Any:
        raise SeldonNotImplementedError("transform_output is not implemented")

    def transform_output_raw(self, msg: Any) -> Any:
        raise SeldonNotImplementedError("transform_output_raw is not implemented")

    def send_feedback(
        self, features: Any, feature_names: list[str], reward: float, truth: Any, routing: Any
    ) -> Any:
        raise SeldonNotImplementedError("send_feedback is not implemented")

    def send_feedback_raw(self, feedback: Any) -> Any:
        raise SeldonNotImplementedError("send_feedback_raw is not implemented")

    def route(self, features: Any, feature_names: list[str]) -> Any:
        raise SeldonNotImplementedError("route is not implemented")

    def route_raw(self, msg: Any) -> Any:
        raise SeldonNotImplementedError("route_raw is not implemented")

    def aggregate(self, features_list: list[Any], feature_names_list: list[Any]) -> Any:
        raise SeldonNotImplementedError("aggregate is not implemented")

    def aggregate_raw(self, msgs: Any) -> Any:
        raise SeldonNotImplementedError("aggregate_raw is not implemented")

    def health_status(self) -> Any:
        raise SeldonNotImplementedError("health is not implemented")

    def health_status_raw(self) -> Any:
        raise SeldonNotImplementedError("health_raw is not implemented")

    def metadata(self) -> dict[str, Any]:
        raise SeldonNotImplementedError("metadata is not implemented")

    def init_metadata(self) -> dict[str, Any]:
        raise SeldonNotImplementedError("init_metadata is not implemented")

    def set_tracer(self, tracer: Any) -> None:
        self.tracer = tracer
