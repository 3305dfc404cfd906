"""Every service type over REST, byte for byte, and JSON number types kept through the server."""

from __future__ import annotations

import json
from typing import Any

import models
import pytest
from hypothesis import given
from hypothesis import strategies as st

from seldon_server.dispatch import DispatchConfig

NDARRAY_12 = {"data": {"ndarray": [[1, 2]]}}


def test_model(rest: Any) -> None:
    model = models.TagsAndMetrics(runtime_tags={"c": "runtime"})
    body = {"data": {"ndarray": [[1, 2]]}, "meta": {"puid": "abc", "tags": {"a": 1, "b": 1}}}
    response = rest(model).post("/predict", json=body)
    assert response.data == (
        b'{"data":{"names":["t:0","t:1"],"ndarray":[[1,2]]},"meta":{"metrics":['
        b'{"key":"mycounter","type":"COUNTER","value":1},{"key":"mygauge","type":"GAUGE","value":100},'
        b'{"key":"runtime_timer","type":"TIMER","value":2.5}],"puid":"abc",'
        b'"tags":{"a":1,"b":"model","c":"runtime","n":1}}}\n'
    )


def test_model_without_metrics_in_the_response(rest: Any) -> None:
    config = DispatchConfig(include_metrics_in_client_response=False)
    metric = {"key": "up", "type": "GAUGE", "value": 1}
    body = {"strData": "x", "meta": {"metrics": [metric]}}
    response = rest(models.TagsAndMetrics(), config).post("/predict", json=body)
    assert response.data == (
        b'{"meta":{"metrics":[{"key":"up","type":"GAUGE","value":1}],'
        b'"tags":{"b":"model","c":"model","n":1}},"strData":"x"}\n'
    )


def test_router(rest: Any) -> None:
    model = models.Router()
    response = rest(model).post(
        "/route", json={**NDARRAY_12, "meta": {"puid": "p", "tags": {"dropped": 1}}}
    )
    assert response.data == b'{"data":{"names":["t:0"],"ndarray":[[22]]},"meta":{"puid":"p"}}\n'
    assert model.calls["route"][0][2] == {"puid": "p", "tags": {"dropped": 1}}
    response = rest(model).post(
        "/route", json={"data": {"tensor": {"shape": [2], "values": [1, 2]}}}
    )
    assert (
        response.data
        == b'{"data":{"names":["t:0"],"tensor":{"shape":[1,1],"values":[22]}},"meta":{}}\n'
    )


def test_router_without_meta_and_bad_route(rest: Any) -> None:
    response = rest(models.RouterNoMeta()).post("/route", json=NDARRAY_12)
    assert (
        response.data
        == b'{"data":{"names":["t:0"],"ndarray":[[1]]},"meta":{"tags":{"routed":true}}}\n'
    )
    response = rest(models.Router(1.5)).post("/route", json=NDARRAY_12)
    assert response.status_code == 400
    assert response.json["status"]["info"] == "Routing response must be int but got 1.5"


def test_transformer(rest: Any) -> None:
    client = rest(models.Transformer())
    response = client.post("/transform-input", json={**NDARRAY_12, "meta": {"tags": {"t": "v"}}})
    assert (
        response.data
        == b'{"data":{"names":["t:0","t:1"],"ndarray":[[2,4]]},"meta":{"tags":{"t":"v"}}}\n'
    )


def test_output_transformer(rest: Any) -> None:
    client = rest(models.Transformer())
    response = client.post(
        "/transform-output", json={"data": {"tensor": {"shape": [1, 2], "values": [1.5, 2]}}}
    )
    assert response.data == (
        b'{"data":{"names":["t:0","t:1"],"tensor":{"shape":[1,2],"values":[2.5,3.0]}},"meta":{}}\n'
    )


def test_outlier_detector(rest: Any) -> None:
    response = rest(models.OutlierDetector()).post(
        "/transform-input", json={"data": {"ndarray": [[1, 20]]}}
    )
    assert response.data == (
        b'{"data":{"names":["t:0","t:1"],"ndarray":[[1,20]]},'
        b'"meta":{"tags":{"isOutlier":true,"outlierScore":20.0}}}\n'
    )


COMBINER_INPUTS = [
    {
        "data": {"ndarray": [[1, 2]]},
        "meta": {"puid": "first", "tags": {"x": 1}, "requestPath": {"a": "ia"}},
    },
    {
        "data": {"ndarray": [[3, 4]]},
        "meta": {"puid": "second", "tags": {"x": 2, "y": 2}, "requestPath": {"b": "ib"}},
    },
]
COMBINED = (
    b'{"data":{"names":["t:0","t:1"],"ndarray":[[2.0,3.0]]},"meta":{"puid":"first",'
    b'"requestPath":{"a":"ia","b":"ib"},"tags":{"combiner":"mean","x":2,"y":2}}}\n'
)


def test_combiner_list_form(rest: Any) -> None:
    assert rest(models.Combiner()).post("/aggregate", json=COMBINER_INPUTS).data == COMBINED


def test_combiner_seldon_messages_form(rest: Any) -> None:
    response = rest(models.Combiner()).post("/aggregate", json={"seldonMessages": COMBINER_INPUTS})
    assert response.data == COMBINED


def test_combiner_invalid_message_is_400(rest: Any) -> None:
    inputs = [{"data": {"ndarray": [[1, 2]]}}, {"data": {"ndarray": [[1, 2], [3]]}}]
    response = rest(models.Combiner()).post("/aggregate", json=inputs)
    assert response.status_code == 400
    assert response.json["status"]["reason"] == "MICROSERVICE_BAD_DATA"


def test_combiner_str_and_bin_data(rest: Any) -> None:
    client = rest(models.CombinerFirst())
    assert (
        client.post("/aggregate", json=[{"strData": "a"}, {"strData": "b"}]).data
        == b'{"meta":{},"strData":"a"}\n'
    )
    assert (
        client.post("/aggregate", json=[{"binData": "YQ=="}]).data
        == b'{"binData":"YQ==","meta":{}}\n'
    )


@pytest.mark.parametrize("body", [{"seldonMessages": {"strData": "x"}}, {"strData": "x"}, "x", []])
def test_combiner_bad_request_is_400(rest: Any, body: Any) -> None:
    response = rest(models.Combiner()).post("/aggregate", json=body)
    assert response.status_code == 400
    assert response.json["status"]["reason"] == "MICROSERVICE_BAD_DATA"


def test_component_fall_through_over_rest(rest: Any) -> None:
    client = rest(models.EmptyComponent())
    assert (
        client.post("/predict", json=NDARRAY_12).data
        == b'{"data":{"names":[],"ndarray":[]},"meta":{}}\n'
    )
    assert client.post("/transform-input", json=NDARRAY_12).data == (
        b'{"data":{"names":["t:0","t:1"],"ndarray":[[1,2]]},"meta":{}}\n'
    )
    response = client.post("/route", json=NDARRAY_12)
    assert response.status_code == 400
    assert response.json["status"]["info"] == "route is not implemented"


# -- JSON number types through the whole REST path --------------------------------------------

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
FLOAT = st.floats(allow_nan=False, allow_infinity=False)


@st.composite
def matrices(draw: st.DrawFn, element: st.SearchStrategy[Any]) -> list[list[Any]]:
    rows, cols = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    return [[draw(element) for _ in range(cols)] for _ in range(rows)]


def names_for(rows: list[list[Any]]) -> list[str]:
    return [f"t:{i}" for i in range(len(rows[0]))]


@given(matrices(INT64) | matrices(FLOAT))
def test_ndarray_identity_is_exact(rest: Any, rows: list[list[Any]]) -> None:
    response = rest(models.Identity()).post("/predict", json={"data": {"ndarray": rows}})
    expected = {"data": {"names": names_for(rows), "ndarray": rows}, "meta": {}}
    assert (
        response.data
        == (json.dumps(expected, sort_keys=True, separators=(",", ":")) + "\n").encode()
    )


@given(st.lists(INT64, min_size=1, max_size=8) | st.lists(FLOAT, min_size=1, max_size=8))
def test_tensor_identity_keeps_value_types(rest: Any, values: list[Any]) -> None:
    body = {"data": {"tensor": {"shape": [1, len(values)], "values": values}}}
    response = rest(models.Identity()).post("/predict", json=body)
    expected = {
        "data": {
            "names": names_for([values]),
            "tensor": {"shape": [1, len(values)], "values": values},
        },
        "meta": {},
    }
    assert (
        response.data
        == (json.dumps(expected, sort_keys=True, separators=(",", ":")) + "\n").encode()
    )
