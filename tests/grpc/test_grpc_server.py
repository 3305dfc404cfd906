"""The gRPC server on a real port: the seven services, errors, metadata, reflection and health."""

from __future__ import annotations

from typing import Any

import grpc
import models
import numpy as np
import pytest
from google.protobuf import any_pb2, empty_pb2, json_format
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from seldon_server.dispatch import DispatchConfig
from seldon_server.grpc.server import GrpcOptions, build_server
from seldon_server.metadata import build_metadata
from seldon_server.proto import prediction_pb2 as pb

SERVICES = [
    "seldon.protos.Generic",
    "seldon.protos.Model",
    "seldon.protos.Router",
    "seldon.protos.Transformer",
    "seldon.protos.OutputTransformer",
    "seldon.protos.Combiner",
    "seldon.protos.Seldon",
]


def message(body: dict[str, Any]) -> pb.SeldonMessage:
    return json_format.ParseDict(body, pb.SeldonMessage())


def as_dict(reply: Any) -> dict[str, Any]:
    return json_format.MessageToDict(reply)


def rpc_error(call: Any, *args: Any) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call(*args, timeout=10)
    return info.value


# -- MODEL ------------------------------------------------------------------------------------


@pytest.mark.parametrize("service", ["Model", "Seldon"])
def test_predict_tensor(grpc_server: Any, service: str) -> None:
    handle = grpc_server(models.Identity())
    request = message({"data": {"tensor": {"shape": [2, 1], "values": [1, 2]}}})
    reply = handle.stub(service).Predict(request, timeout=10)
    assert as_dict(reply) == {
        "meta": {},
        "data": {"names": ["t:0"], "tensor": {"shape": [2, 1], "values": [1.0, 2.0]}},
    }


def test_predict_ndarray_ints_become_floats(grpc_server: Any) -> None:
    reply = grpc_server(models.Identity()).model.Predict(
        message({"data": {"ndarray": [[1, 2]]}}), timeout=10
    )
    assert as_dict(reply) == {
        "meta": {},
        "data": {"names": ["t:0", "t:1"], "ndarray": [[1.0, 2.0]]},
    }


def test_predict_tags_metrics_puid(grpc_server: Any) -> None:
    model = models.TagsAndMetrics(runtime_tags={"c": "runtime"})
    request = message({"strData": "x", "meta": {"puid": "p", "tags": {"a": "req", "b": "req"}}})
    reply = grpc_server(model).model.Predict(request, timeout=10)
    assert as_dict(reply) == {
        "strData": "x",
        "meta": {
            "puid": "p",
            "tags": {"a": "req", "b": "model", "c": "runtime", "n": 1.0},
            "metrics": [
                {"key": "mycounter", "value": 1.0},
                {"key": "mygauge", "type": "GAUGE", "value": 100.0},
                {"key": "runtime_timer", "type": "TIMER", "value": 2.5},
            ],
        },
    }


def test_predict_request_path(grpc_server: Any) -> None:
    config = DispatchConfig(predictive_unit_id="m", predictive_unit_image="img:1")
    reply = grpc_server(models.Identity(), config).model.Predict(
        message({"strData": "x"}), timeout=10
    )
    assert as_dict(reply)["meta"] == {"requestPath": {"m": "img:1"}}


@pytest.mark.parametrize(
    "body",
    [
        {"strData": "hé"},
        {"binData": "AP8="},
        {"jsonData": {"a": [1, "x", None, True]}},
        {"data": {"ndarray": [["a", "b"]]}},
    ],
)
def test_predict_payload_kinds(grpc_server: Any, body: dict[str, Any]) -> None:
    reply = grpc_server(models.Identity()).model.Predict(message(body), timeout=10)
    expected = {**body, "meta": {}}
    if "data" in body:
        expected["data"] = {"names": ["t:0", "t:1"], **body["data"]}
    if "jsonData" in body:
        expected["jsonData"] = {"a": [1.0, "x", None, True]}
    assert as_dict(reply) == expected


def test_predict_custom_data(grpc_server: Any) -> None:
    custom = any_pb2.Any()
    custom.Pack(pb.Status(code=7, info="inside"))
    reply = grpc_server(models.Identity()).model.Predict(
        pb.SeldonMessage(customData=custom), timeout=10
    )
    assert reply.customData == custom


def test_predict_tftensor(grpc_server: Any) -> None:
    from seldon_server.codecs import tftensor

    request = pb.SeldonMessage()
    request.data.tftensor.CopyFrom(tftensor.from_array(np.array([[1, 2], [3, 4]], dtype=np.int32)))
    reply = grpc_server(models.Identity()).model.Predict(request, timeout=10)
    assert list(reply.data.names) == ["t:0", "t:1"]
    assert tftensor.to_array(reply.data.tftensor).tolist() == [[1, 2], [3, 4]]


def test_predict_no_predict_method(grpc_server: Any) -> None:
    reply = grpc_server(models.NoPredict()).model.Predict(
        message({"data": {"ndarray": [[1, 2]]}}), timeout=10
    )
    assert as_dict(reply) == {"meta": {}, "data": {"ndarray": []}}


def test_raw_and_deprecated_hooks(grpc_server: Any) -> None:
    reply = grpc_server(models.LegacyRest()).model.Predict(message({"strData": "x"}), timeout=10)
    assert as_dict(reply) == {"strData": "legacy grpc"}
    model = models.RawPredict()
    reply = grpc_server(model).model.Predict(message({"strData": "x"}), timeout=10)
    assert as_dict(reply) == {
        "strData": "x",
        "meta": {"metrics": [{"key": "raw_counter", "value": 3.0}]},
    }
    assert isinstance(model.calls["predict_raw"][0][0], pb.SeldonMessage)


def test_raw_hook_gets_the_parsed_numeric_request(grpc_server: Any) -> None:
    """A request the server reads straight from its bytes still reaches raw hooks parsed."""
    model = models.RawPredict()
    request = message({"meta": {"puid": "p"}, "data": {"names": ["a"], "ndarray": [[1.5]]}})
    reply = grpc_server(model).model.Predict(request, timeout=10)
    assert model.calls["predict_raw"][0][0] == request
    assert as_dict(reply)["data"] == {"names": ["a"], "ndarray": [[1.5]]}


def test_any_valid_field_order_gives_the_same_reply(grpc_server: Any) -> None:
    """Bytes in an order protobuf accepts but the byte-level reader declines: same answer."""
    handle = grpc_server(models.IdentityWithMeta())
    canonical = message({"meta": {"puid": "p"}, "data": {"names": ["a"], "ndarray": [[1.5]]}})
    ndarray = canonical.data.ndarray.SerializeToString()
    names_last = field(0x1A, field(0x1A, ndarray) + field(0x0A, b"a"))
    reordered = names_last + field(0x12, field(0x0A, b"p"))  # meta last
    assert pb.SeldonMessage.FromString(reordered) == canonical
    call = handle.channel.unary_unary(
        "/seldon.protos.Model/Predict", response_deserializer=pb.SeldonMessage.FromString
    )
    assert call(reordered, timeout=10) == handle.model.Predict(canonical, timeout=10)
    assert call(canonical.SerializeToString(), timeout=10).data.ndarray == canonical.data.ndarray


def field(tag: int, payload: bytes) -> bytes:
    """One length-delimited protobuf field (payloads under 128 bytes)."""
    return bytes((tag, len(payload))) + payload


def test_raw_dict_reply_is_converted(grpc_server: Any) -> None:
    class RawDict:
        def predict_raw(self, msg: Any) -> Any:
            return {"strData": "from dict", "unknownKey": 1}

    reply = grpc_server(RawDict()).model.Predict(message({"strData": "x"}), timeout=10)
    assert as_dict(reply) == {"strData": "from dict"}


# -- other service types ----------------------------------------------------------------------


def test_every_service_on_one_server(grpc_server: Any) -> None:
    class Everything(models.Transformer, models.Router):
        def aggregate(self, features_list: Any, names_list: Any) -> Any:
            return features_list[0]

    handle = grpc_server(Everything())
    data = message({"data": {"ndarray": [[1, 2]]}, "meta": {"puid": "p"}})
    doubled = {"meta": {"puid": "p"}, "data": {"names": ["t:0", "t:1"], "ndarray": [[2.0, 4.0]]}}
    plus_one = {"meta": {"puid": "p"}, "data": {"names": ["t:0", "t:1"], "ndarray": [[2.0, 3.0]]}}
    routed = {"meta": {"puid": "p"}, "data": {"names": ["t:0"], "ndarray": [[22.0]]}}
    assert as_dict(handle.stub("Transformer").TransformInput(data, timeout=10)) == doubled
    assert as_dict(handle.stub("Generic").TransformInput(data, timeout=10)) == doubled
    assert as_dict(handle.stub("OutputTransformer").TransformOutput(data, timeout=10)) == plus_one
    assert as_dict(handle.stub("Generic").TransformOutput(data, timeout=10)) == plus_one
    assert as_dict(handle.stub("Router").Route(data, timeout=10)) == routed
    assert as_dict(handle.stub("Generic").Route(data, timeout=10)) == routed
    messages = pb.SeldonMessageList(seldonMessages=[data, message({"strData": "b"})])
    combined = {"meta": {"puid": "p"}, "data": {"names": ["t:0", "t:1"], "ndarray": [[1.0, 2.0]]}}
    assert as_dict(handle.stub("Combiner").Aggregate(messages, timeout=10)) == combined
    assert as_dict(handle.stub("Generic").Aggregate(messages, timeout=10)) == combined
    feedback = pb.Feedback(request=data, reward=1.0)
    feedback.response.meta.routing["0"] = 1
    for service in ("Model", "Router", "Generic", "Seldon"):
        reply = handle.stub(service).SendFeedback(feedback, timeout=10)
        assert as_dict(reply) == {"meta": {"puid": "p"}, "data": {"ndarray": []}}


def test_combiner_unions_meta(grpc_server: Any) -> None:
    messages = pb.SeldonMessageList(
        seldonMessages=[
            message(
                {
                    "data": {"ndarray": [[1, 2]]},
                    "meta": {"puid": "a", "tags": {"x": 1}, "requestPath": {"m1": "i1"}},
                }
            ),
            message(
                {
                    "data": {"ndarray": [[3, 4]]},
                    "meta": {"tags": {"y": 2}, "requestPath": {"m2": "i2"}},
                }
            ),
        ]
    )
    reply = grpc_server(models.Combiner()).stub("Combiner").Aggregate(messages, timeout=10)
    assert as_dict(reply) == {
        "meta": {
            "puid": "a",
            "tags": {"x": 1.0, "y": 2.0, "combiner": "mean"},
            "requestPath": {"m1": "i1", "m2": "i2"},
        },
        "data": {"names": ["t:0", "t:1"], "ndarray": [[2.0, 3.0]]},
    }


def test_feedback_routing_reaches_the_router(grpc_server: Any) -> None:
    model = models.Router()
    handle = grpc_server(model, DispatchConfig(predictive_unit_id="r"))
    feedback = pb.Feedback(request=message({"data": {"ndarray": [[1]]}}), reward=1.0)
    feedback.response.meta.routing["r"] = 2
    handle.stub("Router").SendFeedback(feedback, timeout=10)
    assert model.calls["send_feedback"][0][4] == 2


def test_outlier_detector_tags(grpc_server: Any) -> None:
    reply = (
        grpc_server(models.OutlierDetector())
        .stub("Transformer")
        .TransformInput(message({"data": {"ndarray": [[1, 20]]}}), timeout=10)
    )
    assert as_dict(reply)["meta"] == {"tags": {"outlierScore": 20.0, "isOutlier": True}}


# -- errors -----------------------------------------------------------------------------------


def test_user_status_code_is_honoured(grpc_server: Any) -> None:
    error = rpc_error(grpc_server(models.Denied()).model.Predict, message({"strData": "x"}))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error.details() == "denied"


def test_plain_exception_is_internal(grpc_server: Any) -> None:
    error = rpc_error(grpc_server(models.Boom()).model.Predict, message({"strData": "x"}))
    assert (error.code(), error.details()) == (grpc.StatusCode.INTERNAL, "boom")


def test_type_error_in_user_code_is_called_once(grpc_server: Any) -> None:
    model = models.TypeErrorWithMeta()
    error = rpc_error(grpc_server(model).model.Predict, message({"strData": "x"}))
    assert error.code() == grpc.StatusCode.INTERNAL
    assert model.count("predict") == 1


def test_bad_metrics_are_internal_with_the_message(grpc_server: Any) -> None:
    error = rpc_error(
        grpc_server(models.BadMetrics([{"key": "a"}])).model.Predict, message({"strData": "x"})
    )
    assert error.code() == grpc.StatusCode.INTERNAL
    assert error.details() == 'Bad metric created during request: [{"key": "a"}]'


@pytest.mark.parametrize(
    ("request_message", "details"),
    [
        (pb.SeldonMessage(), "Unknown data in SeldonMessage"),
        (message({"data": {"tensor": {"shape": [3], "values": [1, 2]}}}), "Invalid tensor"),
    ],
)
def test_bad_data_is_invalid_argument(grpc_server: Any, request_message: Any, details: str) -> None:
    error = rpc_error(grpc_server(models.Identity()).model.Predict, request_message)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith(details)


def test_route_and_aggregate_not_defined(grpc_server: Any) -> None:
    handle = grpc_server(models.Identity())
    error = rpc_error(handle.stub("Router").Route, message({"strData": "x"}))
    assert error.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.UNIMPLEMENTED)
    assert error.details() == "Route not defined"
    error = rpc_error(
        handle.stub("Combiner").Aggregate,
        pb.SeldonMessageList(seldonMessages=[message({"strData": "x"})]),
    )
    assert error.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.UNIMPLEMENTED)
    assert error.details() == "Aggregate not defined"


def test_model_not_loaded_is_unavailable(grpc_server: Any, dispatcher: Any) -> None:
    handle = grpc_server(dispatcher(models.Identity(), load=False))
    error = rpc_error(handle.model.Predict, message({"strData": "x"}))
    assert (error.code(), error.details()) == (grpc.StatusCode.UNAVAILABLE, "Model not ready")


# -- metadata, reflection, health -------------------------------------------------------------


def test_metadata(grpc_server: Any) -> None:
    model = models.WithMetadata()
    metadata = build_metadata(model.init_metadata(), "", "").value
    handle = grpc_server(model, metadata=metadata)
    expected = {
        "name": "my-model",
        "versions": ["v1"],
        "platform": "seldon",
        "inputs": [{"messagetype": "tensor", "schema": {"names": ["a", "b"], "shape": [2.0]}}],
        "outputs": [{"name": "out", "datatype": "FP64", "shape": ["1", "2"]}],
        "custom": {"author": "me"},
    }
    assert as_dict(handle.model.Metadata(empty_pb2.Empty(), timeout=10)) == expected
    reply = handle.stub("Seldon").ModelMetadata(pb.SeldonModelMetadataRequest(name="x"), timeout=10)
    assert as_dict(reply) == expected


def test_invalid_metadata_is_an_empty_message(grpc_server: Any) -> None:
    handle = grpc_server(models.Identity(), metadata=None)
    assert handle.model.Metadata(empty_pb2.Empty(), timeout=10) == pb.SeldonModelMetadata()
    assert (
        handle.stub("Seldon").ModelMetadata(pb.SeldonModelMetadataRequest(), timeout=10)
        == pb.SeldonModelMetadata()
    )


def test_graph_metadata_is_not_available_on_a_model(grpc_server: Any) -> None:
    error = rpc_error(
        grpc_server(models.Identity()).stub("Seldon").GraphMetadata, empty_pb2.Empty()
    )
    assert error.code() in (grpc.StatusCode.UNIMPLEMENTED, grpc.StatusCode.UNKNOWN)
    assert error.details() == "GraphMetadata not available on the Model level."


def test_reflection_lists_the_seven_services(grpc_server: Any) -> None:
    handle = grpc_server(models.Identity())
    stub = reflection_pb2_grpc.ServerReflectionStub(handle.channel)
    replies = list(
        stub.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10
        )
    )
    names = {service.name for service in replies[0].list_services_response.service}
    assert set(SERVICES) <= names
    assert "grpc.health.v1.Health" in names


def test_reflection_describes_a_service(grpc_server: Any) -> None:
    handle = grpc_server(models.Identity())
    stub = reflection_pb2_grpc.ServerReflectionStub(handle.channel)
    request = reflection_pb2.ServerReflectionRequest(file_containing_symbol="seldon.protos.Model")
    (reply,) = stub.ServerReflectionInfo(iter([request]), timeout=10)
    assert reply.file_descriptor_response.file_descriptor_proto


@pytest.mark.parametrize("service", ["", *SERVICES])
def test_health_serving(grpc_server: Any, service: str) -> None:
    stub = health_pb2_grpc.HealthStub(grpc_server(models.Identity()).channel)
    reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_health_not_serving_until_marked(dispatcher: Any) -> None:
    server = build_server(
        dispatcher(models.Identity()),
        GrpcOptions(address="127.0.0.1:0", threads=2, reuse_port=False),
    )
    server.server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        stub = health_pb2_grpc.HealthStub(channel)
        reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
        assert reply.status == health_pb2.HealthCheckResponse.NOT_SERVING
        server.mark_serving()
        reply = stub.Check(health_pb2.HealthCheckRequest(service="seldon.protos.Model"), timeout=10)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        channel.close()
        server.server.stop(None).wait(5)


def test_max_message_size(grpc_server: Any) -> None:
    big = message({"strData": "x" * (5 * 1024 * 1024)})
    small_reply = models.Returns("ok")
    error = rpc_error(grpc_server(small_reply).model.Predict, big)
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    reply = grpc_server(small_reply, max_message_size=8 * 1024 * 1024).model.Predict(
        big, timeout=10
    )
    assert reply.strData == "ok"
