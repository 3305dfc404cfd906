"""The Open Inference Protocol's REST routes, beside the Seldon ones, over InferenceService."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, MapAdapter, Rule

from seldon_server.codecs import v2_json
from seldon_server.codecs.json import dumps
from seldon_server.codecs.v2_json import error_body
from seldon_server.errors import SeldonError, as_seldon_error, log_server_error
from seldon_server.inference import InferenceService
from seldon_server.rest.requests import raw_body

logger = logging.getLogger(__name__)
JSON = "application/json"
OCTETS = "application/octet-stream"
_MODEL = "/v2/models/<name>"
_VERSION = "/v2/models/<name>/versions/<version>"

# (rule, endpoint, methods); the endpoint names are the request metrics' `method` label.
V2_ROUTES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("/v2/health/live", "V2ServerLive", ("GET",)),
    ("/v2/health/ready", "V2ServerReady", ("GET",)),
    ("/v2", "V2ServerMetadata", ("GET",)),
    (_MODEL, "V2ModelMetadata", ("GET",)),
    (_VERSION, "V2ModelMetadata", ("GET",)),
    (f"{_MODEL}/ready", "V2ModelReady", ("GET",)),
    (f"{_VERSION}/ready", "V2ModelReady", ("GET",)),
    (f"{_MODEL}/infer", "V2ModelInfer", ("POST",)),
    (f"{_VERSION}/infer", "V2ModelInfer", ("POST",)),
)
INFER_ENDPOINT = "V2ModelInfer"
_HEADER_LENGTH_ENV = "HTTP_" + v2_json.HEADER_LENGTH.upper().replace("-", "_")


@functools.lru_cache(maxsize=256)
def v2_endpoint(path: str) -> str | None:
    """The endpoint name of a V2 path that carries a model name (for metrics and admission),
    matched against the route table itself; None for any other path."""
    if not path.startswith("/v2/models/"):
        return None
    try:
        endpoint, _ = _model_paths().match(path)
    except HTTPException:
        return None
    return str(endpoint)


@functools.cache
def _model_paths() -> MapAdapter:
    rules = [Rule(rule, endpoint=name) for rule, name, _ in V2_ROUTES if "<" in rule]
    return Map(rules).bind("")


def add_v2_routes(app: Flask, service: InferenceService, max_request_size: int | None) -> None:
    """Register the V2 routes; their failures answer `{"error": "..."}` with the status."""
    views = _V2Views(service, max_request_size)
    for rule, endpoint, methods in V2_ROUTES:
        view = getattr(views, endpoint)
        app.add_url_rule(rule, f"{endpoint}:{rule}", _errors_as_v2(view), methods=list(methods))


def _errors_as_v2(view: Callable[..., Response]) -> Callable[..., Response]:
    def guarded(**kwargs: Any) -> Response:
        try:
            return view(**kwargs)
        except HTTPException as exc:
            return Response(error_body(exc.description or exc.name), exc.code or 500, mimetype=JSON)
        except Exception as exc:
            return _error(as_seldon_error(exc))

    guarded.__name__ = view.__name__
    return guarded


def _error(error: SeldonError) -> Response:
    log_server_error(logger, error)
    return Response(error_body(error.message), error.status_code, mimetype=JSON)


def _json(body: Any, status: int = 200) -> Response:
    return Response(dumps(body), status, mimetype=JSON)


class _V2Views:
    def __init__(self, service: InferenceService, max_request_size: int | None) -> None:
        self.service = service
        self.max_request_size = max_request_size

    def V2ServerLive(self) -> Response:
        return _json({"live": True})

    def V2ServerReady(self) -> Response:
        # The protocol answers "not ready" with a 4xx status; the body says why.
        ready = self.service.ready
        return _json({"ready": ready}, 200 if ready else 400)

    def V2ServerMetadata(self) -> Response:
        return _json(self.service.server_metadata())

    def V2ModelMetadata(self, name: str, version: str | None = None) -> Response:
        return _json(self.service.model_metadata(name, version))

    def V2ModelReady(self, name: str, version: str | None = None) -> Response:
        ready = self.service.model_ready(name, version)
        return _json({"name": name, "ready": ready}, 200 if ready else 400)

    def V2ModelInfer(self, name: str, version: str | None = None) -> Response:
        self.service.check(name, version)  # an unknown model is a 404 before its body is read
        body = raw_body(request, self.max_request_size)
        inference = v2_json.parse_body(body, request.environ.get(_HEADER_LENGTH_ENV))
        response = self.service.infer(name, version, inference)
        binary = v2_json.binary_outputs(inference, [output.name for output in response.outputs])
        rendered = v2_json.render_response(response, binary)
        if rendered.header_length is None:
            return Response(rendered.header, 200, mimetype=JSON)
        out = Response(rendered.body, 200, mimetype=OCTETS)
        out.headers[v2_json.HEADER_LENGTH] = str(rendered.header_length)
        return out
