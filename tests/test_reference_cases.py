"""Wire-level cases ported from Seldon Core v1's own tests, expected bytes from the original.

The cases are recorded data in tests/testdata/. Every REST case (reference_rest.jsonl) is one
request from python/tests/test_{model,transformer,router,combiner}_microservice.py,
test_runtime_metrics_tags.py, test_metadata.py, test_microservice.py or
test_application_exception_microservice.py, sent through our Flask app; every gRPC case
(reference_grpc.jsonl) is one servicer call of those tests sent to a real gRPC server.
`status`/`body` (REST, exact bytes) and `expected` (gRPC, compared as protobuf messages, so map
order does not matter) were recorded from the original seldon-core 1.19.0 wrapper
(`get_rest_microservice` + Flask 3.1 test client, and `get_grpc_server` on a real port,
protobuf 5.29), not hand-written. Where docs/compatibility.md departs from the original, the
expectation is ours and the case says so in `note`; gRPC errors are only checked to be
errors (codes and details are a documented departure). Cases marked `xfail` are mismatches with the
original (strict: they start failing loudly once fixed); the probe_*.jsonl cases go beyond the
original tests to pin down the mismatches found.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
from flask import Blueprint, jsonify
from google.protobuf import empty_pb2, json_format

from seldon_server import (
    SeldonComponent,
    SeldonMicroserviceException,
    SeldonNotImplementedError,
    SeldonResponse,
    create_counter,
    create_gauge,
    create_timer,
)
from seldon_server.dispatch import DispatchConfig
from seldon_server.metadata import build_metadata
from seldon_server.model.adapter import UserModel
from seldon_server.proto import prediction_pb2

# -- user models, as in the original tests ----------------------------------------------------


def seldon_message_to_json(m):
    return json.loads(json_format.MessageToJson(m))


def json_to_seldon_message(d):
    m = prediction_pb2.SeldonMessage()
    json_format.ParseDict(d or {}, m)
    return m


def _tensor_msg(values, shape):
    return prediction_pb2.SeldonMessage(
        data=prediction_pb2.DefaultData(tensor=prediction_pb2.Tensor(shape=shape, values=values))
    )


# ---------------- test_model_microservice.py
class MUserObject(SeldonComponent):
    HEALTH_STATUS_REPONSE = [0.123]
    METADATA_RESPONSE = {
        "name": "my-model-name",
        "versions": ["model-version"],
        "platform": "model-platform",
        "inputs": [{"name": "input", "datatype": "BYTES", "shape": [1]}],
        "outputs": [{"name": "output", "datatype": "BYTES", "shape": [1]}],
        "custom": {},
    }

    def __init__(self, metrics_ok=True, ret_nparray=False, ret_meta=False):
        self.metrics_ok = metrics_ok
        self.ret_nparray = ret_nparray
        self.nparray = np.array([1, 2, 3])
        self.ret_meta = ret_meta
        self.rewards = []

    def predict(self, X, features_names, **kwargs):
        if self.ret_meta:
            self.inc_meta = kwargs.get("meta")
        if self.ret_nparray:
            return self.nparray
        return X

    def send_feedback(self, features, feature_names, reward, truth, routing=None):
        self.rewards.append(reward)

    def tags(self):
        if self.ret_meta:
            return {"inc_meta": self.inc_meta}
        return {"mytag": 1}

    def metrics(self):
        if self.metrics_ok:
            return [{"type": "COUNTER", "key": "mycounter", "value": 1}]
        return [{"type": "BAD", "key": "mycounter", "value": 1}]

    def health_status(self):
        return self.predict(self.HEALTH_STATUS_REPONSE, ["some_float"])

    def init_metadata(self):
        return self.METADATA_RESPONSE


class MUserObjectLowLevel(SeldonComponent):
    HEALTH_STATUS_RAW_RESPONSE = [123.456, 7.89]

    def predict_rest(self, request):
        return {"data": {"ndarray": [9, 9]}}

    def predict_grpc(self, request):
        return _tensor_msg(np.array([9, 9]), (2, 1))

    def send_feedback_rest(self, request):
        logging.info("Feedback called")

    def send_feedback_grpc(self, request):
        logging.info("Feedback called")

    def health_status_raw(self):
        return {"data": {"ndarray": self.HEALTH_STATUS_RAW_RESPONSE}}


class MUserObjectLowLevelWithStatusInResponse(SeldonComponent):
    def predict_rest(self, request):
        return {"data": {"ndarray": [9, 9]}, "status": {"code": 400, "status": "FAILURE"}}

    def predict_grpc(self, request):
        return _tensor_msg(np.array([9, 9]), (2, 1))

    def send_feedback_rest(self, request):
        pass

    def send_feedback_grpc(self, request):
        pass


class MPredictRaw(SeldonComponent):
    def __init__(self, check_name="txt", status=False):
        self.check_name = check_name
        self.status = status

    def predict_raw(self, msg):
        msg = json_to_seldon_message(msg)
        out = [msg.binData.decode("utf-8")] if self.check_name == "txt" else [msg.strData]
        resp = {"meta": seldon_message_to_json(msg.meta), "data": {"ndarray": out}}
        if self.status:
            resp["status"] = {"code": 400, "status": "FAILURE"}
        return resp


class MUserObjectLowLevelGrpc(SeldonComponent):
    def predict_grpc(self, request):
        return _tensor_msg(np.array([9, 9]), (2, 1))

    def send_feedback_rest(self, request):
        pass

    def send_feedback_grpc(self, request):
        pass


class ErrorUserObject:
    def predict(self, X, features_names, **kwargs):
        raise SeldonMicroserviceException("foo", status_code=403)


class CustomSeldonComponentX2(SeldonComponent):
    def predict(self, X, features_names, **kwargs):
        return X * 2

    def transform_input(self, X, features_names, **kwargs):
        return X * 2

    def transform_output(self, X, features_names, **kwargs):
        return X * 2


class CustomObjectX2:
    def predict(self, X, features_names, **kwargs):
        return X * 2

    def transform_input(self, X, features_names, **kwargs):
        return X * 2

    def transform_output(self, X, features_names, **kwargs):
        return X * 2


class FeedbackNamedWrong(SeldonComponent):
    def feedback(self, features, feature_names, reward, truth):
        pass


class FeedbackNamedWrongPlain:
    def feedback(self, features, feature_names, reward, truth):
        pass


# ---------------- test_transformer_microservice.py
class TUserObject:
    def __init__(self, metrics_ok=True, ret_nparray=False, ret_meta=False):
        self.metrics_ok = metrics_ok
        self.ret_nparray = ret_nparray
        self.nparray = np.array([1, 2, 3])
        self.ret_meta = ret_meta

    def transform_input(self, X, features_names, **kwargs):
        if self.ret_meta:
            self.inc_meta = kwargs.get("meta")
        if self.ret_nparray:
            return self.nparray
        return X

    def transform_output(self, X, features_names, **kwargs):
        if self.ret_meta:
            self.inc_meta = kwargs.get("meta")
        if self.ret_nparray:
            return self.nparray
        return X

    def tags(self):
        if self.ret_meta:
            return {"inc_meta": self.inc_meta}
        return {"mytag": 1}

    def metrics(self):
        if self.metrics_ok:
            return [{"type": "COUNTER", "key": "mycounter", "value": 1}]
        return [{"type": "BAD", "key": "mycounter", "value": 1}]


class TUserObjectLowLevel:
    def transform_input_rest(self, X):
        return {"data": {"ndarray": [9, 9]}}

    def transform_output_rest(self, X):
        return {"data": {"ndarray": [9, 9]}}

    def transform_input_grpc(self, X):
        return _tensor_msg(np.array([9, 9]), (2, 1))

    def transform_output_grpc(self, X):
        return _tensor_msg(np.array([9, 9]), (2, 1))


class TUserObjectLowLevelGrpc:
    def transform_input_grpc(self, X):
        return _tensor_msg(np.array([9, 9]), (2, 1))

    def transform_output_grpc(self, X):
        return _tensor_msg(np.array([9, 9]), (2, 1))


class _RawMixin:
    def _raw(self, request):
        response = _tensor_msg(np.array([9, 9]), (2, 1))
        if isinstance(request, prediction_pb2.SeldonMessage):
            return response
        return seldon_message_to_json(response)

    def transform_input_raw(self, request):
        return self._raw(request)

    def transform_output_raw(self, request):
        return self._raw(request)


class TUserObjectLowLevelRaw(_RawMixin):
    pass


class TUserObjectLowLevelRawInherited(_RawMixin, SeldonComponent):
    transform_input_raw = _RawMixin.transform_input_raw
    transform_output_raw = _RawMixin.transform_output_raw


# ---------------- test_router_microservice.py
class RMinimal:
    def route(self, X, features_names):
        return 22


class RUserObject:
    def __init__(self, metrics_ok=True, ret_meta=False):
        self.metrics_ok = metrics_ok
        self.ret_meta = ret_meta

    def route(self, X, features_names, **kwargs):
        if self.ret_meta:
            self.inc_meta = kwargs.get("meta")
        return 22

    def send_feedback(self, features, feature_names, reward, truth, routing=-1):
        self.last_routing = routing

    def tags(self):
        if self.ret_meta:
            return {"inc_meta": self.inc_meta}
        return {"mytag": 1}

    def metrics(self):
        if self.metrics_ok:
            return [{"type": "COUNTER", "key": "mycounter", "value": 1}]
        return [{"type": "BAD", "key": "mycounter", "value": 1}]


class RUserObjectLowLevel:
    def route_rest(self, request):
        return {"data": {"ndarray": [[1]]}}

    def route_grpc(self, request):
        return _tensor_msg(np.array([1]), (1, 1))

    def send_feedback_rest(self, request):
        pass

    def send_feedback_grpc(self, request):
        pass


class RUserObjectLowLevelGrpc:
    def route_grpc(self, request):
        return _tensor_msg(np.array([1]), (1, 1))

    def send_feedback_grpc(self, request):
        pass


class RUserObjectLowLevelRaw:
    def route_raw(self, request):
        response = _tensor_msg(np.array([1]), (1, 1))
        if isinstance(request, prediction_pb2.SeldonMessage):
            return response
        return seldon_message_to_json(response)

    def send_feedback_raw(self, request):
        pass


class RouteComponent53(SeldonComponent):
    def route(self, X, features_names):
        return 53


class RoutePlain53:
    def route(self, X, features_names):
        return 53


class RouteReturns:
    def __init__(self, value):
        self.value = value

    def route(self, X, features_names):
        return self.value


class Bad:
    pass


class EmptyComponent(SeldonComponent):
    pass


# ---------------- test_combiner_microservice.py
class CUserObject:
    def __init__(self, metrics_ok=True, ret_nparray=False):
        self.metrics_ok = metrics_ok
        self.ret_nparray = ret_nparray
        self.nparray = np.array([1, 2, 3])

    def aggregate(self, Xs, features_names):
        if self.ret_nparray:
            return self.nparray
        return Xs[0]

    def tags(self):
        return {"mytag": 1}

    def metrics(self):
        if self.metrics_ok:
            return [{"type": "COUNTER", "key": "mycounter", "value": 1}]
        return [{"type": "BAD", "key": "mycounter", "value": 1}]


class CUserObjectLowLevel:
    def aggregate_rest(self, Xs):
        return {"data": {"ndarray": [9, 9]}}

    def aggregate_grpc(self, request):
        return _tensor_msg(np.array([9, 9]), (2, 1))


class CUserObjectLowLevelGrpc:
    def aggregate_grpc(self, X):
        return _tensor_msg(np.array([9, 9]), (2, 1))


class CUserObjectLowLevelRaw:
    def aggregate_raw(self, request):
        response = _tensor_msg(np.array([9, 9]), (2, 1))
        if isinstance(request, prediction_pb2.SeldonMessageList):
            return response
        return seldon_message_to_json(response)


# ---------------- test_runtime_metrics_tags.py
RUNTIME_METRICS = [{"type": "GAUGE", "key": "runtime_gauge", "value": 42}]
RUNTIME_TAGS = {"runtime": "tag", "shared": "right one"}


class RTUserObject:
    def predict(self, X, features_names):
        return SeldonResponse(
            data=X, metrics=[dict(m) for m in RUNTIME_METRICS], tags=dict(RUNTIME_TAGS)
        )

    def aggregate(self, X, features_names):
        return SeldonResponse(
            data=X[0], metrics=[dict(m) for m in RUNTIME_METRICS], tags=dict(RUNTIME_TAGS)
        )

    def transform_input(self, X, feature_names):
        return SeldonResponse(
            data=X, metrics=[dict(m) for m in RUNTIME_METRICS], tags=dict(RUNTIME_TAGS)
        )

    def transform_output(self, X, feature_names):
        return SeldonResponse(
            data=X, metrics=[dict(m) for m in RUNTIME_METRICS], tags=dict(RUNTIME_TAGS)
        )

    def route(self, X, feature_names):
        return SeldonResponse(
            data=22, metrics=[dict(m) for m in RUNTIME_METRICS], tags=dict(RUNTIME_TAGS)
        )

    def send_feedback(self, X, feature_names, reward, truth, routing):
        return SeldonResponse(
            data=X, metrics=[dict(m) for m in RUNTIME_METRICS], tags=dict(RUNTIME_TAGS)
        )

    def metrics(self):
        return [
            {"type": "COUNTER", "key": "mycounter", "value": 1},
            {"type": "GAUGE", "key": "mygauge", "value": 100},
            {"type": "TIMER", "key": "mytimer", "value": 20.2},
        ]

    def tags(self):
        return {"static": "tag", "shared": "not right one"}


# ---------------- extra probes
class Identity:
    def predict(self, X, features_names):
        return X


class IdentityMeta:
    def predict(self, X, features_names, meta=None):
        return X


class Returns:
    def __init__(self, value, kind=None):
        if kind == "np_int64":
            value = np.int64(value)
        elif kind == "np_array":
            value = np.array(value)
        elif kind == "np_float32":
            value = np.array(value, dtype=np.float32)
        elif kind == "np_bool":
            value = np.array(value, dtype=bool)
        elif kind == "bytes":
            value = value.encode()
        elif kind == "tuple":
            value = tuple(value)
        self.value = value

    def predict(self, X, features_names):
        return self.value

    def transform_input(self, X, features_names):
        return self.value

    def send_feedback(self, features, feature_names, reward, truth, routing=None):
        return self.value

    def health_status(self):
        return self.value


class EchoArgs:
    """Returns what the hook received, as jsonData."""

    def predict(self, X, features_names, **kwargs):
        return {
            "X": repr(X),
            "type": type(X).__name__,
            "dtype": str(getattr(X, "dtype", "")),
            "names": list(features_names),
            "meta": kwargs.get("meta"),
        }

    def send_feedback(self, features, feature_names, reward, truth, routing=None):
        return {
            "features": repr(features),
            "names": list(feature_names),
            "reward": reward,
            "truth": repr(truth),
            "routing": routing,
        }

    def aggregate(self, features_list, feature_names_list):
        return {
            "X": [repr(x) for x in features_list],
            "names": [list(n) for n in feature_names_list],
        }

    def route(self, X, names, meta=None):
        return 1


class ClassNamesMethod:
    def predict(self, X, features_names):
        return X

    def class_names(self):
        return ["a", "b"]


class ClassNamesAttr:
    class_names = ["x", "y"]

    def predict(self, X, features_names):
        return X


class TaggedMetric:
    def predict(self, X, features_names):
        return X

    def metrics(self):
        return [{"key": "tagged", "type": "COUNTER", "value": 1, "tags": {"t": "v"}}]


class HealthComponent(SeldonComponent):
    pass


class HealthTags:
    def health_status(self):
        return [1, 2]

    def tags(self):
        return {"m": 1}


class HealthRawProto:
    def health_status_raw(self):
        return {"strData": "ok"}


class Boom:
    def predict(self, X, features_names):
        raise ValueError("boom")


class KeyErr:
    def predict(self, X, features_names):
        raise KeyError("missing")


class RaisesCustom:
    def predict(self, X, features_names):
        raise SeldonMicroserviceException("teapot", status_code=418, reason="MY_REASON")


class NotImplRaw(SeldonComponent):
    def predict_raw(self, msg):
        raise SeldonNotImplementedError("no")

    def predict(self, X, names, **kw):
        return X + 1


class RawDictMetrics:
    def predict_raw(self, msg):
        return {
            "data": {"ndarray": [1]},
            "meta": {"metrics": [{"key": "rawc", "type": "COUNTER", "value": 2}]},
        }


class RawProtoMetrics:
    def predict_raw(self, msg):
        if isinstance(msg, prediction_pb2.SeldonMessage):
            out = prediction_pb2.SeldonMessage()
            json_format.ParseDict(
                {
                    "strData": "x",
                    "meta": {
                        "metrics": [
                            {
                                "key": "rawc",
                                "type": "GAUGE",
                                "value": 2,
                                "tags": {"b": "2", "a": "1"},
                            }
                        ]
                    },
                },
                out,
            )
            return out
        return {
            "strData": "x",
            "meta": {
                "metrics": [
                    {"key": "rawc", "type": "GAUGE", "value": 2, "tags": {"b": "2", "a": "1"}}
                ]
            },
        }


class RawStatusCode:
    def __init__(self, code):
        self.code = code

    def predict_raw(self, msg):
        return {"status": {"code": self.code, "info": "x"}, "strData": "s"}


class FeedbackRawDict:
    def send_feedback_raw(self, fb):
        return {
            "strData": "fb",
            "meta": {"metrics": [{"key": "fbm", "type": "COUNTER", "value": 3}]},
        }


class FeedbackRestStr:
    def send_feedback_rest(self, fb):
        return json.dumps({"jsonData": {"got": json.loads(fb)}})


class MetadataInvalid:
    def predict(self, X, names):
        return X

    def init_metadata(self):
        return {"name": 1}


class MetadataCustom:
    def predict(self, X, names):
        return X

    def init_metadata(self):
        return {
            "inputs": [{"messagetype": "tensor", "schema": {"names": ["a", "b"], "shape": [2, 2]}}],
            "outputs": [{"name": "out", "datatype": "FP32", "shape": [1, 3]}],
            "custom": {"author": "me"},
        }


class MetadataNonDict:
    def predict(self, X, names):
        return X

    def init_metadata(self):
        return ["not", "a", "dict"]


class PassthroughRaw:
    def predict_raw(self, msg):
        return json.dumps(
            {"got": msg.decode() if isinstance(msg, bytes) else msg, "type": type(msg).__name__}
        )


class TransformNoHook:
    """Has predict only: transform-input falls back to identity."""

    def predict(self, X, names):
        return X


class RouteMetaEcho:
    def route(self, X, names, meta=None):
        return 0

    def tags(self):
        return {"t": 1}


class AggregateStr:
    def aggregate(self, Xs, names):
        return "joined:" + ",".join(str(x) for x in Xs)


class TransformTypeError:
    def __init__(self):
        self.calls = 0

    def predict(self, X, names, meta=None):
        self.calls += 1
        raise TypeError("inner")


class TimerMetric:
    def predict(self, X, names):
        return SeldonResponse(
            X,
            tags={"r": 2},
            metrics=[create_timer("t", 1.5), create_gauge("g", 2), create_counter("c", 1)],
        )


class BoolResult:
    def predict(self, X, names):
        return np.array([[True, False]])


class StrArrayResult:
    def predict(self, X, names):
        return np.array([["a", "b"]])


class ObjectResult:
    def predict(self, X, names):
        return [[1, "a"], [2, "b"]]


class ListResult:
    def predict(self, X, names):
        return [[1, 2], [3, 4]]


class ScalarArrayResult:
    def predict(self, X, names):
        return np.array(5)


class ThreeDResult:
    def predict(self, X, names):
        return np.arange(8).reshape(2, 2, 2)


class FloatResult:
    def predict(self, X, names):
        return np.array([[0.1, 1e-5, 1e20, 3.0, -0.0]])


class NanResult:
    def predict(self, X, names):
        return np.array([[float("nan"), float("inf")]])


class Float32Result:
    def predict(self, X, names):
        return np.array([[0.1, 2.5]], dtype=np.float32)


class UnicodeJson:
    def predict(self, X, names):
        return {"text": "héllo ✓", "n": 1, "f": 1.0, "nested": {"b": 1, "a": [1, 2.5, None, True]}}


class UserCustomException(Exception):
    status_code = 404

    def __init__(self, message, application_error_code, http_status_code):
        Exception.__init__(self)
        self.message = message
        if http_status_code is not None:
            self.status_code = http_status_code
        self.application_error_code = application_error_code

    def to_dict(self):
        return {
            "status": {
                "status": self.status_code,
                "message": self.message,
                "app_code": self.application_error_code,
            }
        }


class ErrorHandlerModel:
    model_error_handler = Blueprint("error_handlers", __name__)

    @model_error_handler.app_errorhandler(UserCustomException)
    def handleCustomError(error):
        response = jsonify(error.to_dict())
        response.status_code = error.status_code
        return response

    def predict(self, X, features_names):
        raise UserCustomException("Test-Error-Msg", 1402, 402)

    def predict_rest(self, X):
        raise UserCustomException("Test-Error-Msg", 1402, 402)


class ErrorHandlerModelHighLevel:
    model_error_handler = ErrorHandlerModel.model_error_handler

    def predict(self, X, features_names):
        raise UserCustomException("Test-Error-Msg", 1402, 402)


class RTUserObjectFull(RTUserObject):
    def metrics(self):
        return [
            {"type": "COUNTER", "key": "mycounter", "value": 1},
            {"type": "GAUGE", "key": "mygauge", "value": 100},
            {"type": "TIMER", "key": "mytimer", "value": 20.2},
            {"type": "GAUGE", "key": "customtag", "value": 200, "tags": {"mytag": "mytagvalue"}},
        ]


class MetaUserObject:
    def __init__(self, broken=False):
        self.METADATA_RESPONSE = {
            "name": "my-model-name",
            "versions": ["model-version"],
            "platform": "model-platform",
            "inputs": [{"name": "input", "datatype": "BYTES", "shape": [1]}],
            "outputs": [{"name": "output", "datatype": "BYTES", "shape": [1]}],
            "custom": {"tag-key": "tag-value"},
        }
        if broken:
            self.METADATA_RESPONSE["versions"] = "string-not-array-of-strings"

    def predict(self, X, features_names):
        return X

    def init_metadata(self):
        return self.METADATA_RESPONSE


class MyModelTemplate:
    """tests/resources/model-template-app/MyModel.py"""

    def predict(self, X, feature_names):
        return X

    def send_feedback(self, features, feature_names, reward, truth, routing=None):
        return []


# -- cases: recorded data, one JSON object a line, in tests/testdata/ -------------------------

TESTDATA = Path(__file__).with_name("testdata")


def _load_cases(name: str) -> list[dict[str, Any]]:
    """One case per line; JSON keeps what the checks rely on (key order, ints vs floats)."""
    with (TESTDATA / name).open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


REST_CASES = _load_cases("reference_rest.jsonl")
GRPC_CASES = _load_cases("reference_grpc.jsonl")
PROBE_REST = _load_cases("probe_rest.jsonl")
PROBE_GRPC = _load_cases("probe_grpc.jsonl")


# -- harness ------------------------------------------------------------------------------------

MODELS: dict[str, Any] = {
    name: value for name, value in dict(globals()).items() if isinstance(value, type)
}
RESPONSE_TYPES = {
    "Metadata": prediction_pb2.SeldonModelMetadata,
    "ModelMetadata": prediction_pb2.SeldonModelMetadata,
}


def _params(cases: list[dict[str, Any]]) -> list[Any]:
    return [
        pytest.param(
            case,
            id=case["id"],
            marks=[pytest.mark.xfail(reason=case["xfail"])] if "xfail" in case else [],
        )
        for case in cases
    ]


def _setup(case: dict[str, Any]) -> tuple[Any, DispatchConfig, dict[str, Any] | None]:
    """The model, and the config and metadata a server started with the case's env would have."""
    model = MODELS[case["model"]](**case["kwargs"])
    env = case["env"]
    config = DispatchConfig(
        include_metrics_in_client_response=(
            env.get("INCLUDE_METRICS_IN_CLIENT_RESPONSE", "true").lower() == "true"
        ),
        predictive_unit_id=env.get("PREDICTIVE_UNIT_ID", ""),
        predictive_unit_image=env.get("PREDICTIVE_UNIT_IMAGE", ""),
    )
    metadata = build_metadata(
        UserModel(model).optional("init_metadata", None),
        env.get("MODEL_METADATA", ""),
        env.get("PREDICTIVE_UNIT_IMAGE", ""),
    )
    return model, config, metadata.value


def _send(client: Any, case: dict[str, Any]) -> Any:
    path = case["path"] + ("?" + case["query"] if "query" in case else "")
    kwargs: dict[str, Any] = {}
    if "json" in case:
        kwargs["json"] = case["json"]
    elif "multipart" in case:
        form: dict[str, Any] = dict(case["multipart"]["fields"])
        for name, text in case["multipart"]["files"].items():
            form[name] = (io.BytesIO(text.encode()), "f.txt")
        kwargs.update(data=form, content_type="multipart/form-data")
    elif "data" in case:
        kwargs["data"] = case["data"]
        if "content_type" in case:
            kwargs["content_type"] = case["content_type"]
    return client.open(path, method=case["method"], **kwargs)


@pytest.mark.parametrize("case", _params(REST_CASES + PROBE_REST))
def test_rest(case: dict[str, Any], rest: Any) -> None:
    model, config, metadata = _setup(case)
    client = rest(model, config, metadata=metadata)
    response = _send(client, case)
    assert (response.status_code, response.get_data(as_text=True)) == (
        case["status"],
        case["body"],
    )


@pytest.mark.parametrize("case", _params(GRPC_CASES + PROBE_GRPC))
def test_grpc(case: dict[str, Any], grpc_server: Any) -> None:
    model, config, metadata = _setup(case)
    handle = grpc_server(model, config, metadata=metadata)
    if case["req_type"] == "Empty":
        request: Any = empty_pb2.Empty()
    else:
        request = json_format.ParseDict(case["req"], getattr(prediction_pb2, case["req_type"])())
    response_type = RESPONSE_TYPES.get(case["rpc"], prediction_pb2.SeldonMessage)
    call = handle.channel.unary_unary(
        f"/seldon.protos.{case['service']}/{case['rpc']}",
        request_serializer=lambda message: message.SerializeToString(),
        response_deserializer=response_type.FromString,
    )
    if case["expected"] is None:
        # The original failed too; which status and details: docs/compatibility.md.
        with pytest.raises(grpc.RpcError):
            call(request, timeout=10)
        return
    response = call(request, timeout=10)
    assert json_format.MessageToDict(response) == case["expected"]
    if "canon" in case:
        expected = response_type.FromString(base64.b64decode(case["canon"]))
    else:
        expected = json_format.ParseDict(case["expected"], response_type())
    assert response == expected  # presence of an empty meta too


# -- cases that need more than one request/response (xfail: still a mismatch) -----------------


def test_cors_headers_follow_flask_cors(rest: Any) -> None:
    client = rest(Identity())
    response = client.post("/predict", json={"strData": "x"}, headers={"Origin": "http://a.b"})
    assert response.headers.get("Access-Control-Allow-Origin") == "http://a.b"
    assert response.headers.get("Vary") == "Origin"
    preflight = client.open(
        "/predict",
        method="OPTIONS",
        headers={
            "Origin": "http://a.b",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-foo",
        },
    )
    assert preflight.headers.get("Access-Control-Allow-Methods") == (
        "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
    )
    assert preflight.headers.get("Access-Control-Allow-Headers") == "content-type, x-foo"


@pytest.mark.xfail(
    reason="MISMATCH: /seldon.json: the original serves its bundled openapi/seldon.json file "
    "(34888 bytes, 4-space indented, with Cache-Control: no-cache); ours a generated compact doc",
)
def test_seldon_json_is_the_bundled_document(rest: Any) -> None:
    import hashlib

    response = rest(Identity()).get("/seldon.json")
    assert response.status_code == 200
    assert response.data.startswith(b'{\n    "openapi": "3.0.0",\n    "info": {\n')
    assert len(response.data) == 34888
    assert hashlib.sha256(response.data).hexdigest() == (
        "a55bca82a5374eb2356eadb085ed8974cd306c0915f5a1f65d0e5389ec64d2df"
    )


def test_grpc_reflection_file_name(grpc_server: Any) -> None:
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    handle = grpc_server(Identity())
    stub = reflection_pb2_grpc.ServerReflectionStub(handle.channel)
    request = reflection_pb2.ServerReflectionRequest(file_by_filename="proto/prediction.proto")
    (answer,) = list(stub.ServerReflectionInfo(iter([request]), timeout=10))
    assert answer.HasField("file_descriptor_response")


# Metrics: recording runs in a child process (prometheus_client's multiprocess mode must not be
# switched on in the pytest process), as in tests/test_metrics.py.
_RECORDER = """
import json, os, sys, tempfile
os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp()
from seldon_server import metrics
from seldon_server.dispatch import Dispatcher, DispatchConfig
from seldon_server.model.adapter import UserModel
from seldon_server.rest.app import RestOptions, create_app
labels = metrics.DefaultLabels.from_settings("dep", "node", "org/img:1.0", "pred", "v1")
recorder = metrics.PrometheusRecorder(labels)

def client(obj):
    model = UserModel(obj)
    model.load()
    dispatcher = Dispatcher(model, DispatchConfig(), recorder)
    return create_app(dispatcher, RestOptions(metadata={})).test_client()

def scrape():
    return metrics.render(path=os.environ["PROMETHEUS_MULTIPROC_DIR"])[0].decode()
"""


def _run_recorder(code: str) -> str:
    script = _RECORDER + textwrap.dedent(code)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


# The original's BINS = np.logspace(-3, np.log10(30), 50) under its pinned numpy<2 (1.26),
# rendered by prometheus_client's floatToGoString: the `le` label values of every TIMER series.
ORIGINAL_TIMER_LE: list[str] = json.loads((TESTDATA / "original_timer_le.json").read_text())


def test_timer_bucket_bounds_are_the_originals() -> None:
    out = _run_recorder(
        """
        recorder.record("predict", [{"type": "TIMER", "key": "mytimer", "value": 20.2}])
        print(scrape())
        """
    )
    bounds = re.findall(r'^mytimer_bucket\{.*?le="([^"]+)"', out, re.MULTILINE)
    assert bounds == ORIGINAL_TIMER_LE


def test_feedback_counters_carry_the_feedback_method_label() -> None:
    out = _run_recorder(
        """
        recorder.record_feedback(2.0)
        print(scrape())
        """
    )
    series = [
        line
        for line in out.splitlines()
        if line.startswith(("seldon_api_model_feedback_total{", "seldon_api_model_feedback_reward"))
    ]
    assert len(series) == 2
    assert all('method="feedback"' in line for line in series)


def test_metrics_the_original_accepts_do_not_fail_the_request() -> None:
    out = _run_recorder(
        """
        class RawUnknownType:
            def predict_raw(self, msg):
                meta = {"metrics": [{"key": "k", "type": "FOO", "value": 1}]}
                return {"strData": "x", "meta": meta}

        class DashInKey:
            def predict(self, X, names):
                return X
            def metrics(self):
                return [{"key": "my-metric", "type": "COUNTER", "value": 1}]

        class DashInTag:
            def predict(self, X, names):
                return X
            def metrics(self):
                return [{"key": "m", "type": "COUNTER", "value": 1, "tags": {"a-b": "c"}}]

        class TwoTypes:
            def predict(self, X, names):
                return X
            def metrics(self):
                return [{"key": "same", "type": "GAUGE", "value": 1},
                        {"key": "same", "type": "COUNTER", "value": 1}]

        for model in (RawUnknownType(), DashInKey(), DashInTag(), TwoTypes()):
            response = client(model).post("/predict", json={"strData": "x"})
            print(json.dumps([response.status_code, response.get_data(as_text=True)]))
        """
    )
    got = [tuple(json.loads(line)) for line in out.splitlines()]
    assert got == [
        (200, '{"meta":{"metrics":[{"key":"k","type":"FOO","value":1}]},"strData":"x"}\n'),
        (
            200,
            '{"meta":{"metrics":[{"key":"my-metric","type":"COUNTER","value":1}]},"strData":"x"}\n',
        ),
        # (the original also adds "method":"predict" to these tags; see docs/compatibility.md)
        (
            200,
            '{"meta":{"metrics":[{"key":"m","tags":{"a-b":"c"},"type":"COUNTER","value":1}]},'
            '"strData":"x"}\n',
        ),
        (
            200,
            '{"meta":{"metrics":[{"key":"same","type":"GAUGE","value":1},'
            '{"key":"same","type":"COUNTER","value":1}]},"strData":"x"}\n',
        ),
    ]
