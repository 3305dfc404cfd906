"""The same cases through REST and gRPC give the same result once both are read as the same JSON."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
import models
import pytest
from google.protobuf import json_format
from hypothesis import given
from hypothesis import strategies as st

from seldon_server.dispatch import DispatchConfig
from seldon_server.errors import grpc_code_name
from seldon_server.proto import prediction_pb2 as pb

# operation -> (REST path, gRPC service, gRPC method, request message type)
OPERATIONS: dict[str, tuple[str, str, str, Any]] = {
    "predict": ("/predict", "Model", "Predict", pb.SeldonMessage),
    "transform_input": ("/transform-input", "Transformer", "TransformInput", pb.SeldonMessage),
    "transform_output": (
        "/transform-output",
        "OutputTransformer",
        "TransformOutput",
        pb.SeldonMessage,
    ),
    "route": ("/route", "Router", "Route", pb.SeldonMessage),
    "aggregate": ("/aggregate", "Combiner", "Aggregate", pb.SeldonMessageList),
    "send_feedback": ("/send-feedback", "Model", "SendFeedback", pb.Feedback),
}


@dataclass(frozen=True)
class Case:
    id: str
    model: Callable[[], Any]
    operation: str
    body: Any
    config: DispatchConfig | None = None
    same_message: bool = True  # False: each transport's decoder words its error its own way


def as_floats(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float | list | dict):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, list):
        return [as_floats(v) for v in value]
    return {k: as_floats(v) for k, v in value.items()}


def same_form(reply: Any) -> Any:
    """Numbers as doubles; what protobuf JSON leaves out (empty names, enum defaults) put back."""
    reply = as_floats(reply)
    if isinstance(reply.get("data"), dict):
        reply["data"].setdefault("names", [])
        if isinstance(reply["data"].get("tensor"), dict):
            reply["data"]["tensor"].setdefault("values", [])
    for metric in (reply.get("meta") or {}).get("metrics", []):
        metric.setdefault("type", "COUNTER")
    return reply


def via_rest(client: Any, operation: str, body: Any) -> tuple[Any, ...]:
    response = client.post(OPERATIONS[operation][0], json=body)
    if response.status_code != 200:
        status = response.json["status"]
        return ("error", grpc_code_name(response.status_code), status["info"])
    return ("ok", same_form(response.json))


def via_grpc(handle: Any, operation: str, body: Any) -> tuple[Any, ...]:
    _, service, method, message_type = OPERATIONS[operation]
    if message_type is pb.SeldonMessageList and isinstance(body, list):
        body = {"seldonMessages": body}
    request = json_format.ParseDict(body, message_type())
    try:
        reply = getattr(handle.stub(service), method)(request, timeout=10)
    except grpc.RpcError as error:
        return ("error", error.code().name, error.details())
    return ("ok", same_form(json_format.MessageToDict(reply)))


NDARRAY = {"data": {"ndarray": [[1, 2], [3, 4]]}}
META = {
    "puid": "p1",
    "tags": {"a": 1, "b": "req"},
    "metrics": [{"key": "up", "type": "GAUGE", "value": 2}],
}
UNIT = DispatchConfig(predictive_unit_id="unit", predictive_unit_image="image:1.0")
NO_CLIENT_METRICS = DispatchConfig(include_metrics_in_client_response=False)

CASES = [
    # MODEL: payload kinds and encodings
    Case("ndarray-ints", models.Identity, "predict", NDARRAY),
    Case(
        "ndarray-floats", models.Identity, "predict", {"data": {"ndarray": [[1.5, 1e-05, -2e300]]}}
    ),
    Case("ndarray-1d", models.Identity, "predict", {"data": {"ndarray": [1, 2, 3]}}),
    Case("ndarray-3d", models.Identity, "predict", {"data": {"ndarray": [[[1], [2]], [[3], [4]]]}}),
    Case("ndarray-strings", models.Identity, "predict", {"data": {"ndarray": [["a", "b"]]}}),
    Case("ndarray-bools", models.Identity, "predict", {"data": {"ndarray": [[True, False]]}}),
    Case("ndarray-empty", models.Identity, "predict", {"data": {"ndarray": []}}),
    Case(
        "tensor",
        models.Identity,
        "predict",
        {"data": {"tensor": {"shape": [2, 2], "values": [1, 2, 3, 4.5]}}},
    ),
    Case(
        "tensor-empty",
        models.Identity,
        "predict",
        {"data": {"tensor": {"shape": [0], "values": []}}},
    ),
    Case(
        "names-not-echoed",
        models.Identity,
        "predict",
        {"data": {"names": ["f1", "f2"], "ndarray": [[1, 2]]}},
    ),
    Case("data-without-encoding", models.Identity, "predict", {"data": {"names": ["f"]}}),
    Case("strData", models.Identity, "predict", {"strData": "héllo", "meta": {"puid": "p"}}),
    Case("binData", models.Identity, "predict", {"binData": "AP8Q"}),
    Case(
        "jsonData",
        models.Identity,
        "predict",
        {"jsonData": {"a": [1, "x", None, True], "b": {"c": 2.5}}},
    ),
    Case("numeric-for-strData", lambda: models.Returns([[1, 2]]), "predict", {"strData": "x"}),
    Case(
        "strings-for-tensor",
        lambda: models.Returns(["a"]),
        "predict",
        {"data": {"tensor": {"shape": [1], "values": [1]}}},
    ),
    Case("dict-result", lambda: models.Returns({"k": [1, 2]}), "predict", NDARRAY),
    Case("str-result", lambda: models.Returns("text"), "predict", NDARRAY),
    Case("bytes-result", lambda: models.Returns(b"\x00\x01"), "predict", NDARRAY),
    Case("class-names", models.ClassNamesMethod, "predict", NDARRAY),
    Case("class-names-attribute", models.ClassNamesAttribute, "predict", NDARRAY),
    Case("no-predict", models.NoPredict, "predict", NDARRAY),
    Case("component-defaults", models.EmptyComponent, "predict", NDARRAY),
    Case("component-predict", models.ComponentPredict, "predict", NDARRAY),
    # meta merge rules
    Case(
        "meta-merge",
        lambda: models.TagsAndMetrics({"c": "runtime"}),
        "predict",
        {**NDARRAY, "meta": META},
    ),
    Case(
        "meta-no-client-metrics",
        models.TagsAndMetrics,
        "predict",
        {**NDARRAY, "meta": META},
        NO_CLIENT_METRICS,
    ),
    Case(
        "request-path",
        models.Identity,
        "predict",
        {"strData": "x", "meta": {"requestPath": {"up": "i:0"}}},
        UNIT,
    ),
    Case("raw-hook", models.RawPredict, "predict", {"strData": "x"}),
    Case(
        "raw-hook-no-client-metrics",
        models.RawPredict,
        "predict",
        {"strData": "x"},
        NO_CLIENT_METRICS,
    ),
    # errors map to the same status on both transports
    Case("user-403", models.Denied, "predict", NDARRAY),
    Case("user-exception", models.Boom, "predict", NDARRAY),
    Case("bad-metric", lambda: models.BadMetrics([{"key": "a"}]), "predict", NDARRAY),
    Case("bad-runtime-metric", models.BadRuntimeMetrics, "predict", NDARRAY),
    Case("bad-return-type", lambda: models.Returns(3), "predict", NDARRAY),
    Case("ragged-ndarray", models.Identity, "predict", {"data": {"ndarray": [[1], [1, 2]]}}),
    Case(
        "tensor-misfit",
        models.Identity,
        "predict",
        {"data": {"tensor": {"shape": [3], "values": [1, 2]}}},
        same_message=False,
    ),
    Case("no-payload", models.Identity, "predict", {"meta": {"puid": "p"}}, same_message=False),
    # ROUTER
    Case("route", models.Router, "route", {**NDARRAY, "meta": META}),
    Case(
        "route-tensor", models.Router, "route", {"data": {"tensor": {"shape": [1], "values": [1]}}}
    ),
    Case("route-runtime-tags", models.RouterNoMeta, "route", NDARRAY),
    Case("route-not-int", lambda: models.Router("left"), "route", NDARRAY),
    Case("route-not-defined", models.Identity, "route", NDARRAY),
    Case(
        "feedback-routing",
        models.Router,
        "send_feedback",
        {"request": NDARRAY, "response": {"meta": {"routing": {"0": 1}}}, "reward": 1},
    ),
    # TRANSFORMER, OUTPUT_TRANSFORMER, OUTLIER_DETECTOR
    Case("transform-input", models.Transformer, "transform_input", {**NDARRAY, "meta": META}),
    Case("transform-output", models.Transformer, "transform_output", {**NDARRAY, "meta": META}),
    Case("transform-identity", models.Identity, "transform_input", {"strData": "x", "meta": META}),
    Case("outlier-detector", models.OutlierDetector, "transform_input", NDARRAY),
    # COMBINER
    Case(
        "aggregate",
        models.Combiner,
        "aggregate",
        [
            {
                **NDARRAY,
                "meta": {
                    "puid": "a",
                    "tags": {"x": 1},
                    "requestPath": {"m1": "i1"},
                    "metrics": META["metrics"],
                },
            },
            {
                "data": {"tensor": {"shape": [2, 2], "values": [3, 4, 5, 6]}},
                "meta": {"tags": {"x": 2, "y": 3}},
            },
        ],
    ),
    Case(
        "aggregate-strData", models.CombinerFirst, "aggregate", [{"strData": "a"}, {"strData": "b"}]
    ),
    Case("aggregate-not-defined", models.Identity, "aggregate", [{"strData": "a"}]),
    # feedback
    Case(
        "feedback",
        models.Feedback,
        "send_feedback",
        {
            "request": {"data": {"tensor": {"shape": [1], "values": [1]}}, "meta": {"puid": "f"}},
            "reward": 0.5,
        },
    ),
    Case(
        "feedback-returns-array",
        models.FeedbackNoRouting,
        "send_feedback",
        {"request": NDARRAY, "truth": NDARRAY, "reward": 1},
    ),
    Case(
        "feedback-without-hook",
        models.Identity,
        "send_feedback",
        {"request": {"strData": "x"}, "reward": 1},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_rest_and_grpc_agree(case: Case, rest: Any, grpc_server: Any) -> None:
    rest_result = via_rest(rest(case.model(), case.config), case.operation, case.body)
    grpc_result = via_grpc(grpc_server(case.model(), case.config), case.operation, case.body)
    if case.same_message:
        assert rest_result == grpc_result
    else:
        assert rest_result[:2] == grpc_result[:2] and rest_result[0] == "error"


def test_cases_cover_every_operation() -> None:
    assert {case.operation for case in CASES} == set(OPERATIONS)


# -- generated numeric payloads ---------------------------------------------------------------

NUMBERS = st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False)


@st.composite
def numeric_requests(draw: st.DrawFn) -> dict[str, Any]:
    rows, cols = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    values = [draw(NUMBERS) for _ in range(rows * cols)]
    if draw(st.booleans()):
        return {"data": {"tensor": {"shape": [rows, cols], "values": values}}}
    return {"data": {"ndarray": [values[r * cols : (r + 1) * cols] for r in range(rows)]}}


@pytest.fixture(scope="module")
def identity_pair(rest: Any, module_grpc_server: Any) -> tuple[Any, Any]:
    return rest(models.Identity()), module_grpc_server(models.Identity())


@given(numeric_requests())
def test_generated_numeric_payloads_agree(
    identity_pair: tuple[Any, Any], body: dict[str, Any]
) -> None:
    client, handle = identity_pair
    rest_result = via_rest(client, "predict", body)
    assert rest_result[0] == "ok"
    assert rest_result == via_grpc(handle, "predict", body)
