"""Meta written directly equals protobuf's JSON mapping of the same dict, or is left to it."""

from __future__ import annotations

import math
from typing import Any

import pytest
from google.protobuf import json_format
from hypothesis import given, settings
from hypothesis import strategies as st

from seldon_server.codecs.meta_bytes import meta_bytes
from seldon_server.proto import prediction_pb2 as pb

text = st.text(max_size=6)
scalars = st.one_of(
    text,
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.none(),
    st.lists(st.integers(0, 3), max_size=2),
)
metrics = st.fixed_dictionaries(
    {},
    optional={
        "key": text,
        "type": st.sampled_from(["COUNTER", "GAUGE", "TIMER", "OTHER", 1]),
        "value": st.one_of(st.integers(-(2**130), 2**130), st.floats(), st.booleans()),
        "tags": st.dictionaries(text, st.one_of(text, st.integers()), max_size=2),
        "extra": st.just(1),
    },
)
metas = st.fixed_dictionaries(
    {},
    optional={
        "puid": st.one_of(text, st.none(), st.integers()),
        "tags": st.dictionaries(text, scalars, max_size=3),
        "requestPath": st.dictionaries(text, st.one_of(text, st.integers()), max_size=3),
        "metrics": st.lists(metrics, max_size=3),
        "routing": st.dictionaries(text, st.integers(-3, 3), max_size=1),
    },
)


def parse_dict(meta: dict[str, Any]) -> pb.Meta | Exception:
    out = pb.Meta()
    try:
        json_format.ParseDict(meta, out, ignore_unknown_fields=True)
    except Exception as exc:
        return exc
    return out


@settings(max_examples=500)
@given(metas)
def test_direct_meta_parses_to_what_protobuf_builds(meta: dict[str, Any]) -> None:
    written = meta_bytes(meta)
    if written is None:
        return
    expected = parse_dict(meta)
    assert isinstance(expected, pb.Meta), f"wrote what protobuf rejects: {expected}"
    assert pb.Meta.FromString(written) == expected


def test_common_metas_are_written_directly() -> None:
    """What dispatch builds for a deployed unit, a batch run and a model with metrics."""
    meta = {
        "puid": "abc",
        "tags": {"batch_id": "b1", "batch_index": 3, "ok": True, "score": 0.5},
        "requestPath": {"model": "org/image:1.0"},
        "metrics": [
            {"key": "mycounter", "type": "COUNTER", "value": 1},
            {"key": "mygauge", "type": "GAUGE", "value": 100, "tags": {"a": "b"}},
            {"key": "mytimer", "type": "TIMER", "value": 20.2},
        ],
    }
    written = meta_bytes(meta)
    assert written is not None
    assert pb.Meta.FromString(written) == parse_dict(meta)


@pytest.mark.parametrize(
    "meta",
    [
        {"tags": {"a": {"nested": 1}}},
        {"tags": {"a": None}},
        {"tags": {"a": math.nan}},
        {"routing": {"a": 1}},
        {"metrics": [{"key": "k", "value": 1e39}]},
        {"metrics": [{"key": "k", "type": "HISTOGRAM", "value": 1}]},
        {"requestPath": {"a": 1}},
        {"puid": 5},
    ],
)
def test_everything_else_is_left_to_protobuf(meta: dict[str, Any]) -> None:
    assert meta_bytes(meta) is None
