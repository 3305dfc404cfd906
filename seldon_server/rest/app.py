"""The Flask app: the Seldon route table over the dispatcher, and the REST encoding of replies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Flask, Response, request

from seldon_server.codecs import json as json_codec
from seldon_server.codecs.message import Raw, Reply
from seldon_server.dispatch import Dispatcher
from seldon_server.errors import BadMetadataError, ModelNotReadyError
from seldon_server.inference import InferenceService
from seldon_server.load.gate import Gate
from seldon_server.request_log.log import PayloadLog
from seldon_server.rest.edge import Edge, Observer
from seldon_server.rest.errors import error_response, register_error_handlers
from seldon_server.rest.openapi import openapi_document
from seldon_server.rest.requests import read_body
from seldon_server.rest.v2 import V2_ROUTES, add_v2_routes

JSON = "application/json"
REST = json_codec.REST_CODEC


@dataclass(frozen=True)
class RestOptions:
    payload_passthrough: bool = False
    debug: bool = False
    max_request_size: int | None = None
    flask_config: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] | None = None  # None: metadata failed validation
    observer: Observer | None = None  # (endpoint, status, seconds) per request, for metrics
    payload_log: PayloadLog | None = None  # request logging, when a sink is set
    gate: Gate | None = None  # admission and deadlines
    inference: InferenceService | None = None  # the V2 routes, when set


# (rule, endpoint, methods): the original's paths; GET on the bare paths takes ?json=.
ROUTES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("/predict", "Predict", ("GET", "POST")),
    ("/api/v1.0/predictions", "Predict", ("POST",)),
    ("/api/v0.1/predictions", "Predict", ("POST",)),
    ("/send-feedback", "SendFeedback", ("GET", "POST")),
    ("/api/v1.0/feedback", "SendFeedback", ("POST",)),
    ("/api/v0.1/feedback", "SendFeedback", ("POST",)),
    ("/transform-input", "TransformInput", ("GET", "POST")),
    ("/transform-output", "TransformOutput", ("GET", "POST")),
    ("/route", "Route", ("GET", "POST")),
    ("/aggregate", "Aggregate", ("GET", "POST")),
    ("/health/ping", "HealthPing", ("GET",)),
    ("/health/status", "HealthStatus", ("GET",)),
    ("/api/v1.0/health/status", "HealthStatus", ("GET",)),
    ("/metadata", "Metadata", ("GET",)),
    ("/api/v1.0/metadata", "Metadata", ("GET",)),
    ("/seldon.json", "openAPI", ("GET",)),
    ("/live", "Live", ("GET",)),
    ("/ready", "Ready", ("GET",)),
)


def create_app(dispatcher: Dispatcher, options: RestOptions | None = None) -> Flask:
    """Build the REST app; every view parses, calls one dispatcher operation, and encodes."""
    options = options or RestOptions()
    app = Flask(__name__)
    app.config.update(options.flask_config)
    app.config["MAX_CONTENT_LENGTH"] = options.max_request_size
    app.config["DEBUG"] = False  # never Werkzeug's interactive debugger (a remote shell)
    views = _Views(dispatcher, options)
    for rule, endpoint, methods in ROUTES:
        app.add_url_rule(rule, endpoint, getattr(views, endpoint), methods=list(methods))
    if options.inference is not None:
        add_v2_routes(app, options.inference, options.max_request_size)
    register_error_handlers(app, debug=options.debug)
    endpoints = {rule: endpoint for rule, endpoint, _ in (*ROUTES, *V2_ROUTES) if "<" not in rule}
    app.wsgi_app = Edge(  # type: ignore[method-assign]
        app.wsgi_app,
        endpoints,
        options.observer,
        options.payload_log,
        options.max_request_size,
        options.gate,
    )
    handler = getattr(dispatcher.model.obj, "model_error_handler", None)
    if isinstance(handler, Blueprint):
        app.register_blueprint(handler)
    return app


class _Views:
    def __init__(self, dispatcher: Dispatcher, options: RestOptions) -> None:
        self.dispatcher = dispatcher
        self.options = options
        self.openapi = json_codec.dumps(openapi_document())

    def Predict(self) -> Response:
        passthrough = self.options.payload_passthrough
        result = self.dispatcher.predict(self._read(passthrough), REST)
        if passthrough and isinstance(result, Raw) and isinstance(result.value, str | bytes):
            return Response(result.value, 200, mimetype=JSON)
        response = _respond(result)
        code = _status_code_in(result)
        if code is not None:
            response.status_code = code
        return response

    def SendFeedback(self) -> Response:
        result = self.dispatcher.send_feedback(json_codec.parse_feedback(self._read()), REST)
        return Response(json_codec.render_reply(result, feedback=True), 200, mimetype=JSON)

    def TransformInput(self) -> Response:
        return _respond(self.dispatcher.transform_input(self._read(), REST))

    def TransformOutput(self) -> Response:
        return _respond(self.dispatcher.transform_output(self._read(), REST))

    def Route(self) -> Response:
        return _respond(self.dispatcher.route(self._read(), REST))

    def Aggregate(self) -> Response:
        return _respond(self.dispatcher.aggregate(self._read(), REST))

    def HealthPing(self) -> Response:
        return Response("pong", 200, mimetype="text/html")

    def HealthStatus(self) -> Response:
        return _respond(self.dispatcher.health_status())

    def Metadata(self) -> Response:
        if self.options.metadata is None:
            return error_response(BadMetadataError())
        return Response(json_codec.dumps(self.options.metadata), 200, mimetype=JSON)

    def openAPI(self) -> Response:
        return Response(self.openapi, 200, mimetype=JSON)

    def Live(self) -> Response:
        return Response(json_codec.dumps({"status": "alive"}), 200, mimetype=JSON)

    def Ready(self) -> Response:
        if not self.dispatcher.ready:
            return error_response(ModelNotReadyError())
        return Response(json_codec.dumps({"status": "ready"}), 200, mimetype=JSON)

    def _read(self, passthrough: bool = False) -> Any:
        return read_body(request, passthrough=passthrough, limit=self.options.max_request_size)


def _respond(result: Reply) -> Response:
    return Response(json_codec.render_reply(result), 200, mimetype=JSON)


def _status_code_in(result: Reply) -> int | None:
    """A raw predict reply carrying status.code sets the HTTP status (as the original)."""
    if not isinstance(result, Raw) or not isinstance(result.value, dict):
        return None
    status = result.value.get("status")
    code = status.get("code") if isinstance(status, dict) else None
    if isinstance(code, int) and 100 <= code <= 599:
        return code
    return None
