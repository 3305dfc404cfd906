"""Tests for model metadata: defaults, merging, schema validation and proto conversion."""

from __future__ import annotations

import logging
import subprocess
import sys
from typing import Any

import pytest
from google.protobuf import json_format

from seldon_server.metadata import (
    ModelMetadata,
    build_metadata,
    metadata_to_proto,
    split_image,
    validation_error,
)
from seldon_server.proto import prediction_pb2

EMPTY = {"name": "", "versions": [""], "platform": "", "inputs": [], "outputs": [], "custom": {}}


def test_defaults_without_image() -> None:
    assert build_metadata(None, "", "") == ModelMetadata(EMPTY, None)


@pytest.mark.parametrize(
    ("image", "name", "version"),
    [
        ("seldonio/mock:1.0", "seldonio/mock", "1.0"),
        ("host:5000/team/img:2.1", "host:5000/team/img", "2.1"),
        # Naively at the last ':', as the original (reference cases metadata_image_*): no
        # registry-port or digest handling.
        ("host:5000/img", "host", "5000/img"),
        ("img", "", "img"),
        ("img@sha256:abc", "img@sha256", "abc"),
        ("img:1.0@sha256:abc", "img:1.0@sha256", "abc"),
        ("img:", "img", ""),
        ("", "", ""),
    ],
)
def test_image_split(image: str, name: str, version: str) -> None:
    assert split_image(image) == (name, version)
    value = build_metadata(None, "", image).value
    assert value is not None
    assert (value["name"], value["versions"]) == (name, [version])


def test_init_metadata_overrides_defaults() -> None:
    meta = build_metadata({"name": "mine", "platform": "sklearn"}, "", "img:1")
    assert meta.value == {**EMPTY, "name": "mine", "versions": ["1"], "platform": "sklearn"}


def test_env_overrides_init_shallowly() -> None:
    init = {
        "name": "init",
        "inputs": [{"messagetype": "ndarray"}],
        "custom": {"a": "1", "b": "2"},
    }
    env = '{"name": "env", "custom": {"c": "3"}}'
    value = build_metadata(init, env, "").value
    assert value is not None
    assert value["name"] == "env"
    assert value["custom"] == {"c": "3"}  # replaced, not merged
    assert value["inputs"] == [{"messagetype": "ndarray"}]


def test_model_metadata_yaml() -> None:
    env = (
        "name: my-model\n"
        "versions: [v1]\n"
        "platform: seldon\n"
        "inputs:\n"
        "- name: x\n"
        "  datatype: FP32\n"
        "  shape: [1, 4]\n"
    )
    value = build_metadata(None, env, "").value
    assert value == {
        **EMPTY,
        "name": "my-model",
        "versions": ["v1"],
        "platform": "seldon",
        "inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 4]}],
    }


def test_bad_yaml_is_logged_and_ignored(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="seldon_server.metadata"):
        meta = build_metadata({"name": "init"}, "name: [unclosed", "")
    assert meta.value == {**EMPTY, "name": "init"}
    assert "MODEL_METADATA is not valid YAML" in caplog.text


def test_non_mapping_sources_are_ignored(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="seldon_server.metadata"):
        meta = build_metadata(["not", "a", "dict"], "- a list", "")  # type: ignore[arg-type]
    assert meta.value == EMPTY
    assert "init_metadata() returned list" in caplog.text
    assert "MODEL_METADATA is list" in caplog.text


def _items(item: dict[str, Any]) -> dict[str, Any]:
    return {**EMPTY, "inputs": [item], "outputs": [item]}


ACCEPTED_ITEMS = [
    {"messagetype": "tensor", "schema": {"names": ["a", "b"], "shape": [2, 2]}},
    {"messagetype": "ndarray"},
    {"messagetype": "tftensor", "schema": {}},
    {"messagetype": "jsonData", "schema": {"type": "object", "anything": [1]}},
    {"messagetype": "jsonData"},
    {"messagetype": "strData"},
    {"messagetype": "binData"},
    {"messagetype": "array"},  # custom
    {"messagetype": "custom", "schema": {"x": 1}},
    {"name": "input", "datatype": "BYTES", "shape": [1]},
    {"name": "x"},  # partial V2: accepted, like the original
    {},  # accepted, like the original
]


@pytest.mark.parametrize("item", ACCEPTED_ITEMS)
def test_accepted_items(item: dict[str, Any]) -> None:
    assert validation_error(_items(item)) is None


REJECTED_ITEMS = [
    {"messagetype": "array", "shape": [2, 2]},
    {"messagetype": "tensor", "schema": {"names": ["a"], "dtype": "float"}},
    {"messagetype": "tensor", "schema": {"shape": ["2"]}},
    {"messagetype": "strData", "schema": {}},
    {"messagetype": "binData", "schema": {"type": "string"}},
    {"messagetype": "jsonData", "schema": "not an object"},
    {"name": "x", "datatype": "FP8"},
    {"name": "x", "shape": [1.5]},
    {"name": 3},
    {"messagetype": 7},
]


@pytest.mark.parametrize("item", REJECTED_ITEMS)
def test_rejected_items(item: dict[str, Any]) -> None:
    error = validation_error(_items(item))
    assert error is not None and error.startswith("inputs/0: ")


@pytest.mark.parametrize(
    "overrides",
    [
        {"unknown": 1},
        {"custom": {"a": 1}},
        {"versions": "1.0"},
        {"versions": [1]},
        {"name": 5},
        {"platform": None},
        {"inputs": {"name": "x"}},  # a dict, not a list
    ],
)
def test_rejected_top_level(overrides: dict[str, Any]) -> None:
    assert validation_error({**EMPTY, **overrides}) is not None


def test_invalid_metadata_has_no_value_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="seldon_server.metadata"):
        meta = build_metadata({"versions": "1"}, "", "")
    assert meta.value is None and not meta.valid
    assert meta.error == "versions: '1' is not of type 'array'"
    assert "Model metadata is invalid" in caplog.text


def test_env_can_make_metadata_invalid() -> None:
    meta = build_metadata({"name": "ok"}, "custom: {a: 1}", "")
    assert meta.value is None
    assert meta.error is not None and meta.error.startswith("custom/a: ")


def test_proto_conversion() -> None:
    value = {
        "name": "m",
        "versions": ["1"],
        "platform": "p",
        "inputs": [
            {"messagetype": "jsonData", "schema": {"type": "object", "n": 1}},
            {"name": "t", "datatype": "FP32", "shape": [1, 3]},
        ],
        "outputs": [{"messagetype": "tensor", "schema": {"names": ["a"], "shape": [2]}}],
        "custom": {"k": "v"},
    }
    message = metadata_to_proto(value)
    assert isinstance(message, prediction_pb2.SeldonModelMetadata)
    assert list(message.inputs[1].shape) == [1, 3]
    assert message.custom["k"] == "v"
    as_dict = json_format.MessageToDict(message, preserving_proto_field_name=True)
    assert as_dict["inputs"][1]["shape"] == ["1", "3"]  # int64 is a string in proto-JSON
    assert as_dict["inputs"][0]["schema"] == {"type": "object", "n": 1.0}
    assert as_dict["outputs"][0]["schema"] == {"names": ["a"], "shape": [2.0]}
    assert as_dict["name"] == "m" and as_dict["versions"] == ["1"]


def test_proto_ignores_unknown_fields_and_handles_invalid() -> None:
    assert metadata_to_proto({"name": "m", "extra": 1}).name == "m"
    assert metadata_to_proto(None) == prediction_pb2.SeldonModelMetadata()


def test_importable_without_flask_or_grpc() -> None:
    code = (
        "import sys\n"
        "import seldon_server.metadata as m\n"
        "assert 'jsonschema' not in sys.modules and 'yaml' not in sys.modules\n"
        "m.metadata_to_proto(m.build_metadata(None, 'name: x', 'i:1').value)\n"
        "assert 'flask' not in sys.modules and 'grpc' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
