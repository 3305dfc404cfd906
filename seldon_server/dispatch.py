"""The transport-free service layer: one operation per Seldon method, called by REST and gRPC."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from seldon_server.codecs import numpy as np_codec
from seldon_server.codecs.message import (
    Feedback,
    Message,
    Raw,
    Reply,
    hook_forms,
    is_custom_data,
)
from seldon_server.custom_metrics import validate_metrics
from seldon_server.errors import (
    BadDataError,
    BadMetricError,
    ModelNotReadyError,
    SeldonError,
    SeldonNotImplementedError,
    as_seldon_error,
)
from seldon_server.load import rows
from seldon_server.load.batcher import Batcher
from seldon_server.metrics import MetricsSink, NullMetrics
from seldon_server.model.adapter import UserModel
from seldon_server.model.component import SeldonResponse

logger = logging.getLogger(__name__)

RAW_HOOKS = hook_forms("raw")

# What a unit of each service type answers (the operation the executor called on it).
SERVICE_OPERATION = {
    "MODEL": "predict",
    "ROUTER": "route",
    "TRANSFORMER": "transform_input",
    "OUTPUT_TRANSFORMER": "transform_output",
    "COMBINER": "aggregate",
    "OUTLIER_DETECTOR": "transform_input",
}

# The `method` label of custom metrics, per hook (as the original's metric tags).
METRIC_METHOD = {
    "predict": "predict",
    "transform_input": "inputtransform",
    "transform_output": "outputtransform",
    "route": "router",
    "aggregate": "aggregate",
    "send_feedback": "feedback",
    "health_status": "health",
}


Operation = Callable[["Dispatcher", Any, "TransportCodec"], "Raw | Message"]


def _limited(operation: Operation) -> Operation:
    """An operation run within the dispatcher's call limit (see Dispatcher.call_limit)."""

    @functools.wraps(operation)
    def limited(self: Dispatcher, native: Any, codec: TransportCodec) -> Raw | Message:
        with self.call_limit:
            return operation(self, native, codec)

    return limited


class TransportCodec(Protocol):
    """What the dispatcher needs from a transport; every protocol detail lives behind it.

    `native` is the request as the transport parsed it (a JSON object, a SeldonMessage, its
    bytes, or a protobuf Feedback); only the codec looks inside.
    """

    # hook -> its deprecated per-transport form (predict -> predict_rest), called before *_raw
    legacy_hooks: Mapping[str, str]
    # whether *_raw hooks see this transport's requests (V2 requests always go to the hooks)
    serves_raw_hooks: bool

    def decode(self, native: Any) -> Message: ...

    def decode_list(self, native: Any) -> list[Message]: ...

    def decode_feedback(self, native: Any) -> Feedback: ...

    def feedback_reward(self, native: Any) -> float: ...

    def native(self, native: Any) -> Any: ...  # the request as a *_raw hook receives it

    def legacy_native(self, hook: str, native: Any) -> Any: ...  # ... and a <hook>_rest one

    def raw_reply(self, hook: str, reply: Any) -> Any: ...  # a raw hook's reply, made sendable

    def take_raw_metrics(self, response: Any, keep: bool) -> list[dict[str, Any]]: ...


@dataclass(frozen=True, slots=True)
class DispatchConfig:
    include_metrics_in_client_response: bool = True
    predictive_unit_id: str = ""
    predictive_unit_image: str = ""
    executor_enabled: bool = True


@dataclass(frozen=True, slots=True)
class Outcome:
    """A hook call's result for one request: its data, runtime tags and response metrics."""

    data: Any
    tags: dict[str, Any]
    metrics: list[dict[str, Any]]


# What the original reported as the image of a unit whose PREDICTIVE_UNIT_IMAGE is unset.
UNSET_IMAGE = "NOT_IMPLEMENTED:NOT_IMPLEMENTED"


_NO_SPAN = contextlib.nullcontext()


def _no_span(name: str) -> AbstractContextManager[Any]:
    return _NO_SPAN


class Dispatcher:
    """Runs one Seldon operation against the user model; knows nothing of HTTP or gRPC."""

    def __init__(
        self,
        model: UserModel,
        config: DispatchConfig | None = None,
        metrics: MetricsSink | None = None,
    ) -> None:
        self.model = model
        self.config = config or DispatchConfig()
        self.metrics: MetricsSink = metrics or NullMetrics()
        # Tracing wraps user calls in a child span when enabled (set by the serving layer).
        self.user_span: Callable[[str], AbstractContextManager[Any]] = _no_span
        unit = self.config.predictive_unit_id
        image = self.config.predictive_unit_image or UNSET_IMAGE
        self._unit_path = {unit: image} if unit else {}
        # Adaptive batching, when on: predict calls are joined by this (set by the serving layer),
        # and the user calls made on request threads (every hook but batched predict) are
        # bounded by `call_limit`, as --threads bounds them without batching.
        self.batcher: Batcher | None = None
        self.call_limit: AbstractContextManager[Any] = _NO_SPAN

    # -- operations ------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """Whether load() has finished; every operation but readiness itself waits for it."""
        return self.model.ready.is_set()

    def predict(self, native: Any, codec: TransportCodec) -> Raw | Message:
        return self._transform("predict", native, codec, fallback_identity=False)

    def transform_input(self, native: Any, codec: TransportCodec) -> Raw | Message:
        return self._transform("transform_input", native, codec, fallback_identity=True)

    def transform_output(self, native: Any, codec: TransportCodec) -> Raw | Message:
        return self._transform("transform_output", native, codec, fallback_identity=True)

    @_limited
    def route(self, native: Any, codec: TransportCodec) -> Raw | Message:
        self._check_ready()
        raw = self._raw_hook("route", native, codec)
        if raw is not None:
            return raw
        request = codec.decode(native)
        if not self.model.has("route"):
            raise self._not_defined("route", "Route not defined")
        with self.user_span("route"):
            result = SeldonResponse.create(
                self.model.call_with_meta("route", request.value, request.names, request.meta)
            )
        # bool is an int subclass and passes, as in the original; numpy ints do not.
        if not isinstance(result.data, int):
            raise BadDataError(f"Routing response must be int but got {result.data}")
        metrics = self._custom_metrics("route", result.metrics)
        # Only the unit's own path: the original dropped the request's requestPath on routes.
        meta = self._build_meta({}, metrics, result.tags, (request.meta or {}).get("puid"), {})
        return self._payload(np.array([[result.data]]), request, meta)

    @_limited
    def aggregate(self, native: Any, codec: TransportCodec) -> Raw | Message:
        self._check_ready()
        raw = self._raw_hook("aggregate", native, codec)
        if raw is not None:
            return raw
        messages = codec.decode_list(native)
        if not messages:
            raise BadDataError("Invalid request data type: no messages to aggregate")
        if not self.model.has("aggregate"):
            raise self._not_defined("aggregate", "Aggregate not defined")
        with self.user_span("aggregate"):
            out = self.model.call(
                "aggregate", [m.value for m in messages], [m.names for m in messages]
            )
        result = SeldonResponse.create(out)
        metrics = self._custom_metrics("aggregate", result.metrics)
        tags: dict[str, Any] = {}
        request_path: dict[str, Any] = {}
        inherited: list[Any] = []
        for message in messages:
            meta = message.meta or {}
            tags.update(_mapping(_given(meta, "tags", {}), "tags"))
            request_path.update(_mapping(_given(meta, "requestPath", {}), "requestPath"))
            inherited.extend(_listing(_given(meta, "metrics", []), "metrics"))
        first = messages[0]
        puid = (first.meta or {}).get("puid")
        meta = self._build_meta(tags, inherited + metrics, result.tags, puid, request_path)
        return self._payload(result.data, first, meta)

    @_limited
    def send_feedback(self, native: Any, codec: TransportCodec) -> Raw | Message:
        self._check_ready()
        reward = codec.feedback_reward(native)
        if self.config.executor_enabled and reward:
            self.metrics.record_feedback(reward)
        raw = self._raw_hook("send_feedback", native, codec)
        if raw is not None:
            return raw
        feedback = codec.decode_feedback(native)
        request = feedback.request
        routing = feedback.routing.get(self.config.predictive_unit_id or "0")
        data: Any = None
        if self.model.has("send_feedback"):
            try:
                with self.user_span("send_feedback"):
                    data = self.model.call_feedback(
                        request.value, request.names, reward, feedback.truth, routing
                    )
            except SeldonNotImplementedError:
                data = None
        result = SeldonResponse.create(data)
        metrics = self._custom_metrics("send_feedback", result.metrics)
        puid = (request.meta or {}).get("puid")
        meta = self._build_meta({}, metrics, result.tags, puid, {})
        value = np.array([]) if result.data is None else result.data
        return self._payload(value, request, meta)

    def health_status(self) -> Raw | Message:
        """Health probes never call metrics() (they used to bump custom counters)."""
        self._check_ready()
        if self.model.has("health_status_raw"):
            try:
                return Raw(self.model.call("health_status_raw"))
            except SeldonNotImplementedError:
                pass
        if self.model.has("health_status"):
            try:
                value = self.model.call("health_status")
            except SeldonNotImplementedError:
                value = "not implemented - assuming healthy"
        elif self.model.inherits("health_status"):
            value = "not implemented - assuming healthy"
        else:
            value = "healthy"
        meta = self._build_meta({}, [], {}, None, {})
        return self._payload(value, Message(None, None), meta)

    # -- steps -----------------------------------------------------------------------------

    def _check_ready(self) -> None:
        if not self.model.ready.is_set():
            raise ModelNotReadyError()

    def _transform(
        self, hook: str, native: Any, codec: TransportCodec, *, fallback_identity: bool
    ) -> Raw | Message:
        self._check_ready()
        if hook == "predict" and self.batcher is not None:  # never with raw predict hooks
            request = codec.decode(native)
            return self._reply(request, self.batcher.submit(request))
        with self.call_limit:
            raw = self._raw_hook(hook, native, codec)
            if raw is not None:
                return raw
            request = codec.decode(native)
            return self._reply(request, self._call(hook, request, fallback_identity))

    def _call(self, hook: str, request: Message, fallback_identity: bool) -> Outcome:
        """One hook call for one request: its result, tags and the metrics to answer with."""
        out: Any = request.value if fallback_identity else []
        if self.model.has(hook):
            try:
                with self.user_span(hook):
                    out = self.model.call_with_meta(
                        hook, request.value, request.names, request.meta
                    )
            except SeldonNotImplementedError:
                pass
        result = SeldonResponse.create(out)
        return Outcome(result.data, result.tags, self._custom_metrics(hook, result.metrics))

    def _reply(self, request: Message, outcome: Outcome) -> Message:
        meta = self._meta(request, request.meta, outcome.metrics, outcome.tags)
        return self._payload(outcome.data, request, meta)

    # -- batched predict ---------------------------------------------------------------------

    def predict_rows(self, requests: list[Message]) -> list[Outcome | SeldonError]:
        """One predict call for requests that share a batch key (rows.batch_key): their rows
        joined, the result split back; a failure is every request's. The call's meta is the
        request's own when alone, else empty (the requests' metas differ)."""
        try:
            if len(requests) == 1:
                return [self._call("predict", requests[0], False)]
            joined = Message("data", rows.join(requests), requests[0].names, meta={})
            outcome = self._call("predict", joined, False)
            if isinstance(outcome.data, list) and not outcome.data:  # no predict: [] for each
                return [outcome] * len(requests)
            parts = rows.split(outcome.data, [request.value.shape[0] for request in requests])
            return [Outcome(part, outcome.tags, outcome.metrics) for part in parts]
        except Exception as exc:
            error = as_seldon_error(exc)
            return [error] * len(requests)

    def predict_many(
        self, natives: list[Any], codec: TransportCodec, max_size: int
    ) -> list[Reply | SeldonError]:
        """Predict for requests in hand (a Kafka batch): those that share a batch key in calls
        of up to `max_size` requests, the others alone; one reply or error per request."""
        self._check_ready()
        if self.model.has_raw_variant("predict") and codec.serves_raw_hooks:
            return [_answer(self.predict, native, codec) for native in natives]
        decoded = [_answer(codec.decode, native) for native in natives]
        keys = [rows.batch_key(m) if isinstance(m, Message) else None for m in decoded]
        answers: list[Reply | SeldonError] = list(decoded)  # errors stay as they are
        for group in rows.groups(keys, max_size):
            requests = [decoded[i] for i in group]
            if not isinstance(requests[0], Message):
                continue
            if self.batcher is not None:
                self.batcher.record_call(len(requests))
            outcomes = self.predict_rows(requests)  # type: ignore[arg-type]
            for i, request, outcome in zip(group, requests, outcomes, strict=True):
                if isinstance(outcome, Outcome):
                    answers[i] = _answer(self._reply, request, outcome)
                else:
                    answers[i] = outcome
        return answers

    def _raw_hook(self, hook: str, native: Any, codec: TransportCodec) -> Raw | None:
        """The deprecated per-transport hook, else `<hook>_raw`, given the native request."""
        if not self.model.has_raw_variant(hook) or not codec.serves_raw_hooks:
            return None
        legacy = codec.legacy_hooks[hook]
        if self.model.has(legacy):
            with self.user_span(legacy):
                reply = self.model.call(legacy, codec.legacy_native(hook, native))
            return Raw(codec.raw_reply(hook, reply))
        raw_hook = RAW_HOOKS[hook]
        if not self.model.has(raw_hook):
            return None
        try:
            with self.user_span(raw_hook):
                reply = self.model.call(raw_hook, codec.native(native))
        except SeldonNotImplementedError:
            return None
        response = codec.raw_reply(hook, reply)
        self._record_raw_metrics(hook, response, codec)
        return Raw(response)

    def _record_raw_metrics(self, hook: str, response: Any, codec: TransportCodec) -> None:
        keep = self.config.include_metrics_in_client_response
        metrics = codec.take_raw_metrics(response, keep)
        if metrics:
            self.metrics.record(METRIC_METHOD[hook], metrics)

    def _custom_metrics(self, hook: str, runtime: list[dict[str, Any]]) -> list[dict[str, Any]]:
        method = METRIC_METHOD[hook]
        if runtime:
            _check_metrics(runtime)
            self.metrics.record(method, runtime)
        elif not isinstance(runtime, list):
            _check_metrics(runtime)
        static = self.model.optional("metrics", None)
        if static is not None:
            _check_metrics(static)
            self.metrics.record(method, static)
        if not self.config.include_metrics_in_client_response:
            return []
        return [*(static or []), *runtime]

    def _meta(
        self,
        request: Message,
        inherited: dict[str, Any] | None,
        metrics: list[dict[str, Any]],
        runtime_tags: dict[str, Any],
    ) -> dict[str, Any]:
        """Response meta; `inherited` is the request meta whose tags and metrics carry over."""
        if not request.meta and not inherited:  # the common request: nothing to carry over
            return self._build_meta({}, metrics, runtime_tags, None, {})
        request_meta = request.meta or {}
        inherited = inherited or {}
        return self._build_meta(
            _given(inherited, "tags", {}),
            _concat(_given(inherited, "metrics", []), metrics, "metrics"),
            runtime_tags,
            request_meta.get("puid"),
            _given(request_meta, "requestPath", {}),
        )

    def _build_meta(
        self,
        tags: Any,
        metrics: Any,
        runtime_tags: dict[str, Any],
        puid: Any,
        request_path: Any,
    ) -> dict[str, Any]:
        """Merge as the original did; odd request values pass through untouched when nothing
        has to be merged into them (REST requests are not schema-checked), else they are 400."""
        model_tags = self.model.optional("tags", None)
        if model_tags or runtime_tags:
            tags = {**_mapping(tags, "tags"), **(model_tags or {}), **(runtime_tags or {})}
        meta: dict[str, Any] = {}
        if tags:
            meta["tags"] = dict(tags) if isinstance(tags, dict) else tags
        if metrics:
            meta["metrics"] = metrics
        if puid:
            meta["puid"] = puid
        if request_path or self._unit_path or request_path.__class__ is not dict:
            path = {**self._unit_path, **_mapping(request_path, "requestPath")}
            if path:
                meta["requestPath"] = path
        return meta

    def _payload(self, value: Any, request: Message, meta: dict[str, Any]) -> Message:
        """Wrap a hook's result; arrays echo the request's encoding when numeric."""
        if value.__class__ is np.ndarray:  # the common case first
            return self._array_payload(value, value, request, meta)
        if isinstance(value, dict):
            return Message("jsonData", value, meta=meta)
        if isinstance(value, bytes | bytearray):
            return Message("binData", bytes(value), meta=meta)
        if isinstance(value, str):
            return Message("strData", value, meta=meta)
        if is_custom_data(value):
            return Message("customData", value, meta=meta)
        if not isinstance(value, list | np.ndarray):
            raise BadDataError(
                f"Unknown data type returned as payload (must be list or np array):{value}"
            )
        return self._array_payload(value, np_codec.as_array(value), request, meta)

    def _array_payload(
        self, value: Any, array: np.ndarray, request: Message, meta: dict[str, Any]
    ) -> Message:
        numeric = np_codec.is_numeric(array)
        if request.kind == "data":
            encoding = (request.encoding or "ndarray") if numeric else "ndarray"
        else:
            encoding = "tensor" if numeric else "ndarray"
        names = self.model.class_names(array.shape[1]) if array.ndim > 1 else []
        return Message("data", value, names, encoding, meta, array)  # type: ignore[arg-type]

    def _not_defined(self, hook: str, message: str) -> SeldonNotImplementedError:
        if self.model.inherits(hook):
            return SeldonNotImplementedError(f"{hook} is not implemented")
        return SeldonNotImplementedError(message)


def _answer(func: Callable[..., Any], *args: Any) -> Any:
    """func(*args), or the SeldonError it raised (a user exception wrapped as a 500)."""
    try:
        return func(*args)
    except Exception as exc:
        return as_seldon_error(exc)


def _given(meta: dict[str, Any], field: str, default: Any) -> Any:
    """A meta field, `default` only when absent or null (false, 0 or "" are values to check)."""
    value = meta.get(field)
    return default if value is None else value


def _mapping(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadDataError(f"Invalid meta.{field}: {value}")
    return value


def _listing(value: Any, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise BadDataError(f"Invalid meta.{field}: {value}")
    return value


def _concat(inherited: Any, extra: list[Any], field: str) -> Any:
    """Request metrics then ours; an odd request value is echoed only if nothing is added."""
    return [*_listing(inherited, field), *extra] if extra else inherited


def _check_metrics(metrics: Any) -> None:
    if not validate_metrics(metrics):
        try:
            text = json.dumps(metrics)
        except (TypeError, ValueError):
            text = repr(metrics)
        raise BadMetricError(f"Bad metric created during request: {text}")
