"""SeldonMessage bytes read and written without protobuf objects equal the protobuf path.

The byte-level reader may decline any message (None: protobuf takes over), but whatever it
accepts must decode exactly as protobuf would, and it must accept the common layouts.
"""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np
import pytest
from google.protobuf import json_format
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from protobuf_oracle import plain

from seldon_server.codecs import proto as proto_codec
from seldon_server.codecs import seldon_bytes
from seldon_server.codecs.message import Message
from seldon_server.codecs.wire import MAX_NDARRAY_DIMS, decode_tensor, read_varint, varint
from seldon_server.errors import BadDataError
from seldon_server.proto import prediction_pb2 as pb

names = st.lists(st.text(max_size=6), max_size=4)
metas = st.one_of(
    st.none(),
    st.just({}),
    st.fixed_dictionaries(
        {},
        optional={
            "puid": st.text(min_size=1, max_size=8),
            "tags": st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2),
            "requestPath": st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2),
            "routing": st.dictionaries(st.text(max_size=4), st.integers(-5, 5), max_size=2),
        },
    ),
)
numbers = st.floats(width=64) | st.integers(-(2**63), 2**63)  # NaN, inf, ints past 2**53
cells = numbers | st.text(max_size=3) | st.booleans() | st.none()
# Every reader branch: flat (struct, numpy), 2-D (row loop, matrix), deeper (row loop).
regular_shapes = st.one_of(
    hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5),
    st.tuples(st.integers(60, 200)),
    st.tuples(st.integers(1, 30), st.integers(1, 30)),
    st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 40)),
    st.sampled_from([(65,), (1, 65), (100, 100), (2, 2, 2, 2, 2, 2, 2)]),
)
regular = hnp.arrays(np.float64, regular_shapes, elements=numbers).map(lambda a: a.tolist())
nested = st.recursive(st.lists(cells, max_size=4), lambda inner: st.lists(inner, max_size=3))
ndarrays = regular | nested
tensors = st.tuples(
    st.lists(st.integers(-2, 4), max_size=3), st.lists(st.floats(width=64), max_size=12)
) | st.integers(65, 300).map(lambda size: ([size], np.linspace(-1e300, 1e300, size).tolist()))


def build(meta: Any, names: list[str], payload: tuple[str, Any]) -> pb.SeldonMessage:
    message = pb.SeldonMessage()
    if meta is not None:
        json_format.ParseDict(meta, message.meta)
        message.meta.SetInParent()
    kind, value = payload
    message.data.names.extend(names)
    if kind == "ndarray":
        message.data.ndarray.SetInParent()
        message.data.ndarray.extend(value)
    else:
        shape, values = value
        message.data.tensor.shape.extend(shape)
        message.data.tensor.values.extend(values)
    return message


def generic(data: bytes) -> Message | Exception:
    """The request as plain protobuf and numpy read it: the oracle shares no code under test."""
    try:
        message = pb.SeldonMessage.FromString(data)
        meta = json_format.MessageToDict(message.meta) if message.HasField("meta") else {}
        kind = message.data.WhichOneof("data_oneof")
        if kind == "ndarray":
            array = np.array(plain(message.data.ndarray))
        else:
            tensor = message.data.tensor
            array = np.array(list(tensor.values), dtype=np.float64).reshape(list(tensor.shape))
    except Exception as exc:  # DecodeError, json_format.Error, numpy's ValueError
        return exc
    return Message("data", array, list(message.data.names), kind, meta)  # type: ignore[arg-type]


def assert_same(fast: Message, slow: Message | Exception) -> None:
    assert isinstance(slow, Message), f"accepted what protobuf decoding rejects: {slow}"
    assert (fast.kind, fast.names, fast.encoding, fast.meta) == (
        slow.kind,
        slow.names,
        slow.encoding,
        slow.meta,
    )
    assert fast.value.dtype == slow.value.dtype
    assert fast.value.shape == slow.value.shape
    np.testing.assert_array_equal(fast.value, slow.value)  # NaN equals NaN here


payloads = st.one_of(st.tuples(st.just("ndarray"), ndarrays), st.tuples(st.just("tensor"), tensors))


@settings(max_examples=400)
@given(metas, names, payloads)
def test_whatever_the_reader_accepts_decodes_as_protobuf_does(
    meta: Any, names: list[str], payload: tuple[str, Any]
) -> None:
    data = build(meta, names, payload).SerializeToString()
    fast = seldon_bytes.read_request(data)
    if fast is not None:
        assert_same(fast, generic(data))


@given(metas, names, regular)
def test_numeric_ndarrays_are_read_without_protobuf(
    meta: Any, names: list[str], rows: list[Any]
) -> None:
    data = build(meta, names, ("ndarray", rows)).SerializeToString()
    fast = seldon_bytes.read_request(data)
    assert fast is not None
    assert_same(fast, generic(data))


@given(metas, names, hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=9), st.data())
def test_consistent_tensors_are_read_without_protobuf(
    meta: Any, names: list[str], shape: tuple[int, ...], data: st.DataObject
) -> None:
    values = data.draw(st.lists(st.floats(width=64), min_size=math.prod(shape)))
    values = values[: math.prod(shape)]
    serialized = build(meta, names, ("tensor", (list(shape), values))).SerializeToString()
    fast = seldon_bytes.read_request(serialized)
    assert fast is not None and fast.encoding == "tensor"
    assert_same(fast, generic(serialized))


def test_mutated_bytes_are_never_misread() -> None:
    """Truncations and byte flips of real requests: accepted only if protobuf reads the same."""
    rng = random.Random(7)
    seeds = [
        build({"puid": "p", "tags": {"a": "b"}}, ["x", "y"], ("ndarray", [[1.0, 2.5]])),
        build(None, ["a"], ("tensor", ([2, 2], [1.0, 2.0, 3.0, 4.0]))),
        build({}, [], ("ndarray", [[[1.0], [2.0]], [[3.0], [4.0]]])),
        build(None, [], ("ndarray", list(np.arange(200.0).reshape(20, 10).tolist()))),
    ]
    accepted = 0
    for seed in seeds:
        original = seed.SerializeToString()
        for _ in range(1500):
            data = bytearray(original)
            if rng.random() < 0.3:
                del data[rng.randrange(len(data)) :]
            for _ in range(rng.randint(1, 3)):
                if data:
                    data[rng.randrange(len(data))] = rng.randrange(256)
            fast = seldon_bytes.read_request(bytes(data))
            if fast is None:
                continue
            accepted += 1
            try:
                slow = generic(bytes(data))
            except Exception as exc:  # protobuf's DecodeError
                pytest.fail(f"read bytes protobuf rejects ({exc}): {bytes(data).hex()}")
            assert_same(fast, slow)
    assert accepted > 100  # flips inside the numbers keep the layout: the check did run


def field(tag: int, payload: bytes) -> bytes:
    return bytes((tag,)) + varint(len(payload)) + payload


NDARRAY = json_format.ParseDict([[1.0, 2.0]], pb.DefaultData().ndarray).SerializeToString()


@pytest.mark.parametrize(
    "data",
    [
        # names after the payload: valid protobuf, not the canonical order
        field(0x1A, field(0x1A, NDARRAY) + field(0x0A, b"n")),
        # meta after data
        field(0x1A, field(0x1A, NDARRAY)) + field(0x12, field(0x0A, b"puid")),
        # the data field twice (protobuf merges them)
        field(0x1A, field(0x0A, b"a")) + field(0x1A, field(0x1A, NDARRAY)),
        # an unknown field after the data
        field(0x1A, field(0x1A, NDARRAY)) + b"\x48\x01",
        # status set
        field(0x0A, b"\x08\x01") + field(0x1A, field(0x1A, NDARRAY)),
    ],
    ids=["names-last", "meta-last", "data-twice", "unknown-field", "status"],
)
def test_other_layouts_go_to_protobuf_and_decode_the_same(data: bytes) -> None:
    assert seldon_bytes.read_request(data) is None
    request = proto_codec.SerializedRequest(data)
    assert request.check() is None
    slow = generic(data)
    assert isinstance(slow, Message)
    assert_same(request.decoded(), slow)
    assert request.message() == pb.SeldonMessage.FromString(data)


def test_undecodable_bytes_report_protobuf_error() -> None:
    request = proto_codec.SerializedRequest(b"\x1a\x05\x0a")
    assert request.check()


def test_raw_hooks_get_the_parsed_message_even_after_the_fast_read() -> None:
    data = build({"puid": "p"}, ["a"], ("ndarray", [[1.0]])).SerializeToString()
    request = proto_codec.SerializedRequest(data)
    assert request.check() is None
    assert proto_codec.GrpcCodec.native(request) == pb.SeldonMessage.FromString(data)


@pytest.mark.parametrize("shape", [[-1, 2], [2**31, 1], [2, 3]])
def test_tensors_protobuf_must_judge_are_declined(shape: list[int]) -> None:
    tensor = pb.Tensor(values=[1.0, 2.0])
    serialized = tensor.SerializeToString()
    shape_bytes = b"".join(varint(dim % 2**64) for dim in shape)
    assert decode_tensor(field(0x0A, shape_bytes) + serialized) is None


def test_overlong_varints_are_declined_as_protobuf_rejects_them() -> None:
    """11 bytes encoding the dimension 2: protobuf refuses the message, so must the reader."""
    overlong_two = b"\x82" + b"\x80" * 9 + b"\x00"
    tensor = field(0x0A, overlong_two) + field(0x12, np.array([1.0, 2.0]).tobytes())
    data = field(0x1A, field(0x12, tensor))
    with pytest.raises(Exception, match="pars"):
        pb.SeldonMessage.FromString(data)
    assert read_varint(overlong_two, 0, len(overlong_two)) is None
    assert seldon_bytes.read_request(data) is None


@given(st.integers(0, 2**64 - 1))
def test_varint_round_trips_and_matches_protobuf(value: int) -> None:
    encoded = varint(value)
    assert read_varint(encoded, 0, len(encoded)) == (value, len(encoded))
    assert read_varint(encoded, 0, len(encoded) - 1) is None  # cut short
    assert (
        pb.Meta(routing={"k": value % 2**31})
        .SerializeToString()
        .endswith(b"\x10" + varint(value % 2**31))
    )


reply_metas = st.one_of(
    st.just({}),
    st.fixed_dictionaries(
        {},
        optional={
            "puid": st.text(min_size=1, max_size=8),
            "requestPath": st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
            "tags": st.dictionaries(st.text(max_size=4), st.integers(0, 9), max_size=2),
            "metrics": st.just([{"key": "k", "type": "GAUGE", "value": 2}]),
        },
    ),
)


@given(
    hnp.arrays(
        st.sampled_from([np.float64, np.int64, np.float32]),
        hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=9),
    ),
    st.sampled_from(["ndarray", "tensor"]),
    reply_metas,
    names,
)
def test_replies_written_directly_equal_protobuf_serialization(
    array: np.ndarray, encoding: str, meta: dict[str, Any], column_names: list[str]
) -> None:
    msg = Message("data", array, column_names, encoding, meta, array)  # type: ignore[arg-type]
    written = seldon_bytes.write_reply(msg)
    assert written is not None
    expected = proto_codec.encode(msg)
    assert pb.SeldonMessage.FromString(written) == expected
    if len(meta.get("requestPath", {})) < 2 and "tags" not in meta:  # map order is free
        assert written == expected.SerializeToString()


def test_replies_that_are_not_numeric_data_are_left_to_protobuf() -> None:
    strings = np.array([["a"]])
    assert seldon_bytes.write_reply(Message("strData", "x")) is None
    assert seldon_bytes.write_reply(Message("data", strings, [], "ndarray", {}, strings)) is None
    empty = np.zeros((0, 2))
    assert seldon_bytes.write_reply(Message("data", empty, [], "tensor", {}, empty)) is None


def test_invalid_reply_meta_is_bad_data() -> None:
    array = np.ones((1, 1))
    msg = Message("data", array, [], "ndarray", {"tags": {"a": object()}}, array)
    assert seldon_bytes.write_reply(msg) is None  # protobuf's encoder reports it
    with pytest.raises(BadDataError, match="Invalid meta in response"):
        proto_codec.encode_bytes(msg)


# -- regressions from an adversarial review: what protobuf rejects, the reader must decline ------


def struct_nan() -> bytes:
    return np.array([np.nan], dtype="<f8").tobytes()


def nested_number(depth: int) -> bytes:
    """A ListValue holding one number inside `depth` levels of lists."""
    inner = b"\x0a\x09\x11" + bytes(8)
    for _ in range(depth - 1):
        inner = field(0x0A, field(0x32, inner))
    return inner


@pytest.mark.parametrize(
    "data",
    [
        # the data length written in 6 bytes (protobuf reads lengths of at most 5)
        bytes.fromhex("1a8d80808080001a0b0a0911000000000000f03f"),
        # an ndarray 50 lists deep: numpy holds it, protobuf's depth limit does not
        field(0x1A, field(0x1A, nested_number(50))),
        # meta.tags nested 49 deep: within the limit alone, beyond it inside the SeldonMessage
        field(0x12, field(0x12, field(0x0A, b"a") + field(0x12, field(0x32, nested_number(49)))))
        + field(0x1A, field(0x1A, nested_number(1))),
    ],
    ids=["6-byte-length", "ndarray-depth-50", "meta-depth"],
)
def test_bytes_protobuf_rejects_are_declined(data: bytes) -> None:
    with pytest.raises(Exception, match="(?i)corrupt|depth|pars"):
        pb.SeldonMessage.FromString(data)
    assert seldon_bytes.read_request(data) is None
    assert proto_codec.SerializedRequest(data).check()


@pytest.mark.parametrize(
    "data",
    [
        # a NaN tag: protobuf reads it, JSON cannot hold it
        field(0x12, field(0x12, field(0x0A, b"a") + field(0x12, b"\x11" + struct_nan())))
        + field(0x1A, field(0x1A, nested_number(1))),
        # a tensor of 65 dimensions, one more than numpy holds
        field(0x1A, field(0x12, field(0x0A, b"\x01" * 65) + field(0x12, bytes(8)))),
    ],
    ids=["nan-tag", "65-dims"],
)
def test_what_decoding_rejects_is_bad_data_not_a_crash(data: bytes) -> None:
    assert seldon_bytes.read_request(data) is None
    request = proto_codec.SerializedRequest(data)
    assert request.check() is None  # valid protobuf
    with pytest.raises(BadDataError):
        request.decoded()


@pytest.mark.parametrize(
    ("names", "expected"),
    [([1], ["1"]), ([True], ["True"]), ([0.0], ["0.0"]), ([False], ["False"]), ([b"ab"], ["ab"])],
)
def test_names_that_are_not_str_are_left_to_protobuf(names: list[Any], expected: list[str]) -> None:
    """1 == True == 1.0 as dict keys: a cache keyed on the names must not mix them up."""
    array = np.ones((1, 1))
    for earlier in ([1], [0.0], ["1"]):  # fill the cache with look-alikes first
        seldon_bytes.write_reply(Message("data", array, earlier, "ndarray", {}, array))
    odd = Message("data", array, names, "ndarray", {}, array)
    assert seldon_bytes.write_reply(odd) is None
    assert list(pb.SeldonMessage.FromString(proto_codec.encode_bytes(odd)).data.names) == expected


def test_meta_presence_is_the_same_on_both_paths() -> None:
    array = np.ones((1, 1))
    msg = Message("data", array, [], "ndarray", {"unknownKey": 1}, array)
    written = seldon_bytes.write_reply(msg)
    assert written is not None
    assert pb.SeldonMessage.FromString(written) == proto_codec.encode(msg)
    assert proto_codec.encode(msg).HasField("meta")


@pytest.mark.parametrize(
    "array",
    [np.array(3.0), np.array([1, 2], dtype="m8[s]"), np.ones((1, 2))],
    ids=["0-d", "timedelta", "numbers"],
)
def test_a_bad_meta_is_bad_data_whatever_the_payload(array: np.ndarray) -> None:
    msg = Message("data", array, [], "ndarray", {"tags": ""}, array)
    with pytest.raises(BadDataError, match="Invalid meta in response"):
        proto_codec.encode_bytes(msg)


def test_a_scalar_array_reply_is_a_one_item_list() -> None:
    array = np.array(3.0)
    msg = Message("data", array, [], "ndarray", {}, array)
    assert seldon_bytes.write_reply(msg) is None
    assert list(proto_codec.encode(msg).data.ndarray) == [3.0]


def test_a_tensor_with_an_unknown_field_decodes_its_own_values() -> None:
    """The protobuf path once read the values from the serialized tail, unknown fields included."""
    message = pb.SeldonMessage()
    message.data.tensor.MergeFromString(pb.Tensor(shape=[2], values=[1.0, 2.0]).SerializeToString())
    message.data.tensor.MergeFromString(b"\x28\x01")  # field 5, unknown to seldon's Tensor
    assert proto_codec.decode(message).value.tolist() == [1.0, 2.0]


def test_the_ndarray_dimension_limit_is_protobufs() -> None:
    """MAX_NDARRAY_DIMS nested lists parse inside a SeldonMessage; one more does not."""
    for dims, parses in ((MAX_NDARRAY_DIMS, True), (MAX_NDARRAY_DIMS + 1, False)):
        data = field(0x1A, field(0x1A, nested_number(dims)))
        try:
            pb.SeldonMessage.FromString(data)
        except Exception:  # protobuf's DecodeError
            assert not parses
        else:
            assert parses
