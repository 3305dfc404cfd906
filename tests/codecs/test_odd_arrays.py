"""Arrays a SeldonMessage cannot carry get a clear bad-data answer on both transports, never a 500,
an unparseable reply or a silently changed value; those it can carry are answered correctly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import numpy as np
import pytest
from google.protobuf import json_format

from seldon_server.codecs import tftensor
from seldon_server.codecs.wire import (
    DATA_NDARRAY,
    LIST_VALUES,
    MAX_NDARRAY_DIMS,
    SELDON_DATA,
    VALUE_LIST,
    VALUE_NUMBER,
    field,
    scalar_field,
)
from seldon_server.proto import prediction_pb2 as pb


class Returns:
    """predict returns a fixed value, whatever the request."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def predict(self, X: Any, features_names: Any) -> Any:
        return self.value


class Identity:
    def predict(self, X: Any, features_names: Any) -> Any:
        return X


NDARRAY = {"data": {"ndarray": [1.0]}}
TENSOR = {"data": {"tensor": {"shape": [1], "values": [1.0]}}}
TFTENSOR = {"data": {"tftensor": tftensor.to_json(tftensor.from_array(np.array([1.0])))}}

UNWRITABLE = {
    "complex": np.array([1 + 2j, 3 - 1j]),
    "complex-2d": np.array([[1 + 2j], [3 + 0j]]),
    "complex-scalar": np.array(1 + 2j),
    "complex-list": [1 + 2j, 3.0],
    "timedelta": np.array([1, 2], dtype="m8[s]"),
    "timedelta-2d": np.array([[1, 2]], dtype="m8[ms]"),
}


def nested(depth: int) -> list[Any]:
    value: list[Any] = [1.0]
    for _ in range(depth - 1):
        value = [value]
    return value


def via_rest(rest: Callable[..., Any], model: Any, body: Any) -> tuple[int, Any]:
    response = rest(model).post("/predict", json=body)
    return response.status_code, response.get_json()


def via_grpc(handle: Any, body: Any) -> tuple[Any, Any]:
    try:
        reply = handle.model.Predict(json_format.ParseDict(body, pb.SeldonMessage()))
    except grpc.RpcError as exc:
        return exc.code(), exc.details()
    return grpc.StatusCode.OK, reply


@pytest.mark.parametrize("value", UNWRITABLE.values(), ids=UNWRITABLE.keys())
@pytest.mark.parametrize("request_body", [NDARRAY, TENSOR], ids=["ndarray", "tensor"])
def test_complex_and_timedelta_replies_are_bad_data(
    rest: Callable[..., Any], grpc_server: Any, value: Any, request_body: Any
) -> None:
    status, body = via_rest(rest, Returns(value), request_body)
    assert status == 400, body
    assert body["status"]["reason"] == "MICROSERVICE_BAD_DATA"
    assert "Cannot encode dtype" in body["status"]["info"]
    code, details = via_grpc(grpc_server(Returns(value)), request_body)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "Cannot encode dtype" in details


@pytest.mark.parametrize("request_body", [NDARRAY, TENSOR], ids=["ndarray", "tensor"])
def test_an_empty_complex_reply_is_still_an_empty_answer(
    rest: Callable[..., Any], grpc_server: Any, request_body: Any
) -> None:
    empty = np.zeros(0, dtype=complex)
    status, _ = via_rest(rest, Returns(empty), request_body)
    assert status == 200
    code, _ = via_grpc(grpc_server(Returns(empty)), request_body)
    assert code == grpc.StatusCode.OK


def test_a_complex_tftensor_reply_is_answered_exactly(
    rest: Callable[..., Any], grpc_server: Any
) -> None:
    value = np.array([1 + 2j, 3 - 1j])
    status, body = via_rest(rest, Returns(value), TFTENSOR)
    assert status == 200
    np.testing.assert_array_equal(
        tftensor.to_array(tftensor.from_json(body["data"]["tftensor"])), value
    )
    code, reply = via_grpc(grpc_server(Returns(value)), TFTENSOR)
    assert code == grpc.StatusCode.OK
    np.testing.assert_array_equal(tftensor.to_array(reply.data.tftensor), value)


def test_a_timedelta_tftensor_reply_is_bad_data(rest: Callable[..., Any], grpc_server: Any) -> None:
    value = np.array([1, 2], dtype="m8[s]")
    status, _ = via_rest(rest, Returns(value), TFTENSOR)
    assert status == 400
    code, _ = via_grpc(grpc_server(Returns(value)), TFTENSOR)
    assert code == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize("dims", [MAX_NDARRAY_DIMS, MAX_NDARRAY_DIMS + 1, 64])
def test_deep_ndarray_replies_are_exact_or_bad_data_on_grpc(
    rest: Callable[..., Any], grpc_server: Any, dims: int
) -> None:
    value = np.ones([1] * dims)
    status, body = via_rest(rest, Returns(value), NDARRAY)  # JSON has no nesting limit
    assert status == 200 and body["data"]["ndarray"] == value.tolist()
    code, reply = via_grpc(grpc_server(Returns(value)), NDARRAY)
    if dims <= MAX_NDARRAY_DIMS:
        assert code == grpc.StatusCode.OK
        assert json_format.MessageToDict(reply.data.ndarray) == value.tolist()
    else:  # once written, and unreadable by every protobuf client
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert "dimensional array as an ndarray" in reply


@pytest.mark.parametrize("dims", [50, 64])
def test_deep_tensor_replies_are_exact(
    rest: Callable[..., Any], grpc_server: Any, dims: int
) -> None:
    value = np.ones([1] * dims)
    status, body = via_rest(rest, Returns(value), TENSOR)
    assert status == 200 and body["data"]["tensor"]["shape"] == [1] * dims
    code, reply = via_grpc(grpc_server(Returns(value)), TENSOR)
    assert code == grpc.StatusCode.OK and list(reply.data.tensor.shape) == [1] * dims


def deep_ndarray_request(dims: int) -> bytes:
    """A SeldonMessage whose ndarray nests `dims` lists, built by hand (protobuf refuses to)."""
    inner = scalar_field(VALUE_NUMBER, np.array([1.0], dtype="<f8").tobytes())
    rows = field(LIST_VALUES, inner)
    for _ in range(dims - 1):
        rows = field(LIST_VALUES, field(VALUE_LIST, rows))
    return field(SELDON_DATA, field(DATA_NDARRAY, rows))


def test_deep_requests(rest: Callable[..., Any], grpc_server: Any) -> None:
    """A 50-dim ndarray: JSON reads it, protobuf refuses it; tensors: up to numpy's 64 dims."""
    status, body = via_rest(rest, Identity(), {"data": {"ndarray": nested(50)}})
    assert status == 200 and body["data"]["ndarray"] == nested(50)
    handle = grpc_server(Identity())
    predict = handle.channel.unary_unary("/seldon.protos.Model/Predict")
    assert pb.SeldonMessage.FromString(predict(deep_ndarray_request(MAX_NDARRAY_DIMS))).data
    with pytest.raises(grpc.RpcError) as caught:
        predict(deep_ndarray_request(MAX_NDARRAY_DIMS + 1))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    for dims, readable in ((50, True), (64, True), (65, False)):
        body = {"data": {"tensor": {"shape": [1] * dims, "values": [1.0]}}}
        status, _ = via_rest(rest, Identity(), body)
        code, _ = via_grpc(handle, body)
        assert status == (200 if readable else 400)
        assert code == (grpc.StatusCode.OK if readable else grpc.StatusCode.INVALID_ARGUMENT)
