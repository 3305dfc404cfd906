"""The WSGI layer around the Flask app: CORS headers and per-request observation."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

# Plain WSGI rather than Flask hooks: every response passes here, errors included, and it costs a
# few attribute lookups instead of Flask's per-hook dispatch on the hot path.

Observer = Callable[[str, int, float], None]
StartResponse = Callable[..., Any]

# What the original's CORS layer (flask-cors with its defaults) answered.
PREFLIGHT_METHODS = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
_PREFLIGHT_METHOD_SET = frozenset(PREFLIGHT_METHODS.split(", "))


class Edge:
    """Adds Access-Control-* headers (as flask-cors did) and reports each request's outcome."""

    def __init__(
        self,
        app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]],
        endpoints: Mapping[str, str],
        observer: Observer | None = None,
    ) -> None:
        self.app = app
        self.endpoints = endpoints  # path -> endpoint name, for the observer's `method` label
        self.observer = observer

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        extra = _cors_headers(environ)
        statuses: list[str] = []

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            headers.extend(extra)
            statuses.append(status)
            if exc_info is None:
                return start_response(status, headers)
            return start_response(status, headers, exc_info)

        body = self.app(environ, start)
        if self.observer is not None and statuses:
            endpoint = self.endpoints.get(environ.get("PATH_INFO", ""), "unknown")
            self.observer(endpoint, int(statuses[-1][:3]), time.perf_counter() - started)
        return body


def _cors_headers(environ: Mapping[str, Any]) -> list[tuple[str, str]]:
    origin = environ.get("HTTP_ORIGIN")
    headers = [("Access-Control-Allow-Origin", origin)] if origin else [_ANY_ORIGIN]
    if origin:
        headers.append(("Vary", "Origin"))
    if environ.get("REQUEST_METHOD") == "OPTIONS":
        wanted = environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD", "").upper()
        if wanted in _PREFLIGHT_METHOD_SET:
            headers.append(("Access-Control-Allow-Methods", PREFLIGHT_METHODS))
            requested = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "")
            names = sorted(name.strip() for name in requested.split(",") if name.strip())
            if names:
                headers.append(("Access-Control-Allow-Headers", ", ".join(names)))
    return headers


_ANY_ORIGIN = ("Access-Control-Allow-Origin", "*")
