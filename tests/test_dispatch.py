"""The transport-free dispatcher: hook order, response encoding and meta rules, on both codecs."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import models
import numpy as np
import pytest
from google.protobuf import json_format

from seldon_server import SeldonComponent, SeldonResponse, create_counter
from seldon_server.codecs import json as json_codec
from seldon_server.codecs import proto as proto_codec
from seldon_server.dispatch import DispatchConfig, Dispatcher, Raw
from seldon_server.errors import (
    BAD_DATA,
    BAD_METRIC,
    BadDataError,
    BadMetricError,
    ModelNotReadyError,
    SeldonError,
    SeldonMicroserviceException,
    SeldonNotImplementedError,
)
from seldon_server.proto import prediction_pb2 as pb

Call = Callable[[Dispatcher, str, Any], Any]


def as_floats(value: Any) -> Any:
    """gRPC turns every number into a double: compare both transports on that footing."""
    if isinstance(value, bool) or not isinstance(value, int | float | list | dict):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, list):
        return [as_floats(v) for v in value]
    return {k: as_floats(v) for k, v in value.items()}


def normalize(reply: Any) -> Any:
    """Numbers as floats; what proto JSON omits (empty names, enum defaults) spelled out."""
    reply = as_floats(reply)
    if isinstance(reply, dict) and isinstance(reply.get("data"), dict):
        reply["data"].setdefault("names", [])
    meta = reply.get("meta") if isinstance(reply, dict) else None
    for metric in (meta or {}).get("metrics", []):
        metric.setdefault("type", "COUNTER")
    return reply


def rest_call(dispatcher: Dispatcher, operation: str, body: Any) -> Any:
    result = getattr(dispatcher, operation)(body, json_codec.REST_CODEC)
    if isinstance(result, Raw):
        return result.value
    return json.loads(json_codec.dumps(json_codec.encode(result)))


def grpc_call(dispatcher: Dispatcher, operation: str, body: Any) -> Any:
    if operation == "aggregate":
        request: Any = pb.SeldonMessageList()
        messages = body["seldonMessages"] if isinstance(body, dict) else body
        json_format.ParseDict({"seldonMessages": messages}, request)
    else:
        request = json_format.ParseDict(body, pb.SeldonMessage())
    result = getattr(dispatcher, operation)(request, proto_codec.GRPC_CODEC)
    value = result.value if isinstance(result, Raw) else proto_codec.encode(result)
    return json_format.MessageToDict(value) if isinstance(value, pb.SeldonMessage) else value


@pytest.fixture(params=["rest", "grpc"])
def call(request: pytest.FixtureRequest) -> Call:
    """Runs an operation through one transport's codec; the reply as numbers-as-floats JSON."""
    run = rest_call if request.param == "rest" else grpc_call

    def go(dispatcher: Dispatcher, operation: str, body: Any) -> Any:
        return normalize(run(dispatcher, operation, body))

    return go


def feedback(body: dict[str, Any]) -> Any:
    return json_format.ParseDict(body, pb.Feedback())


REQUEST_METRIC = {"key": "upstream", "type": "GAUGE", "value": 5}

# -- MODEL: encodings -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([[1, 2]], {"names": ["t:0", "t:1"], "ndarray": [[1, 2]]}),
        ([[1.0, 2]], {"names": ["t:0", "t:1"], "ndarray": [[1.0, 2.0]]}),
        ([1, 2, 3], {"names": [], "ndarray": [1, 2, 3]}),
        ([[[1], [2]]], {"names": ["t:0", "t:1"], "ndarray": [[[1], [2]]]}),
        ([["a", "b"]], {"names": ["t:0", "t:1"], "ndarray": [["a", "b"]]}),
        ([[True, False]], {"names": ["t:0", "t:1"], "ndarray": [[True, False]]}),
    ],
)
def test_identity_ndarray_rest_keeps_json_types(dispatcher: Any, value: Any, expected: Any) -> None:
    out = rest_call(dispatcher(models.Identity()), "predict", {"data": {"ndarray": value}})
    assert json.dumps(out, sort_keys=True) == json.dumps(
        {"data": expected, "meta": {}}, sort_keys=True
    )


@pytest.mark.parametrize(
    ("request_data", "result", "expected"),
    [
        # numeric results echo the request's encoding
        (
            {"tensor": {"shape": [1, 2], "values": [1, 2]}},
            [[3, 4]],
            {"tensor": {"shape": [1, 2], "values": [3, 4]}},
        ),
        ({"ndarray": [[1]]}, np.array([[3.5]]), {"ndarray": [[3.5]]}),
        # non-numeric results are ndarray whatever the request
        ({"tensor": {"shape": [1], "values": [1]}}, [["a", "b"]], {"ndarray": [["a", "b"]]}),
        ({"tensor": {"shape": [1], "values": [1]}}, np.array([[True]]), {"ndarray": [[True]]}),
    ],
)
def test_response_encoding_follows_request(
    call: Call, dispatcher: Any, request_data: Any, result: Any, expected: dict[str, Any]
) -> None:
    out = call(dispatcher(models.Returns(result)), "predict", {"data": request_data})
    names = [f"t:{i}" for i in range(np.asarray(result).shape[1])]
    assert out == as_floats({"data": {"names": names, **expected}, "meta": {}})


@pytest.mark.parametrize(
    "request_body",
    [{"strData": "x"}, {"binData": "eA=="}, {"jsonData": {"a": 1}}],
)
def test_numeric_result_for_non_data_request_is_a_tensor(
    call: Call, dispatcher: Any, request_body: dict[str, Any]
) -> None:
    out = call(dispatcher(models.Returns([1, 2])), "predict", request_body)
    assert out == as_floats(
        {"data": {"names": [], "tensor": {"shape": [2], "values": [1, 2]}}, "meta": {}}
    )
    out = call(dispatcher(models.Returns(["a"])), "predict", request_body)
    assert out == {"data": {"names": [], "ndarray": ["a"]}, "meta": {}}


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ({"a": [1, "x"]}, {"jsonData": {"a": [1, "x"]}}),
        ("text", {"strData": "text"}),
        (b"\x00\xffbytes", {"binData": "AP9ieXRlcw=="}),
        (bytearray(b"ab"), {"binData": "YWI="}),
    ],
)
def test_non_array_results(call: Call, dispatcher: Any, result: Any, expected: Any) -> None:
    out = call(dispatcher(models.Returns(result)), "predict", {"data": {"ndarray": [1]}})
    assert out == as_floats({**expected, "meta": {}})


@pytest.mark.parametrize("result", [5, 2.5, np.float64(1.0), (1, 2), None, object()])
def test_unknown_result_type_is_bad_data(dispatcher: Any, result: Any) -> None:
    with pytest.raises(
        BadDataError, match=r"Unknown data type returned as payload \(must be list or np array\)"
    ):
        rest_call(dispatcher(models.Returns(result)), "predict", {"data": {"ndarray": [1]}})


def test_class_names_method_and_deprecated_attribute(call: Call, dispatcher: Any) -> None:
    body = {"data": {"ndarray": [[1, 2]]}}
    assert call(dispatcher(models.ClassNamesMethod()), "predict", body)["data"]["names"] == [
        "a",
        "b",
    ]
    assert call(dispatcher(models.ClassNamesAttribute()), "predict", body)["data"]["names"] == [
        "x",
        "y",
    ]
    one_d = {"data": {"ndarray": [1, 2]}}
    assert call(dispatcher(models.ClassNamesMethod()), "predict", one_d)["data"]["names"] == []


def test_request_names_are_given_to_the_model_not_echoed(call: Call, dispatcher: Any) -> None:
    model = models.IdentityWithMeta()
    out = call(dispatcher(model), "predict", {"data": {"names": ["f1", "f2"], "ndarray": [[1, 2]]}})
    assert model.calls["predict"][0][1] == ["f1", "f2"]
    assert out["data"]["names"] == ["t:0", "t:1"]


# -- meta merge rules -------------------------------------------------------------------------


def test_tags_metrics_and_puid_merge(call: Call, dispatcher: Any) -> None:
    model = models.TagsAndMetrics(runtime_tags={"c": "runtime", "r": 1})
    body = {
        "data": {"ndarray": [1]},
        "meta": {"puid": "p1", "tags": {"a": "req", "b": "req"}, "metrics": [REQUEST_METRIC]},
    }
    out = call(dispatcher(model), "predict", body)
    assert out["meta"]["tags"] == as_floats(
        {"a": "req", "b": "model", "c": "runtime", "n": 1, "r": 1}
    )
    keys = [(m["key"], m.get("type", "COUNTER")) for m in out["meta"]["metrics"]]
    assert keys == [
        ("upstream", "GAUGE"),
        ("mycounter", "COUNTER"),
        ("mygauge", "GAUGE"),
        ("runtime_timer", "TIMER"),
    ]
    assert out["meta"]["puid"] == "p1"
    assert "requestPath" not in out["meta"] and "routing" not in out["meta"]


def test_metrics_kept_out_of_the_response_when_configured(dispatcher: Any) -> None:
    sink = models.RecordingMetrics()
    config = DispatchConfig(include_metrics_in_client_response=False)
    d = dispatcher(models.TagsAndMetrics(), config, sink)
    body = {"data": {"ndarray": [1]}, "meta": {"metrics": [REQUEST_METRIC]}}
    assert rest_call(d, "predict", body)["meta"]["metrics"] == [REQUEST_METRIC]
    recorded = [m["key"] for method, ms in sink.records for m in ms if method == "predict"]
    assert sorted(recorded) == ["mycounter", "mygauge", "runtime_timer"]
    assert rest_call(d, "predict", {"data": {"ndarray": [1]}})["meta"] == {
        "tags": {"b": "model", "c": "model", "n": 1}
    }


def test_metric_method_tag_never_leaks_into_the_response(dispatcher: Any) -> None:
    model = models.TaggedMetric()
    out = rest_call(
        dispatcher(model, metrics=models.RecordingMetrics()), "predict", {"data": {"ndarray": [1]}}
    )
    assert out["meta"]["metrics"] == [
        {"key": "tagged", "type": "COUNTER", "value": 1, "tags": {"t": "v"}}
    ]
    assert model.metric["tags"] == {"t": "v"}


@pytest.mark.parametrize(
    "bad",
    [
        {"key": "k", "type": "COUNTER", "value": 1},  # not a list
        [{"type": "COUNTER", "value": 1}],
        [{"key": "k", "value": 1}],
        [{"key": "k", "type": "COUNTER"}],
        [{"key": "k", "type": "HISTOGRAM", "value": 1}],
        [{"key": "k", "type": "GAUGE", "value": "high"}],
        ["not a dict"],
    ],
)
def test_bad_metrics_are_500_bad_metric(dispatcher: Any, bad: Any) -> None:
    with pytest.raises(BadMetricError) as info:
        rest_call(dispatcher(models.BadMetrics(bad)), "predict", {"data": {"ndarray": [1]}})
    assert info.value.status_code == 500 and info.value.reason == BAD_METRIC


def test_bad_runtime_metrics_are_500_bad_metric(dispatcher: Any) -> None:
    with pytest.raises(BadMetricError):
        grpc_call(dispatcher(models.BadRuntimeMetrics()), "predict", {"data": {"ndarray": [1]}})


@pytest.mark.parametrize(
    ("request_path", "expected"),
    [
        (None, {"classifier": "seldonio/iris:0.1"}),
        ({"upstream": "img:1"}, {"classifier": "seldonio/iris:0.1", "upstream": "img:1"}),
        ({"classifier": "request-wins"}, {"classifier": "request-wins"}),
    ],
)
def test_request_path(call: Call, dispatcher: Any, request_path: Any, expected: Any) -> None:
    config = DispatchConfig(
        predictive_unit_id="classifier", predictive_unit_image="seldonio/iris:0.1"
    )
    meta = {"requestPath": request_path} if request_path else {}
    out = call(dispatcher(models.Identity(), config), "predict", {"strData": "x", "meta": meta})
    assert out["meta"]["requestPath"] == expected


def test_request_path_without_unit_id(call: Call, dispatcher: Any) -> None:
    out = call(dispatcher(models.Identity()), "predict", {"strData": "x"})
    assert out == {"meta": {}, "strData": "x"}
    body = {"strData": "x", "meta": {"requestPath": {"up": "i:1"}}}
    assert call(dispatcher(models.Identity()), "predict", body)["meta"] == {
        "requestPath": {"up": "i:1"}
    }


# -- signatures: meta, and never a second call ------------------------------------------------


@pytest.mark.parametrize("model_class", [models.IdentityWithMeta, models.IdentityKwargs])
def test_meta_is_passed_when_the_signature_takes_it(
    call: Call, dispatcher: Any, model_class: Any
) -> None:
    model = model_class()
    call(dispatcher(model), "predict", {"strData": "x", "meta": {"puid": "p", "tags": {"t": "v"}}})
    (args,) = model.calls["predict"]
    meta = args[2] if model_class is models.IdentityWithMeta else args[2]["meta"]
    assert meta == {"puid": "p", "tags": {"t": "v"}}


def test_meta_is_none_or_empty_without_request_meta(dispatcher: Any) -> None:
    model = models.IdentityWithMeta()
    rest_call(dispatcher(model), "predict", {"strData": "x"})
    assert not model.calls["predict"][0][2]


@pytest.mark.parametrize("model_class", [models.TypeErrorWithMeta, models.TypeErrorNoMeta])
def test_type_error_inside_user_code_calls_once(dispatcher: Any, model_class: Any) -> None:
    model = model_class()
    with pytest.raises(TypeError, match="inside the model"):
        rest_call(dispatcher(model), "predict", {"data": {"ndarray": [1]}})
    assert model.count("predict") == 1


def test_user_exception_keeps_status(dispatcher: Any) -> None:
    with pytest.raises(SeldonMicroserviceException) as info:
        rest_call(dispatcher(models.Denied()), "predict", {"data": {"ndarray": [1]}})
    assert info.value.status_code == 403 and info.value.message == "denied"


# -- hooks: fall-through, raw, deprecated -----------------------------------------------------


def test_no_predict_returns_empty_ndarray(call: Call, dispatcher: Any) -> None:
    out = call(dispatcher(models.NoPredict()), "predict", {"data": {"ndarray": [[1, 2]]}})
    assert out == {"data": {"names": [], "ndarray": []}, "meta": {}}


def test_component_defaults_fall_through(call: Call, dispatcher: Any) -> None:
    d = dispatcher(models.EmptyComponent())
    body = {"data": {"ndarray": [[1, 2]]}}
    assert call(d, "predict", body) == {"data": {"names": [], "ndarray": []}, "meta": {}}
    identity = as_floats({"data": {"names": ["t:0", "t:1"], "ndarray": [[1, 2]]}, "meta": {}})
    assert call(d, "transform_input", body) == identity
    assert call(d, "transform_output", body) == identity
    with pytest.raises(SeldonNotImplementedError, match="route is not implemented"):
        call(d, "route", body)
    with pytest.raises(SeldonNotImplementedError, match="aggregate is not implemented"):
        call(d, "aggregate", [body])


def test_component_subclass_overriding_predict(call: Call, dispatcher: Any) -> None:
    out = call(dispatcher(models.ComponentPredict()), "predict", {"data": {"ndarray": [[1, 2]]}})
    assert out["data"]["ndarray"] == [[2.0, 4.0]]
    out = call(
        dispatcher(models.ComponentRaisesNotImplemented()), "predict", {"data": {"ndarray": [1]}}
    )
    assert out["data"]["ndarray"] == [2.0]


def test_raw_hook_rest_gets_dict_and_metrics_are_recorded(dispatcher: Any) -> None:
    model, sink = models.RawPredict(), models.RecordingMetrics()
    body = {"data": {"ndarray": [1]}, "extra": "kept"}
    out = rest_call(dispatcher(model, metrics=sink), "predict", body)
    assert model.calls["predict_raw"][0][0] == body
    assert out == {
        **body,
        "meta": {"metrics": [{"key": "raw_counter", "type": "COUNTER", "value": 3}]},
    }
    assert sink.records == [("predict", [{"key": "raw_counter", "type": "COUNTER", "value": 3}])]


def test_raw_hook_grpc_gets_proto_and_metrics_are_stripped_when_configured(dispatcher: Any) -> None:
    model, sink = models.RawPredict(), models.RecordingMetrics()
    config = DispatchConfig(include_metrics_in_client_response=False)
    out = grpc_call(dispatcher(model, config, sink), "predict", {"strData": "x"})
    assert isinstance(model.calls["predict_raw"][0][0], pb.SeldonMessage)
    assert out == {"meta": {}, "strData": "x"}
    assert sink.records == [("predict", [{"key": "raw_counter", "value": 3.0}])]


@pytest.mark.parametrize(
    ("operation", "hook", "method"),
    [
        ("transform_input", "transform_input_raw", "inputtransform"),
        ("transform_output", "transform_output_raw", "outputtransform"),
        ("route", "route_raw", "router"),
    ],
)
def test_every_raw_hook_records_its_method(
    dispatcher: Any, operation: str, hook: str, method: str
) -> None:
    class Raw:
        pass

    metric = {"key": "m", "type": "GAUGE", "value": 1}
    setattr(Raw, hook, lambda self, msg: {"strData": "raw", "meta": {"metrics": [metric]}})
    sink = models.RecordingMetrics()
    out = rest_call(dispatcher(Raw(), metrics=sink), operation, {"strData": "x"})
    assert out == {"strData": "raw", "meta": {"metrics": [metric]}}
    assert sink.records == [(method, [metric])]


def test_aggregate_raw_gets_the_message_list(dispatcher: Any) -> None:
    seen: list[Any] = []

    class RawCombiner:
        def aggregate_raw(self, msgs: Any) -> Any:
            seen.append(msgs)
            return {"strData": "combined"}

    d = dispatcher(RawCombiner())
    assert rest_call(d, "aggregate", [{"strData": "a"}]) == {"strData": "combined"}
    assert seen[-1] == [{"strData": "a"}]
    assert grpc_call(d, "aggregate", [{"strData": "a"}]) == {"strData": "combined"}
    assert isinstance(seen[-1], pb.SeldonMessageList)


def test_deprecated_rest_and_grpc_hooks(dispatcher: Any) -> None:
    model = models.LegacyRest()
    d = dispatcher(model)
    assert rest_call(d, "predict", {"strData": "x"}) == {"legacy": "rest", "got": {"strData": "x"}}
    assert grpc_call(d, "predict", {"strData": "x"}) == {"strData": "legacy grpc"}
    assert isinstance(model.calls["predict_grpc"][0][0], pb.SeldonMessage)
    assert rest_call(d, "transform_input", {"strData": "x"}) == {"strData": "legacy transform"}


# -- ROUTER -----------------------------------------------------------------------------------


def test_route(call: Call, dispatcher: Any) -> None:
    model = models.Router()
    body = {"data": {"ndarray": [[1, 2]]}, "meta": {"puid": "p", "tags": {"req": 1}}}
    out = call(dispatcher(model), "route", body)
    assert out == as_floats({"data": {"names": ["t:0"], "ndarray": [[22]]}, "meta": {"puid": "p"}})
    assert as_floats(model.calls["route"][0][2]) == as_floats(body["meta"])


def test_route_tensor_request_and_runtime_tags(call: Call, dispatcher: Any) -> None:
    body = {"data": {"tensor": {"shape": [1], "values": [1]}}}
    out = call(dispatcher(models.RouterNoMeta()), "route", body)
    assert out == as_floats(
        {
            "data": {"names": ["t:0"], "tensor": {"shape": [1, 1], "values": [1]}},
            "meta": {"tags": {"routed": True}},
        }
    )


@pytest.mark.parametrize("branch", [np.int64(1), 1.0, "1", None, [1]])
def test_route_must_be_int(dispatcher: Any, branch: Any) -> None:
    with pytest.raises(BadDataError, match="Routing response must be int but got"):
        rest_call(dispatcher(models.Router(branch)), "route", {"data": {"ndarray": [1]}})


def test_route_not_defined(dispatcher: Any) -> None:
    with pytest.raises(SeldonError) as info:
        rest_call(dispatcher(models.Identity()), "route", {"data": {"ndarray": [1]}})
    assert (info.value.status_code, info.value.message, info.value.reason) == (
        400,
        "Route not defined",
        BAD_DATA,
    )


# -- TRANSFORMER, OUTPUT_TRANSFORMER, OUTLIER_DETECTOR -----------------------------------------


def test_transform_input_and_output(call: Call, dispatcher: Any) -> None:
    model = models.Transformer()
    d = dispatcher(model)
    body = {"data": {"names": ["a"], "ndarray": [[1, 2]]}, "meta": {"tags": {"t": 1}}}
    assert call(d, "transform_input", body) == as_floats(
        {"data": {"names": ["t:0", "t:1"], "ndarray": [[2, 4]]}, "meta": {"tags": {"t": 1}}}
    )
    assert call(d, "transform_output", body) == as_floats(
        {"data": {"names": ["t:0", "t:1"], "ndarray": [[2, 3]]}, "meta": {"tags": {"t": 1}}}
    )
    assert model.calls["transform_input"][0][1] == ["a"]


def test_missing_transform_hooks_are_identity(call: Call, dispatcher: Any) -> None:
    body = {"strData": "x", "meta": {"tags": {"t": "v"}}}
    for operation in ("transform_input", "transform_output"):
        assert call(dispatcher(models.Identity()), operation, body) == body


def test_outlier_detector_tags_the_passed_through_request(call: Call, dispatcher: Any) -> None:
    body = {"data": {"ndarray": [[1, 20]]}, "meta": {"tags": {"req": "x"}}}
    out = call(dispatcher(models.OutlierDetector()), "transform_input", body)
    assert out == as_floats(
        {
            "data": {"names": ["t:0", "t:1"], "ndarray": [[1, 20]]},
            "meta": {"tags": {"req": "x", "outlierScore": 20.0, "isOutlier": True}},
        }
    )


# -- COMBINER ---------------------------------------------------------------------------------


def combiner_inputs() -> list[dict[str, Any]]:
    return [
        {
            "data": {"names": ["a", "b"], "tensor": {"shape": [1, 2], "values": [1, 2]}},
            "meta": {
                "puid": "first",
                "tags": {"x": 1, "y": 1},
                "requestPath": {"m1": "i1"},
                "metrics": [REQUEST_METRIC],
            },
        },
        {
            "data": {"names": ["a", "b"], "ndarray": [[3, 4]]},
            "meta": {
                "puid": "second",
                "tags": {"y": 2, "combiner": "req"},
                "requestPath": {"m2": "i2"},
            },
        },
    ]


@pytest.mark.parametrize("wrap", [False, True])
def test_aggregate(call: Call, dispatcher: Any, wrap: bool) -> None:
    model = models.Combiner()
    inputs = combiner_inputs()
    body: Any = {"seldonMessages": inputs} if wrap else inputs
    out = call(dispatcher(model), "aggregate", body)
    assert out == as_floats(
        {
            "data": {"names": ["t:0", "t:1"], "tensor": {"shape": [1, 2], "values": [2.0, 3.0]}},
            "meta": {
                "puid": "first",
                "tags": {"x": 1, "y": 2, "combiner": "mean"},
                "requestPath": {"m1": "i1", "m2": "i2"},
                "metrics": [REQUEST_METRIC],
            },
        }
    )
    features, names = model.calls["aggregate"][0]
    assert len(features) == 2 and names == [["a", "b"], ["a", "b"]]


def test_aggregate_of_other_payload_kinds(call: Call, dispatcher: Any) -> None:
    out = call(
        dispatcher(models.CombinerFirst()), "aggregate", [{"strData": "s"}, {"binData": "eA=="}]
    )
    assert out == {"strData": "s", "meta": {}}


def test_aggregate_errors(dispatcher: Any) -> None:
    with pytest.raises(SeldonError, match="Aggregate not defined"):
        rest_call(dispatcher(models.Identity()), "aggregate", [{"strData": "x"}])
    for bad in ({"seldonMessages": {"strData": "x"}}, {"strData": "x"}, [], [1], ["x"]):
        with pytest.raises(BadDataError):
            rest_call(dispatcher(models.Combiner()), "aggregate", bad)
    with pytest.raises(BadDataError):
        grpc_call(dispatcher(models.Combiner()), "aggregate", [])


# -- FEEDBACK ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unit_id", "routing", "expected"),
    [
        ("", {"0": 1}, 1),
        ("router", {"router": 2, "0": 9}, 2),
        ("router", {"other": 3}, None),
        ("", {}, None),
    ],
)
def test_feedback_routing(dispatcher: Any, unit_id: str, routing: Any, expected: Any) -> None:
    model = models.Router()
    d = dispatcher(model, DispatchConfig(predictive_unit_id=unit_id))
    fb = feedback(
        {
            "request": {"data": {"ndarray": [[1, 2]]}},
            "response": {"meta": {"routing": routing}},
            "reward": 1,
        }
    )
    d.send_feedback(fb, json_codec.REST_CODEC)
    assert model.calls["send_feedback"][0][4] == expected


def test_feedback_arguments_response_and_reward_metrics(dispatcher: Any) -> None:
    model, sink = models.Feedback(), models.RecordingMetrics()
    d = dispatcher(model, metrics=sink)
    fb = feedback(
        {
            "request": {
                "data": {"names": ["f"], "tensor": {"shape": [2], "values": [1, 2]}},
                "meta": {"puid": "p", "tags": {"t": 1}},
            },
            "truth": {"data": {"ndarray": [[0]]}},
            "reward": 0.5,
        }
    )
    result = d.send_feedback(fb, json_codec.REST_CODEC)
    features, names, reward, truth, routing = model.calls["send_feedback"][0]
    assert features.tolist() == [1.0, 2.0] and names == ["f"] and reward == 0.5
    assert truth.tolist() == [[0.0]] and routing is None
    body = json_format.MessageToDict(proto_codec.encode(result))
    assert body == {
        "data": {"tensor": {"shape": [0]}},
        "meta": {"puid": "p", "metrics": [{"key": "fb_counter", "value": 1.0}]},
    }
    assert sink.rewards == [0.5]
    assert sink.records == [("feedback", [create_counter("fb_counter", 1)])]


def test_feedback_reward_not_recorded_in_legacy_mode_or_when_zero(dispatcher: Any) -> None:
    sink = models.RecordingMetrics()
    legacy = dispatcher(models.Feedback(), DispatchConfig(executor_enabled=False), sink)
    legacy.send_feedback(feedback({"reward": 1}), json_codec.REST_CODEC)
    dispatcher(models.Feedback(), metrics=sink).send_feedback(
        feedback({"reward": 0}), json_codec.REST_CODEC
    )
    assert sink.rewards == []


def test_feedback_without_routing_parameter_and_model_without_hook(dispatcher: Any) -> None:
    model = models.FeedbackNoRouting()
    fb = feedback({"request": {"data": {"ndarray": [[1]]}}, "reward": 1})
    out = json_format.MessageToDict(
        proto_codec.encode(dispatcher(model).send_feedback(fb, json_codec.REST_CODEC))
    )
    assert out == {"data": {"ndarray": [1.0, 2.0]}, "meta": {}}
    assert model.count("send_feedback") == 1
    out = json_format.MessageToDict(
        proto_codec.encode(dispatcher(models.Identity()).send_feedback(fb, json_codec.REST_CODEC))
    )
    assert out == {"data": {"ndarray": []}, "meta": {}}


def test_feedback_raw_and_legacy_hooks(dispatcher: Any) -> None:
    class RawFeedback:
        def send_feedback_raw(self, fb: Any) -> Any:
            return {"strData": f"reward {fb.reward}", "meta": {"metrics": [create_counter("c", 1)]}}

    sink = models.RecordingMetrics()
    result = dispatcher(RawFeedback(), metrics=sink).send_feedback(
        feedback({"reward": 2}), json_codec.REST_CODEC
    )
    assert isinstance(result, Raw)
    assert json_format.MessageToDict(result.value) == {
        "strData": "reward 2.0",
        "meta": {"metrics": [{"key": "c", "value": 1.0}]},
    }
    assert sink.records == [("feedback", [{"key": "c", "value": 1.0}])]

    legacy = models.LegacyFeedback()
    d = dispatcher(legacy)
    rest_result = d.send_feedback(feedback({"reward": 1}), json_codec.REST_CODEC)
    grpc_result = d.send_feedback(feedback({"reward": 1}), proto_codec.GRPC_CODEC)
    assert json_format.MessageToDict(rest_result.value) == {"strData": "rest feedback"}
    assert json_format.MessageToDict(grpc_result.value) == {"strData": "grpc feedback"}
    assert json.loads(legacy.calls["send_feedback_rest"][0][0]) == {"reward": 1.0}
    assert isinstance(legacy.calls["send_feedback_grpc"][0][0], pb.Feedback)


# -- HEALTH -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (
            models.Health([1, 2]),
            {
                "data": {"names": [], "tensor": {"shape": [2], "values": [1, 2]}},
                "meta": {"tags": {"m": 1}},
            },
        ),
        (models.Health("ok"), {"strData": "ok", "meta": {"tags": {"m": 1}}}),
        (
            models.Health({"status": "up"}),
            {"jsonData": {"status": "up"}, "meta": {"tags": {"m": 1}}},
        ),
        (models.Identity(), {"strData": "healthy", "meta": {}}),
        (models.EmptyComponent(), {"strData": "not implemented - assuming healthy", "meta": {}}),
    ],
)
def test_health_status(dispatcher: Any, model: Any, expected: Any) -> None:
    result = dispatcher(model).health_status()
    assert json.loads(json_codec.dumps(json_codec.encode(result))) == expected
    if isinstance(model, models.Health):
        assert model.count("metrics") == 0  # probes never call metrics() (docs/compatibility.md)


def test_health_status_raw_is_returned_as_is(dispatcher: Any) -> None:
    result = dispatcher(models.HealthRaw()).health_status()
    assert isinstance(result, Raw) and result.value == {"status": "raw ok"}


def test_health_status_not_implemented_at_run_time(dispatcher: Any) -> None:
    class Declines(SeldonComponent):
        def health_status(self) -> Any:
            raise SeldonNotImplementedError("no")

    result = dispatcher(Declines()).health_status()
    assert json_codec.encode(result) == {
        "strData": "not implemented - assuming healthy",
        "meta": {},
    }


def test_seldon_response_runtime_tags_on_transforms(call: Call, dispatcher: Any) -> None:
    class Tagger:
        def transform_output(self, X: Any, names: Any) -> Any:
            return SeldonResponse(X, tags={"runtime": "yes"}, metrics=[create_counter("c", 2)])

    out = call(dispatcher(Tagger()), "transform_output", {"strData": "x"})
    metric = {"key": "c", "type": "COUNTER", "value": 2.0}
    assert out == {"strData": "x", "meta": {"tags": {"runtime": "yes"}, "metrics": [metric]}}


# -- the core speaks no transport -------------------------------------------------------------


def test_dispatch_imports_no_transport() -> None:
    """The core (dispatch, model, message types) loads without Flask, grpc or protobuf."""
    code = (
        "import sys, seldon_server.dispatch\n"
        "loaded = [m for m in ('flask', 'werkzeug', 'grpc', 'google.protobuf', 'gunicorn')"
        " if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize(
    "operation",
    ["predict", "transform_input", "transform_output", "route", "aggregate", "send_feedback"],
)
def test_every_operation_waits_for_load(dispatcher: Any, operation: str) -> None:
    """Readiness lives in the dispatcher: no front end can call the model before load()."""
    model = models.Router()
    d = dispatcher(model, load=False)
    assert not d.ready
    body: Any = {"data": {"ndarray": [[1]]}}
    if operation == "send_feedback":
        body = feedback({"request": body, "reward": 1})
    with pytest.raises(ModelNotReadyError):
        getattr(d, operation)(body, json_codec.REST_CODEC)
    with pytest.raises(ModelNotReadyError):
        d.health_status()
    assert model.calls == {}
    d.model.load()
    assert d.ready
    try:
        getattr(d, operation)(body, json_codec.REST_CODEC)
    except SeldonError as exc:  # e.g. no aggregate hook: anything but "not ready"
        assert not isinstance(exc, ModelNotReadyError)
