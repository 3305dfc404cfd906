"""Tracing for the REST app: one server span per request, parented from the request headers."""

from __future__ import annotations

import contextlib
from typing import Any

from flask import Flask, Response, g, request

_SPAN = "seldon_server_span"  # the flask.g slot holding (exit stack, span) for one request


def install_rest_tracing(app: Flask, tracer: Any, extra_tags: tuple[str, ...]) -> None:
    """Trace every request as the original's FlaskTracing did: operation = the view's name.

    Tags: component, http.method, http.url, http.status_code, `error` on a 5xx or an
    exception, and for each JAEGER_EXTRA_TAGS name the request attribute of that name.
    """
    from seldon_server import tracing

    @app.before_request
    def start_span() -> None:
        tags = {
            "component": "Flask",
            "http.method": request.method,
            "http.url": request.url,
            **tracing.request_tags(request, extra_tags),
        }
        stack = contextlib.ExitStack()
        operation = request.endpoint or "unknown"
        span = stack.enter_context(tracing.server_span(tracer, operation, request.headers, tags))
        setattr(g, _SPAN, (stack, span))

    @app.after_request
    def tag_status(response: Response) -> Response:
        entry = getattr(g, _SPAN, None)
        if entry is not None and entry[1] is not None:
            entry[1].set_tag("http.status_code", response.status_code)
            if response.status_code >= 500:
                entry[1].set_tag("error", True)
        return response

    @app.teardown_request
    def finish_span(exc: BaseException | None) -> None:
        # Teardown runs for every request, even when a view or another hook raised.
        entry = g.pop(_SPAN, None)
        if entry is None:
            return
        stack = entry[0]
        if exc is None:
            stack.close()
        else:
            stack.__exit__(type(exc), exc, exc.__traceback__)
