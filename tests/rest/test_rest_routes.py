"""The REST app via the Flask test client: routes, body parsing, errors, CORS, health, metadata."""

from __future__ import annotations

import io
import json
from typing import Any

import models
import pytest

from seldon_server.dispatch import DispatchConfig
from seldon_server.metadata import build_metadata

JSON = "application/json"
IDENTITY_12 = b'{"data":{"names":["t:0","t:1"],"ndarray":[[1,2]]},"meta":{}}\n'
PREDICT_ROUTES = ["/predict", "/api/v1.0/predictions", "/api/v0.1/predictions"]
FEEDBACK_ROUTES = ["/send-feedback", "/api/v1.0/feedback", "/api/v0.1/feedback"]


def status_body(info: str, reason: str = "MICROSERVICE_BAD_DATA") -> bytes:
    body = {"status": {"code": -1, "info": info, "reason": reason, "status": 1}}
    return (json.dumps(body, sort_keys=True, separators=(",", ":")) + "\n").encode()


@pytest.fixture
def identity(rest: Any) -> Any:
    return rest(models.Identity())


# -- the examples observed on the original server -----------------------------------------------


@pytest.mark.parametrize("path", PREDICT_ROUTES)
def test_predict_routes_post_json(identity: Any, path: str) -> None:
    response = identity.post(path, json={"data": {"ndarray": [[1, 2]]}})
    assert response.status_code == 200
    assert response.content_type == JSON
    assert response.data == IDENTITY_12


def test_floats_stay_floats(identity: Any) -> None:
    response = identity.post("/predict", json={"data": {"ndarray": [[1.0, 2]]}})
    assert response.data == b'{"data":{"names":["t:0","t:1"],"ndarray":[[1.0,2.0]]},"meta":{}}\n'


def test_integers_beyond_64_bits_stay_exact(identity: Any) -> None:
    """As the original's stdlib parser: an id of 26 digits comes back as it went, not 1e+26."""
    body = b'{"jsonData":{"id":99999999999999999999999999,"n":-9223372036854775809}}'
    response = identity.post("/predict", data=body, content_type="application/json")
    assert response.status_code == 200
    assert response.data.startswith(
        b'{"jsonData":{"id":99999999999999999999999999,"n":-9223372036854775809},'
    )


def test_get_predict_with_json_query(identity: Any) -> None:
    query = {"json": '{"strData":"hi","meta":{"puid":"p1","tags":{"a":1}}}'}
    response = identity.get("/predict", query_string=query)
    assert response.data == b'{"meta":{"puid":"p1","tags":{"a":1}},"strData":"hi"}\n'
    response = identity.get("/predict", query_string={"json": '{"data":{"ndarray":[[1.0,2.0]]}}'})
    assert response.data == b'{"data":{"names":["t:0","t:1"],"ndarray":[[1.0,2.0]]},"meta":{}}\n'


def test_post_with_json_form_field(identity: Any) -> None:
    response = identity.post("/predict", data={"json": '{"data":{"ndarray":[[1,2]]}}'})
    assert response.data == IDENTITY_12


def test_post_with_json_query_and_empty_body(identity: Any) -> None:
    response = identity.post(
        "/api/v1.0/predictions", query_string={"json": '{"data":{"ndarray":[[1,2]]}}'}
    )
    assert response.data == IDENTITY_12


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/xml", "application/octet-stream"]
)
def test_json_body_without_a_json_content_type_is_parsed(
    identity: Any, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = identity.post("/predict", data=b'{"data":{"ndarray":[[1,2]]}}', headers=headers)
    assert (response.status_code, response.data) == (200, IDENTITY_12)


def test_tensor_and_tftensor_requests(identity: Any) -> None:
    response = identity.post(
        "/predict", json={"data": {"tensor": {"shape": [2, 1], "values": [1, 2]}}}
    )
    assert (
        response.data
        == b'{"data":{"names":["t:0"],"tensor":{"shape":[2,1],"values":[1,2]}},"meta":{}}\n'
    )
    tftensor = {
        "dtype": "DT_FLOAT",
        "tensorShape": {"dim": [{"size": "1"}, {"size": "2"}]},
        "tensorContent": "AACAPwAAAEA=",
    }
    response = identity.post("/predict", json={"data": {"tftensor": tftensor}})
    assert response.status_code == 200
    assert response.json == {"data": {"names": ["t:0", "t:1"], "tftensor": tftensor}, "meta": {}}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"strData": "hello"}, b'{"meta":{},"strData":"hello"}\n'),
        ({"binData": "AP8="}, b'{"binData":"AP8=","meta":{}}\n'),
        (
            {"jsonData": {"b": [1, 2.5], "a": None}},
            b'{"jsonData":{"a":null,"b":[1,2.5]},"meta":{}}\n',
        ),
    ],
)
def test_payload_kinds_round_trip(identity: Any, body: Any, expected: bytes) -> None:
    assert identity.post("/predict", json=body).data == expected


def test_no_predict_method(rest: Any) -> None:
    response = rest(models.NoPredict()).post("/predict", json={"data": {"ndarray": [[1, 2]]}})
    assert response.data == b'{"data":{"names":[],"ndarray":[]},"meta":{}}\n'


def test_request_path_from_dispatch_config(rest: Any) -> None:
    config = DispatchConfig(
        predictive_unit_id="classifier", predictive_unit_image="seldonio/iris:0.1"
    )
    response = rest(models.Identity(), config).post(
        "/predict", json={"strData": "x", "meta": {"puid": "p"}}
    )
    assert (
        response.data
        == b'{"meta":{"puid":"p","requestPath":{"classifier":"seldonio/iris:0.1"}},"strData":"x"}\n'
    )


# -- feedback ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", FEEDBACK_ROUTES)
def test_feedback_routes(rest: Any, path: str) -> None:
    body = {"request": {"data": {"tensor": {"shape": [1], "values": [1]}}}, "reward": 1}
    response = rest(models.Router()).post(path, json=body)
    assert (response.status_code, response.data) == (
        200,
        b'{"data":{"tensor":{"shape":[0]}},"meta":{}}\n',
    )


def test_get_send_feedback_with_query(rest: Any) -> None:
    query = {"json": '{"request":{"data":{"ndarray":[]}},"reward":1.0}'}
    response = rest(models.Router()).get("/send-feedback", query_string=query)
    assert response.data == b'{"data":{"ndarray":[]},"meta":{}}\n'


def test_feedback_reply_follows_proto_json_rules(rest: Any) -> None:
    body = {"request": {"data": {"ndarray": [[1]]}}, "reward": 1}
    response = rest(models.Feedback()).post("/send-feedback", json=body)
    # COUNTER is the enum default: proto JSON drops it, and the value prints as a float
    assert (
        response.data
        == b'{"data":{"ndarray":[]},"meta":{"metrics":[{"key":"fb_counter","value":1.0}]}}\n'
    )
    response = rest(models.FeedbackNoRouting()).post("/send-feedback", json=body)
    assert response.data == b'{"data":{"ndarray":[1.0,2.0]},"meta":{}}\n'


def test_feedback_with_routing_reaches_the_router(rest: Any) -> None:
    model = models.Router()
    config = DispatchConfig(predictive_unit_id="my-router")
    body = {
        "request": {"data": {"ndarray": [[1]]}},
        "response": {"meta": {"routing": {"my-router": 1}}},
        "reward": 1,
    }
    assert rest(model, config).post("/send-feedback", json=body).status_code == 200
    assert model.calls["send_feedback"][0][4] == 1


@pytest.mark.parametrize(
    "body",
    [
        {"unknown": 1},
        {"reward": "high"},
        {"request": 5},
        [1],
        "x",
        {"request": {"data": {"tensor": {"shape": "x"}}}},
    ],
)
def test_feedback_bad_json(rest: Any, body: Any) -> None:
    response = rest(models.Router()).post("/send-feedback", json=body)
    assert response.status_code == 400
    status = response.json["status"]
    assert status["reason"] == "MICROSERVICE_BAD_DATA" and status["code"] == -1
    assert status["info"].startswith(("Invalid JSON: ", "Invalid request data type: "))


# -- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PREDICT_ROUTES)
@pytest.mark.parametrize("body", [b"not json", b"", b"{", b"null"])
def test_not_json_is_400(identity: Any, path: str, body: bytes) -> None:
    response = identity.post(path, data=body, content_type=JSON)
    assert response.status_code == 400
    assert response.data == status_body("Can't find JSON in data")


def test_get_predict_without_json_is_400(identity: Any) -> None:
    response = identity.get("/predict")
    assert (response.status_code, response.data) == (400, status_body("Can't find JSON in data"))


def test_bad_json_form_field_is_400(identity: Any) -> None:
    response = identity.post("/predict", data={"json": "{not json"})
    assert (response.status_code, response.data) == (400, status_body("Can't find JSON in data"))
    response = identity.get("/predict", query_string={"json": "[1,"})
    assert (response.status_code, response.data) == (400, status_body("Can't find JSON in data"))


@pytest.mark.parametrize(
    ("body", "info"),
    [
        ({"foo": 1}, "Invalid request data type: {'foo': 1}"),
        ([1, 2], "Invalid request data type: [1, 2]"),
        ("text", "Invalid request data type: text"),
    ],
)
def test_invalid_request_data_type(identity: Any, body: Any, info: str) -> None:
    response = identity.post("/predict", json=body)
    assert (response.status_code, response.data) == (400, status_body(info))


@pytest.mark.parametrize(
    "data",
    [
        {"ndarray": [[1], [1, 2]]},
        {"tensor": {"shape": [3], "values": [1, 2]}},
        {"tensor": {"shape": [1], "values": "x"}},
        {"tftensor": {"dtype": "DT_NOPE"}},
    ],
)
def test_client_mistakes_are_400_not_500(identity: Any, data: Any) -> None:
    response = identity.post("/predict", json={"data": data})
    assert response.status_code == 400
    assert response.json["status"]["reason"] == "MICROSERVICE_BAD_DATA"


def test_user_exception_with_status_code(rest: Any) -> None:
    response = rest(models.Denied()).post("/predict", json={"data": {"ndarray": [1]}})
    assert (response.status_code, response.data) == (403, status_body("denied"))


def test_plain_exception_is_500_without_traceback(rest: Any) -> None:
    response = rest(models.Boom()).post("/predict", json={"data": {"ndarray": [1]}})
    assert response.status_code == 500
    assert response.data == status_body("boom", "MICROSERVICE_INTERNAL_ERROR")


def test_type_error_in_user_code_is_500_and_called_once(rest: Any) -> None:
    model = models.TypeErrorWithMeta()
    response = rest(model).post("/predict", json={"data": {"ndarray": [1]}})
    assert response.status_code == 500
    assert response.json["status"]["info"] == "unsupported operand inside the model"
    assert model.count("predict") == 1


def test_bad_metrics_are_500(rest: Any) -> None:
    response = rest(models.BadMetrics([{"key": "a"}])).post(
        "/predict", json={"data": {"ndarray": [1]}}
    )
    assert response.status_code == 500
    assert response.data == status_body(
        'Bad metric created during request: [{"key": "a"}]', "MICROSERVICE_BAD_METRIC"
    )


def test_unknown_return_type_is_400(rest: Any) -> None:
    response = rest(models.Returns(5)).post("/predict", json={"data": {"ndarray": [1]}})
    assert response.status_code == 400
    assert response.data == status_body(
        "Unknown data type returned as payload (must be list or np array):5"
    )


def test_route_and_aggregate_not_defined_are_400(identity: Any) -> None:
    response = identity.post("/route", json={"data": {"ndarray": [1]}})
    assert (response.status_code, response.data) == (400, status_body("Route not defined"))
    response = identity.post("/aggregate", json=[{"data": {"ndarray": [1]}}])
    assert (response.status_code, response.data) == (400, status_body("Aggregate not defined"))


@pytest.mark.parametrize("path", ["/nope", "/api/v2.0/predictions", "/predict/extra", "/v2/models"])
def test_unknown_path_is_404(identity: Any, path: str) -> None:
    for method in ("GET", "POST"):
        response = identity.open(path, method=method)
        assert response.status_code == 404
        assert response.data == status_body(
            "404 Not Found: The requested URL was not found on the server. If you entered the URL "
            "manually please check your spelling and try again."
        )
        assert response.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1.0/predictions"),
        ("PUT", "/predict"),
        ("DELETE", "/route"),
        ("POST", "/health/ping"),
        ("POST", "/metadata"),
    ],
)
def test_wrong_method_is_405(identity: Any, method: str, path: str) -> None:
    response = identity.open(path, method=method)
    assert response.status_code == 405
    assert response.data == status_body(
        "405 Method Not Allowed: The method is not allowed for the requested URL."
    )
    assert "Allow" in response.headers


def test_model_error_handler_blueprint(rest: Any) -> None:
    response = rest(models.WithErrorHandler()).post("/predict", json={"data": {"ndarray": [1]}})
    assert response.status_code == 402
    assert response.data == b'{"status":{"app_code":1402,"message":"my exception","status":402}}\n'


def test_model_not_loaded_is_503(rest: Any, dispatcher: Any) -> None:
    client = rest(dispatcher(models.Identity(), load=False))
    response = client.post("/predict", json={"data": {"ndarray": [1]}})
    assert response.status_code == 503
    assert response.json["status"]["info"] == "Model not ready"
    ready = client.get("/ready")
    assert (ready.status_code, ready.data) == (
        503,
        status_body("Model not ready", "MICROSERVICE_INTERNAL_ERROR"),
    )
    live = client.get("/live")
    assert (live.status_code, live.data) == (200, b'{"status":"alive"}\n')
    assert client.get("/health/ping").data == b"pong"


# -- CORS -------------------------------------------------------------------------------------


PREFLIGHT_METHODS = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"


@pytest.mark.parametrize(
    "path", [*PREDICT_ROUTES, "/send-feedback", "/transform-input", "/route", "/aggregate"]
)
def test_options_preflight(identity: Any, path: str) -> None:
    # flask-cors with its defaults: the Origin echoed (Vary: Origin), every method listed, the
    # requested headers echoed joined with ", ".
    response = identity.options(
        path,
        headers={
            "Origin": "http://example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-foo",
        },
    )
    assert response.status_code == 200
    assert response.data == b""
    assert response.headers["Access-Control-Allow-Origin"] == "http://example.com"
    assert response.headers["Vary"] == "Origin"
    assert response.headers["Access-Control-Allow-Methods"] == PREFLIGHT_METHODS
    assert response.headers["Access-Control-Allow-Headers"] == "content-type, x-foo"


def test_options_preflight_without_origin(identity: Any) -> None:
    response = identity.options(
        "/predict",
        headers={
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type , X-Foo",
        },
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Vary" not in response.headers
    assert response.headers["Access-Control-Allow-Methods"] == PREFLIGHT_METHODS
    assert response.headers["Access-Control-Allow-Headers"] == "Content-Type, X-Foo"


def test_plain_options_is_not_a_preflight(identity: Any) -> None:
    # Without Access-Control-Request-Method there are no preflight headers.
    response = identity.options("/predict", headers={"Origin": "http://example.com"})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "http://example.com"
    assert response.headers["Vary"] == "Origin"
    assert "Access-Control-Allow-Methods" not in response.headers
    assert "Access-Control-Allow-Headers" not in response.headers
    response = identity.options(
        "/predict",
        headers={"Origin": "http://example.com", "Access-Control-Request-Method": "POST"},
    )
    assert response.headers["Access-Control-Allow-Methods"] == PREFLIGHT_METHODS
    assert "Access-Control-Allow-Headers" not in response.headers


# From flask-cors's source (core.get_allow_headers / get_cors_headers), not yet recorded from
# the original server: strict, so they start failing loudly once ours matches.
def test_preflight_allow_headers_are_sorted(identity: Any) -> None:
    response = identity.options(
        "/predict",
        headers={
            "Origin": "http://example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-foo,Content-Type",
        },
    )
    assert response.headers["Access-Control-Allow-Headers"] == "Content-Type, x-foo"


def test_preflight_for_an_unknown_method_lists_nothing(identity: Any) -> None:
    response = identity.options(
        "/predict",
        headers={"Origin": "http://example.com", "Access-Control-Request-Method": "FOO"},
    )
    assert response.headers["Access-Control-Allow-Origin"] == "http://example.com"
    assert "Access-Control-Allow-Methods" not in response.headers


def test_every_response_allows_any_origin(rest: Any) -> None:
    client = rest(models.Boom())
    for response in (
        client.post("/predict", json={"data": {"ndarray": [1]}}),
        client.post("/predict", data=b"x"),
        client.get("/health/ping"),
        client.get("/metadata"),
    ):
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert "Vary" not in response.headers


def test_every_response_echoes_the_origin(rest: Any) -> None:
    client = rest(models.Boom())
    origin = {"Origin": "https://ui.example:8443"}
    for response in (
        client.post("/predict", json={"data": {"ndarray": [1]}}, headers=origin),
        client.post("/predict", data=b"x", headers=origin),
        client.get("/health/ping", headers=origin),
        client.get("/metadata", headers=origin),
        client.get("/no-such-path", headers=origin),
    ):
        assert response.headers["Access-Control-Allow-Origin"] == "https://ui.example:8443"
        assert response.headers["Vary"] == "Origin"
        assert "Access-Control-Allow-Methods" not in response.headers


# -- health, metadata, OpenAPI ----------------------------------------------------------------


def test_health_ping(identity: Any) -> None:
    response = identity.get("/health/ping")
    assert response.status_code == 200
    assert response.data == b"pong"
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"


@pytest.mark.parametrize("path", ["/health/status", "/api/v1.0/health/status"])
@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (
            models.Health([1, 2]),
            b'{"data":{"names":[],"tensor":{"shape":[2],"values":[1,2]}},"meta":{"tags":{"m":1}}}\n',
        ),
        (models.Identity(), b'{"meta":{},"strData":"healthy"}\n'),
        (models.EmptyComponent(), b'{"meta":{},"strData":"not implemented - assuming healthy"}\n'),
        (models.HealthRaw(), b'{"status":"raw ok"}\n'),
    ],
)
def test_health_status(rest: Any, path: str, model: Any, expected: bytes) -> None:
    response = rest(model).get(path)
    assert (response.status_code, response.data) == (200, expected)
    if isinstance(model, models.Health):
        assert model.count("metrics") == 0


@pytest.mark.parametrize("path", ["/metadata", "/api/v1.0/metadata"])
def test_metadata_default(identity: Any, path: str) -> None:
    response = identity.get(path)
    assert response.status_code == 200
    assert (
        response.data
        == b'{"custom":{},"inputs":[],"name":"","outputs":[],"platform":"","versions":[""]}\n'
    )


def test_metadata_from_init_metadata_keeps_ints(rest: Any) -> None:
    model = models.WithMetadata()
    metadata = build_metadata(model.init_metadata(), "", "seldonio/iris:0.1").value
    response = rest(model, metadata=metadata).get("/metadata")
    assert response.data == (
        b'{"custom":{"author":"me"},"inputs":[{"messagetype":"tensor","schema":{"names":["a","b"],'
        b'"shape":[2]}}],"name":"my-model","outputs":[{"datatype":"FP64","name":"out","shape":[1,2]}],'
        b'"platform":"seldon","versions":["v1"]}\n'
    )


def test_invalid_metadata_is_500_and_predict_still_works(rest: Any) -> None:
    client = rest(models.Identity(), metadata=None)
    for path in ("/metadata", "/api/v1.0/metadata"):
        response = client.get(path)
        assert response.status_code == 500
        assert response.data == (
            b'{"status":{"code":-1,"info":"Model metadata unavailable",'
            b'"reason":"MICROSERVICE_BAD_METADATA","status":1}}\n'
        )
    assert client.post("/predict", json={"data": {"ndarray": [[1, 2]]}}).data == IDENTITY_12


def test_openapi_document(identity: Any) -> None:
    response = identity.get("/seldon.json")
    assert response.status_code == 200 and response.content_type == JSON
    document = response.json
    assert document["openapi"].startswith("3.")
    for path in (
        "/predict",
        "/send-feedback",
        "/transform-input",
        "/transform-output",
        "/route",
        "/aggregate",
    ):
        assert "application/json" in document["paths"][path]["post"]["requestBody"]["content"]


def test_live_and_ready(identity: Any) -> None:
    for path, body in (("/live", b'{"status":"alive"}\n'), ("/ready", b'{"status":"ready"}\n')):
        response = identity.get(path)
        assert (response.status_code, response.content_type, response.data) == (200, JSON, body)


# -- multipart --------------------------------------------------------------------------------


def multipart(client: Any, fields: dict[str, Any], path: str = "/predict") -> Any:
    return client.post(path, data=fields, content_type="multipart/form-data")


def test_multipart_str_data_field(identity: Any) -> None:
    response = multipart(identity, {"strData": "plain text, not JSON"})
    assert response.data == b'{"meta":{},"strData":"plain text, not JSON"}\n'


def test_multipart_bin_data_file(identity: Any) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00binary"
    response = multipart(identity, {"binData": (io.BytesIO(png), "test.png")})
    assert response.status_code == 200
    assert response.data == b'{"binData":"iVBORw0KGgoAAGJpbmFyeQ==","meta":{}}\n'


def test_multipart_other_file_as_text(identity: Any) -> None:
    response = multipart(identity, {"strData": (io.BytesIO("héllo file".encode()), "test.txt")})
    assert response.data == b'{"meta":{},"strData":"h\\u00e9llo file"}\n'


def test_multipart_json_fields_and_raw_hook(rest: Any) -> None:
    model = models.RawPredict()
    fields = {
        "data": '{"ndarray":[[1,2]]}',
        "meta": '{"puid":"x"}',
        "binData": (io.BytesIO(b"ab"), "f.bin"),
    }
    response = multipart(rest(model), fields)
    assert response.status_code == 200
    (message,) = model.calls["predict_raw"][0]
    assert message == {"data": {"ndarray": [[1, 2]]}, "meta": {"puid": "x"}, "binData": b"YWI="}
    # bytes from the hook go back base64-encoded, as any binData
    assert response.data == (
        b'{"binData":"WVdJPQ==","data":{"ndarray":[[1,2]]},'
        b'"meta":{"metrics":[{"key":"raw_counter","type":"COUNTER","value":3}]}}\n'
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"meta": "{not json"},
        {"data": "nope"},
        {"strData": (io.BytesIO(b"\xff\xfe\x00"), "bad.txt")},
    ],
)
def test_bad_multipart_is_400(identity: Any, fields: dict[str, Any]) -> None:
    response = multipart(identity, fields)
    assert response.status_code == 400
    assert response.json["status"]["reason"] == "MICROSERVICE_BAD_DATA"


# -- raw hooks, status codes, passthrough -----------------------------------------------------


@pytest.mark.parametrize("path", PREDICT_ROUTES)
def test_status_code_in_a_raw_predict_reply_sets_the_http_status(rest: Any, path: str) -> None:
    response = rest(models.RawStatus()).post(path, json={"strData": "x"})
    assert response.status_code == 400
    assert (
        response.data == b'{"status":{"code":400,"info":"raw says no","reason":"RAW","status":1}}\n'
    )


def test_status_code_only_on_predict_routes(rest: Any) -> None:
    class RawTransform:
        def transform_input_raw(self, msg: Any) -> Any:
            return {"status": {"code": 400}, "strData": "x"}

    response = rest(RawTransform()).post("/transform-input", json={"strData": "x"})
    assert response.status_code == 200
    assert response.data == b'{"status":{"code":400},"strData":"x"}\n'  # passed on as it is


def test_deprecated_rest_hook(rest: Any) -> None:
    response = rest(models.LegacyRest()).post("/predict", json={"strData": "x"})
    assert response.data == b'{"got":{"strData":"x"},"legacy":"rest"}\n'


def test_raw_metrics_stripped_when_not_included(rest: Any) -> None:
    sink = models.RecordingMetrics()
    config = DispatchConfig(include_metrics_in_client_response=False)
    response = rest(models.RawPredict(), config, sink).post("/predict", json={"strData": "x"})
    assert response.data == b'{"meta":{},"strData":"x"}\n'
    assert sink.records == [("predict", [{"key": "raw_counter", "type": "COUNTER", "value": 3}])]


@pytest.mark.parametrize("path", PREDICT_ROUTES)
def test_passthrough_gives_predict_raw_the_body_bytes(rest: Any, path: str) -> None:
    model = models.RawPassthrough()
    client = rest(model, payload_passthrough=True)
    response = client.post(path, data=b"\x00 not json at all", content_type="text/plain")
    assert response.status_code == 200
    assert response.content_type == JSON
    assert response.data == b'{"echo":"\\u0000 not json at all"}'
    assert model.calls["predict_raw"][0][0] == b"\x00 not json at all"


def test_passthrough_json_query_is_a_str_and_multipart_a_dict(rest: Any) -> None:
    model = models.RawPassthrough()
    client = rest(model, payload_passthrough=True)
    response = client.get("/predict", query_string={"json": '{"a":1}'})
    assert response.data == b'{"echo":"{\\"a\\":1}"}'
    assert model.calls["predict_raw"][-1][0] == '{"a":1}'
    response = multipart(client, {"strData": "s"})
    assert response.data == b'{"keys": ["strData"]}'
    assert model.calls["predict_raw"][-1][0] == {"strData": "s"}


def test_passthrough_with_plain_predict_is_400(rest: Any) -> None:
    response = rest(models.Identity(), payload_passthrough=True).post(
        "/predict", data=b'{"strData":"x"}'
    )
    assert response.status_code == 400
    assert response.data == status_body('Invalid request data type: b\'{"strData":"x"}\'')


def test_passthrough_leaves_other_routes_alone(rest: Any) -> None:
    client = rest(models.Transformer(), payload_passthrough=True)
    response = client.post("/transform-input", json={"data": {"ndarray": [[1, 2]]}})
    assert response.data == b'{"data":{"names":["t:0","t:1"],"ndarray":[[2,4]]},"meta":{}}\n'


def test_traceback_only_in_debug_mode(rest: Any) -> None:
    body = {"data": {"ndarray": [1]}}
    assert b"Traceback" not in rest(models.Boom()).post("/predict", json=body).data
    response = rest(models.Boom(), debug=True).post("/predict", json=body)
    assert response.status_code == 500
    assert response.json["status"]["info"].startswith("boom\nTraceback")
