"""SeldonMessage <-> internal message: the packed-double fast paths equal the generic ones."""

from __future__ import annotations

import numpy as np
import pytest
from google.protobuf import any_pb2, json_format, struct_pb2
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from seldon_server.codecs import proto as proto_codec
from seldon_server.codecs.message import Message
from seldon_server.codecs.wire import encode_tensor
from seldon_server.errors import BadDataError
from seldon_server.proto import prediction_pb2 as pb

shapes = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5)
arrays = hnp.arrays(np.float64, shapes, elements=st.floats(width=64))


def tensor_message(shape: list[int], values: list[float]) -> pb.SeldonMessage:
    return pb.SeldonMessage(data=pb.DefaultData(tensor=pb.Tensor(shape=shape, values=values)))


@given(arrays)
def test_tensor_fast_path_equals_generic_path(array: np.ndarray) -> None:
    request = tensor_message(list(array.shape), array.ravel().tolist())
    message = proto_codec.decode(request)
    generic = np.array(list(request.data.tensor.values), dtype=np.float64).reshape(array.shape)
    assert message.encoding == "tensor"
    assert message.value.dtype == np.float64
    assert message.value.shape == generic.shape
    np.testing.assert_array_equal(message.value, generic)


@given(arrays)
def test_tensor_encoding_equals_protobuf_serialization(array: np.ndarray) -> None:
    expected = pb.Tensor(shape=list(array.shape), values=array.ravel().tolist())
    assert encode_tensor(array) == expected.SerializeToString()
    out = proto_codec.encode(Message("data", array, [], "tensor", {}, array))
    assert out.data.tensor.SerializeToString() == expected.SerializeToString()


@given(hnp.arrays(np.int64, shapes, elements=st.integers(-(2**53), 2**53)))
def test_int_results_become_doubles_in_a_tensor(array: np.ndarray) -> None:
    out = proto_codec.encode(Message("data", array, [], "tensor", {}, array))
    assert list(out.data.tensor.values) == [float(v) for v in array.ravel().tolist()]


@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3), elements=st.floats()))
def test_ndarray_fast_path_equals_generic_path(array: np.ndarray) -> None:
    generic = struct_pb2.ListValue()
    generic.extend(array.tolist())
    out = proto_codec.encode(Message("data", array, [], "ndarray", {}, array))
    assert out.data.ndarray.SerializeToString() == generic.SerializeToString()
    decoded = proto_codec.decode(out)
    assert decoded.encoding == "ndarray"
    np.testing.assert_array_equal(decoded.value, array)
    if np.isfinite(array).all():  # protobuf's JSON form spells NaN/Infinity as strings
        via_dict = np.array(json_format.MessageToDict(generic), dtype=np.float64)
        np.testing.assert_array_equal(decoded.value, via_dict)


@pytest.mark.parametrize(
    "values", [["a", "b"], [[True, False]], [[1, "a"]], [], [[]], [[1.5, 2.0], [3.0, 4.0]]]
)
def test_ndarray_generic_values_round_trip(values: list[object]) -> None:
    request = pb.SeldonMessage()
    request.data.ndarray.SetInParent()
    request.data.ndarray.extend(values)
    message = proto_codec.decode(request)
    # numbers arrive as doubles on gRPC, then numpy's own inference
    expected = np.array(json_format.MessageToDict(request.data.ndarray))
    assert message.value.tolist() == expected.tolist()
    out = proto_codec.encode(Message("data", message.value, [], "ndarray", {}, message.value))
    assert json_format.MessageToDict(out.data.ndarray) == expected.tolist()


@pytest.mark.parametrize(
    ("shape", "values"),
    [([3], [1.0, 2.0]), ([1], [1.0, 2.0]), ([-1], [1.0]), ([2, -2], [1.0] * 4), ([0], [1.0])],
)
def test_tensor_that_does_not_fit_is_bad_data(shape: list[int], values: list[float]) -> None:
    with pytest.raises(BadDataError, match="Invalid tensor"):
        proto_codec.decode(tensor_message(shape, values))


def test_decode_each_kind_and_meta() -> None:
    meta = pb.Meta(puid="p", tags={"a": struct_pb2.Value(number_value=1)})
    json_value = struct_pb2.Value()
    json_value.struct_value.update({"n": 1})
    custom = any_pb2.Any()
    custom.Pack(pb.Status(code=7))
    cases = [
        (pb.SeldonMessage(strData="s", meta=meta), "strData", "s"),
        (pb.SeldonMessage(binData=b"\x00\x01", meta=meta), "binData", b"\x00\x01"),
        (pb.SeldonMessage(jsonData=json_value, meta=meta), "jsonData", {"n": 1.0}),
        (pb.SeldonMessage(customData=custom, meta=meta), "customData", custom),
    ]
    for request, kind, value in cases:
        message = proto_codec.decode(request)
        assert (message.kind, message.value) == (kind, value)
        assert message.meta == {"puid": "p", "tags": {"a": 1.0}}


def test_decode_without_payload_is_bad_data() -> None:
    with pytest.raises(BadDataError, match="Unknown data in SeldonMessage"):
        proto_codec.decode(pb.SeldonMessage(meta=pb.Meta(puid="x")))


def test_decode_default_data_without_encoding_is_empty() -> None:
    request = pb.SeldonMessage(data=pb.DefaultData(names=["a"]))
    message = proto_codec.decode(request)
    assert message.encoding is None and message.value.shape == (0,) and message.names == ["a"]


def test_encode_each_kind_always_carries_meta() -> None:
    assert proto_codec.encode(Message("strData", "s")).HasField("meta")
    assert proto_codec.encode(Message("binData", b"b")).binData == b"b"
    out = proto_codec.encode(Message("jsonData", {"a": [1, "x"]}, meta={"puid": "p"}))
    assert json_format.MessageToDict(out) == {"meta": {"puid": "p"}, "jsonData": {"a": [1.0, "x"]}}
    custom = any_pb2.Any(type_url="x/y", value=b"z")
    assert proto_codec.encode(Message("customData", custom)).customData == custom


def test_encode_bad_user_json_data_is_bad_data() -> None:
    with pytest.raises(BadDataError):
        proto_codec.encode(Message("jsonData", {"a": object()}))


def test_take_raw_metrics_from_dict_and_proto() -> None:
    metric = {"key": "k", "type": "GAUGE", "value": 2}
    kept = {"meta": {"metrics": [metric]}}
    assert proto_codec.take_raw_metrics(kept, keep=True) == [metric]
    assert kept == {"meta": {"metrics": [metric]}}
    dropped = {"meta": {"metrics": [metric]}}
    assert proto_codec.take_raw_metrics(dropped, keep=False) == [metric]
    assert dropped == {"meta": {}}
    message = pb.SeldonMessage()
    message.meta.metrics.add(key="k", type=pb.Metric.GAUGE, value=2)
    assert proto_codec.take_raw_metrics(message, keep=False) == [metric]
    assert not message.meta.metrics
    assert proto_codec.take_raw_metrics({"meta": "x"}, keep=False) == []
    assert proto_codec.take_raw_metrics(b"bytes", keep=False) == []
