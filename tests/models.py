"""User model classes shared by the tests, written as a Seldon Core user would write them."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from flask import Blueprint, jsonify

from seldon_server import (
    SeldonComponent,
    SeldonMicroserviceException,
    SeldonNotImplementedError,
    SeldonResponse,
    create_counter,
    create_gauge,
    create_timer,
)
from seldon_server.proto import prediction_pb2


class Calls:
    """Records every call a model receives: `calls[hook]` is a list of the argument tuples."""

    def __init__(self) -> None:
        self.calls: dict[str, list[Any]] = {}

    def _record(self, hook: str, *args: Any) -> None:
        self.calls.setdefault(hook, []).append(args)

    def count(self, hook: str) -> int:
        return len(self.calls.get(hook, []))


class RecordingMetrics:
    """A MetricsSink that keeps what dispatch records."""

    def __init__(self) -> None:
        self.records: list[tuple[str, list[dict[str, Any]]]] = []
        self.rewards: list[float] = []

    def record(self, method: str, metrics: list[dict[str, Any]]) -> None:
        self.records.append((method, json.loads(json.dumps(metrics))))

    def record_feedback(self, reward: float) -> None:
        self.rewards.append(reward)


# -- MODEL ----------------------------------------------------------------------------------


class Identity:
    """predict(X, features_names) -> X, the original's model template."""

    def predict(self, X: Any, features_names: Any) -> Any:
        return X


class IdentityWithMeta(Calls):
    """predict with a meta keyword: records what it was given."""

    def predict(self, X: Any, features_names: Any, meta: Any = None) -> Any:
        self._record("predict", X, features_names, meta)
        return X


class IdentityKwargs(Calls):
    """predict(X, names, **kwargs): meta arrives through **kwargs."""

    def predict(self, X: Any, names: Any, **kwargs: Any) -> Any:
        self._record("predict", X, names, kwargs)
        return X


class Returns:
    """predict returns a fixed value, whatever the request."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def predict(self, X: Any, features_names: Any) -> Any:
        return self.value


class TypeErrorWithMeta(Calls):
    """A TypeError raised inside user code with a meta signature: must be called exactly once."""

    def predict(self, X: Any, features_names: Any, meta: Any = None) -> Any:
        self._record("predict", X)
        raise TypeError("unsupported operand inside the model")


class TypeErrorNoMeta(Calls):
    def predict(self, X: Any, features_names: Any) -> Any:
        self._record("predict", X)
        raise TypeError("unsupported operand inside the model")


class NoPredict:
    """A class without any hook."""


class EmptyComponent(SeldonComponent):
    """A SeldonComponent subclass that overrides nothing: every hook falls through."""


class ComponentPredict(SeldonComponent):
    """Overrides predict only; the raw hook and the rest are SeldonComponent's placeholders."""

    def predict(self, X: Any, names: Any, meta: Any = None) -> Any:
        return X * 2


class ComponentRaisesNotImplemented(SeldonComponent):
    """predict_raw is overridden but declines at run time: dispatch falls through to predict."""

    def predict_raw(self, msg: Any) -> Any:
        raise SeldonNotImplementedError("not today")

    def predict(self, X: Any, names: Any, meta: Any = None) -> Any:
        return X + 1


class TagsAndMetrics(Calls):
    """Static tags() and metrics(), plus runtime ones through SeldonResponse."""

    def __init__(self, runtime_tags: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.runtime_tags = runtime_tags

    def predict(self, X: Any, features_names: Any) -> Any:
        runtime_metrics = [create_timer("runtime_timer", 2.5)]
        return SeldonResponse(X, tags=self.runtime_tags, metrics=runtime_metrics)

    def tags(self) -> dict[str, Any]:
        self._record("tags")
        return {"b": "model", "c": "model", "n": 1}

    def metrics(self) -> list[dict[str, Any]]:
        self._record("metrics")
        return [create_counter("mycounter", 1), create_gauge("mygauge", 100)]


class TaggedMetric:
    """A metric carrying tags: the response must not gain a `method` tag (docs/compatibility.md)."""

    def __init__(self) -> None:
        self.metric = {"key": "tagged", "type": "COUNTER", "value": 1, "tags": {"t": "v"}}

    def predict(self, X: Any, features_names: Any) -> Any:
        return X

    def metrics(self) -> list[dict[str, Any]]:
        return [self.metric]


class BadMetrics:
    def __init__(self, metrics: Any) -> None:
        self.bad = metrics

    def predict(self, X: Any, features_names: Any) -> Any:
        return X

    def metrics(self) -> Any:
        return self.bad


class BadRuntimeMetrics:
    def predict(self, X: Any, features_names: Any) -> Any:
        return SeldonResponse(X, metrics=[{"key": "k", "type": "BAD", "value": 1}])


class ClassNamesMethod:
    def predict(self, X: Any, features_names: Any) -> Any:
        return X

    def class_names(self) -> list[str]:
        return ["a", "b"]


class ClassNamesAttribute:
    """The deprecated plain attribute."""

    class_names = ["x", "y"]

    def predict(self, X: Any, features_names: Any) -> Any:
        return X


class Denied:
    """SeldonMicroserviceException with a chosen status (403) on both transports."""

    def predict(self, X: Any, features_names: Any) -> Any:
        raise SeldonMicroserviceException("denied", status_code=403)


class Boom:
    def predict(self, X: Any, features_names: Any) -> Any:
        raise ValueError("boom")


# -- raw and deprecated hooks ---------------------------------------------------------------


class RawPredict(Calls):
    """predict_raw returns the full response, with custom metrics in it."""

    def predict_raw(self, msg: Any) -> Any:
        self._record("predict_raw", msg)
        metric = {"key": "raw_counter", "type": "COUNTER", "value": 3}
        if isinstance(msg, prediction_pb2.SeldonMessage):
            out = prediction_pb2.SeldonMessage()
            out.CopyFrom(msg)
            out.meta.metrics.add(key="raw_counter", type=prediction_pb2.Metric.COUNTER, value=3)
            return out
        if isinstance(msg, dict):
            return {**msg, "meta": {"metrics": [metric]}}
        return msg


class RawStatus:
    """A raw reply carrying status.code sets the HTTP status of the predict routes."""

    def predict_raw(self, msg: Any) -> Any:
        return {"status": {"code": 400, "info": "raw says no", "reason": "RAW", "status": 1}}


class RawPassthrough(Calls):
    """For PAYLOAD_PASSTHROUGH: gets bytes/str, answers bytes."""

    def predict_raw(self, msg: Any) -> Any:
        self._record("predict_raw", msg)
        if isinstance(msg, dict):
            return json.dumps({"keys": sorted(msg)})
        text = msg.decode() if isinstance(msg, bytes) else msg
        return ('{"echo":' + json.dumps(text) + "}").encode()


class LegacyRest(Calls):
    """Deprecated predict_rest / transform_input_rest: REST gets the JSON, reply as-is."""

    def predict_rest(self, request: Any) -> Any:
        self._record("predict_rest", request)
        return {"legacy": "rest", "got": request}

    def predict_grpc(self, request: Any) -> Any:
        self._record("predict_grpc", request)
        out = prediction_pb2.SeldonMessage()
        out.strData = "legacy grpc"
        return out

    def transform_input_rest(self, request: Any) -> Any:
        return {"strData": "legacy transform"}

    def predict(self, X: Any, names: Any) -> Any:  # never reached
        raise AssertionError("predict must not run when predict_rest/_grpc exist")


class LegacyFeedback(Calls):
    """send_feedback_rest gets the Feedback re-serialised as a JSON string; _grpc the proto."""

    def send_feedback_rest(self, request: Any) -> Any:
        self._record("send_feedback_rest", request)
        return {"strData": "rest feedback"}

    def send_feedback_grpc(self, request: Any) -> Any:
        self._record("send_feedback_grpc", request)
        return {"strData": "grpc feedback"}


# -- other service types --------------------------------------------------------------------


class Router(Calls):
    """ROUTER: route -> 22, feedback with the routing the executor recorded."""

    def __init__(self, branch: Any = 22) -> None:
        super().__init__()
        self.branch = branch

    def route(self, features: Any, feature_names: Any, meta: Any = None) -> Any:
        self._record("route", features, feature_names, meta)
        return self.branch

    def send_feedback(
        self, features: Any, feature_names: Any, reward: Any, truth: Any, routing: Any = None
    ) -> Any:
        self._record("send_feedback", features, feature_names, reward, truth, routing)
        return None


class RouterNoMeta:
    def route(self, features: Any, feature_names: Any) -> Any:
        return SeldonResponse(1, tags={"routed": True})


class Transformer(Calls):
    """TRANSFORMER and OUTPUT_TRANSFORMER hooks."""

    def transform_input(self, X: Any, names: Any, meta: Any = None) -> Any:
        self._record("transform_input", X, names, meta)
        return X * 2

    def transform_output(self, X: Any, names: Any) -> Any:
        self._record("transform_output", X, names)
        return X + 1


class OutlierDetector:
    """OUTLIER_DETECTOR: a transform_input model that passes X through and tags the response."""

    def __init__(self) -> None:
        self.score = 0.0

    def transform_input(self, X: Any, names: Any, meta: Any = None) -> Any:
        self.score = float(np.max(X))
        return X

    def tags(self) -> dict[str, Any]:
        return {"outlierScore": self.score, "isOutlier": self.score > 10}


class Combiner(Calls):
    """COMBINER: the element-wise mean of its inputs."""

    def aggregate(self, features_list: list[Any], feature_names_list: list[Any]) -> Any:
        self._record("aggregate", features_list, feature_names_list)
        return np.mean(np.stack(features_list), axis=0)

    def tags(self) -> dict[str, Any]:
        return {"combiner": "mean"}


class CombinerFirst:
    """Returns its first input as it came (any payload kind)."""

    def aggregate(self, features_list: list[Any], feature_names_list: list[Any]) -> Any:
        return features_list[0]


class Feedback(Calls):
    """send_feedback with the routing keyword, returning a runtime counter."""

    def send_feedback(
        self, features: Any, feature_names: Any, reward: Any, truth: Any, routing: Any = None
    ) -> Any:
        self._record("send_feedback", features, feature_names, reward, truth, routing)
        return SeldonResponse([], metrics=[create_counter("fb_counter", 1)])


class FeedbackNoRouting(Calls):
    def send_feedback(self, features: Any, feature_names: Any, reward: Any, truth: Any) -> Any:
        self._record("send_feedback", features, feature_names, reward, truth)
        return [1, 2]


# -- health, metadata, error handlers -------------------------------------------------------


class Health(Calls):
    """health_status() answering a value, with tags() and metrics()."""

    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value

    def predict(self, X: Any, names: Any) -> Any:
        return X

    def health_status(self) -> Any:
        return self.value

    def tags(self) -> dict[str, Any]:
        return {"m": 1}

    def metrics(self) -> list[dict[str, Any]]:
        self._record("metrics")
        return [create_counter("probe_counter", 1)]


class HealthRaw:
    def health_status_raw(self) -> Any:
        return {"status": "raw ok"}


class WithMetadata:
    def predict(self, X: Any, names: Any) -> Any:
        return X

    def init_metadata(self) -> dict[str, Any]:
        return {
            "name": "my-model",
            "versions": ["v1"],
            "platform": "seldon",
            "inputs": [{"messagetype": "tensor", "schema": {"names": ["a", "b"], "shape": [2]}}],
            "outputs": [{"name": "out", "datatype": "FP64", "shape": [1, 2]}],
            "custom": {"author": "me"},
        }


class UserCustomException(Exception):
    status_code = 402

    def __init__(self, message: str, application_error_code: int) -> None:
        super().__init__(message)
        self.message = message
        self.application_error_code = application_error_code

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": {
                "status": self.status_code,
                "message": self.message,
                "app_code": self.application_error_code,
            }
        }


errors = Blueprint("errors", __name__)


@errors.app_errorhandler(UserCustomException)
def handle_custom_error(error: UserCustomException) -> Any:
    response = jsonify(error.to_dict())
    response.status_code = error.status_code
    return response


class WithErrorHandler:
    """The original's model_error_handler test: a custom exception answered 402 with its body."""

    model_error_handler = errors

    def predict(self, X: Any, features_names: Any) -> Any:
        raise UserCustomException("my exception", 1402)
