"""The WSGI layer around the Flask app: CORS headers and per-request observation."""

from __future__ import annotations

import io
import logging
import socket
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from seldon_server.codecs import json as json_codec
from seldon_server.codecs.v2_json import error_body
from seldon_server.errors import (
    BadDataError,
    ClientGoneError,
    DeadlineExceededError,
    OverloadedError,
    SeldonError,
)
from seldon_server.load.gate import Gate
from seldon_server.puid import new_puid
from seldon_server.request_log.events import JSON, Payload
from seldon_server.request_log.log import PayloadLog
from seldon_server.rest.v2 import INFER_ENDPOINT, v2_endpoint

# Plain WSGI rather than Flask hooks: every response passes here, errors included, and it costs a
# few attribute lookups instead of Flask's per-hook dispatch on the hot path.

Observer = Callable[[str, int, float], None]
StartResponse = Callable[..., Any]

# What the original's CORS layer (flask-cors with its defaults) answered.
PREFLIGHT_METHODS = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
_PREFLIGHT_METHOD_SET = frozenset(PREFLIGHT_METHODS.split(", "))


class Edge:
    """Adds Access-Control-* headers (as flask-cors did), reports each request's outcome and,
    with request logging on, logs the request and response bodies exactly as they went."""

    def __init__(
        self,
        app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]],
        endpoints: Mapping[str, str],
        observer: Observer | None = None,
        payload_log: PayloadLog | None = None,
        max_request_size: int | None = None,
        gate: Gate | None = None,
    ) -> None:
        self.app = app
        self.gate = gate  # admission and deadlines, for the model's endpoints
        self.endpoints = endpoints  # path -> endpoint name, for the observer's `method` label
        self.observer = observer
        self.payload_log = payload_log
        self.max_request_size = max_request_size
        # path -> whether it is feedback, for the paths whose payloads are logged
        self.logged = {
            path: name == "SendFeedback" for path, name in endpoints.items() if name in LOGGED
        }

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        extra = _cors_headers(environ)
        statuses: list[str] = []
        content_types: list[str] = []

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            headers.extend(extra)
            statuses.append(status)
            if logging:
                content_types.extend(v for k, v in headers if k.lower() == "content-type")
            if exc_info is None:
                return start_response(status, headers)
            return start_response(status, headers, exc_info)

        path = environ.get("PATH_INFO", "")
        model_call = path in self.logged or _is_v2_infer(path)  # feedback, or a model's answer
        feedback = self.logged.get(path, False) if self.payload_log and model_call else None
        logging = feedback is not None and environ.get("REQUEST_METHOD") in ("GET", "POST")
        if logging:
            try:
                request = _take_request(environ, self.max_request_size)
                puid = _header_puid(environ.get("HTTP_SELDON_PUID")) or _body_puid(
                    request[0], bool(feedback)
                )
            except Exception:  # logging must never cost a request its answer
                _LOGGED_ERRORS.warning("Request log: cannot capture a REST request", exc_info=True)
                logging = False
            else:
                extra.append((PUID_HEADER, puid))
        if self.gate is not None and model_call:
            body = self._gated(environ, start)
        else:
            body = self.app(environ, start)
        if logging:
            body = self._log(request, puid, bool(feedback), body, content_types)
        if self.observer is not None and statuses:
            endpoint = self.endpoints.get(path) or v2_endpoint(path) or "unknown"
            self.observer(endpoint, int(statuses[-1][:3]), time.perf_counter() - started)
        return body

    def _gated(self, environ: dict[str, Any], start: StartResponse) -> Iterable[bytes]:
        """The app's answer once admitted and in its turn; else the refusal, at once."""
        gate = self.gate
        assert gate is not None
        try:
            with gate.admitted():
                if not gate.plan.timeout:
                    return gate.run(lambda: self.app(environ, start), None, _client_gone(environ))
                # The call may outlive its deadline on another thread: it must not read the
                # socket (the body is read here first) nor answer on it (its start_response is
                # kept).
                _take_body(environ, self.max_request_size)
                answer = gate.run(lambda: _Answer(self.app, environ), gate.deadline())
                start(answer.status, answer.headers)
                return answer.body
        except (OverloadedError, DeadlineExceededError, ClientGoneError) as exc:
            return _refusal(exc, start, environ.get("PATH_INFO", "").startswith("/v2/"))

    def _log(
        self,
        request: Payload,
        puid: str,
        feedback: bool,
        body: Iterable[bytes],
        content_types: list[str],
    ) -> list[bytes]:
        try:
            response = b"".join(body)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
        assert self.payload_log is not None
        try:
            if feedback:
                self.payload_log.feedback(puid, request)
            else:
                content_type = content_types[-1] if content_types else JSON
                self.payload_log.exchange(puid, request, (response, content_type, None))
        except Exception:  # logging must never cost a request its answer
            _LOGGED_ERRORS.warning("Request log: cannot log a REST exchange", exc_info=True)
        return [response]


class _Answer:
    """A WSGI app's whole answer, taken on one thread and sent from another."""

    def __init__(self, app: Callable[..., Iterable[bytes]], environ: dict[str, Any]) -> None:
        self.status = "500 INTERNAL SERVER ERROR"
        self.headers: list[tuple[str, str]] = []
        body = app(environ, self._start)
        try:
            self.body = [b"".join(body)]
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    def _start(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        self.status, self.headers = status, headers
        return _no_write


def _no_write(data: bytes) -> None:
    raise RuntimeError("write() is not supported")


def _refusal(error: SeldonError, start: StartResponse, v2: bool) -> list[bytes]:
    """Overloaded (503, Retry-After), past the deadline (504) or the client gone (499), in the
    protocol's own error body."""
    headers = [("Content-Type", JSON)]
    if isinstance(error, OverloadedError):
        headers.append(("Retry-After", str(error.retry_after)))
    start(f"{error.status_code} {_PHRASES.get(error.status_code, 'Error')}", headers)
    return [error_body(error.message) if v2 else json_codec.status_body(error)]


_PHRASES = {503: "SERVICE UNAVAILABLE", 504: "GATEWAY TIMEOUT", 499: "CLIENT CLOSED REQUEST"}


def _is_v2_infer(path: str) -> bool:
    return path.startswith("/v2/models/") and v2_endpoint(path) == INFER_ENDPOINT


def _client_gone(environ: dict[str, Any]) -> Callable[[], bool] | None:
    """Whether the client has closed its connection (it sent its request and left)."""
    sock = environ.get("gunicorn.socket")
    if sock is None:
        return None

    def gone() -> bool:
        try:
            return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except (BlockingIOError, InterruptedError, ValueError):  # no data yet; TLS cannot peek
            return False
        except OSError:
            return True

    return gone


# The endpoints whose payloads are logged (health, metadata and the like are not).
LOGGED = frozenset(
    ("Predict", "SendFeedback", "TransformInput", "TransformOutput", "Route", "Aggregate")
)
PUID_HEADER = "Seldon-Puid"
_LOGGED_ERRORS = logging.getLogger("seldon_server.request_log")
FORM = "application/x-www-form-urlencoded"


def _take_request(environ: dict[str, Any], limit: int | None) -> Payload:
    """The request's payload as the client sent it; the body is read once and put back.

    As read_body takes it: a `json=` query parameter when there is no body (or a GET).
    """
    data = b""
    if environ.get("REQUEST_METHOD") != "GET":
        data = _take_body(environ, limit)
    content_type = environ.get("CONTENT_TYPE") or JSON
    if not data and environ.get("QUERY_STRING"):
        query = urllib.parse.parse_qs(environ["QUERY_STRING"])
        return query.get("json", [""])[0].encode("utf-8"), JSON, None
    if content_type.startswith(FORM):
        return data, JSON, _form_json
    return data, content_type, None


def _take_body(environ: dict[str, Any], limit: int | None) -> bytes:
    """The body, put back for the app; one that is over the size limit is not kept."""
    length = environ.get("CONTENT_LENGTH") or ""
    chunked = bool(environ.get("HTTP_TRANSFER_ENCODING"))
    if not chunked and not length.isdigit():
        return b""
    if limit is not None and not chunked and int(length) > limit:
        return b""  # refused unread with a 413; nothing to keep
    stream = environ["wsgi.input"]
    if chunked:  # no more than the limit and one byte: the app then refuses it with a 413
        data = stream.read() if limit is None else stream.read(limit + 1)
    else:
        data = stream.read(int(length))
    environ["wsgi.input"] = io.BytesIO(data)
    return b"" if limit is not None and len(data) > limit else data


def _header_puid(puid: str | None) -> str:
    """A puid that can go back as a response header (printable ASCII), else ""."""
    if puid and puid.isascii() and puid.isprintable():
        return puid
    return ""


def _form_json(body: bytes) -> bytes:
    """A form request's `json` field, the message it carries (else the form as it came)."""
    fields = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
    return fields["json"][0].encode("utf-8") if fields.get("json") else body


def _body_puid(body: bytes, feedback: bool) -> str:
    """A puid the JSON body carries in its meta (a feedback's, in the rated response), or new."""
    if b'"puid"' in body:
        try:
            message = json_codec.loads(body)
        except BadDataError:
            message = None
        if isinstance(message, dict):
            parts = (message.get("response"), message.get("request")) if feedback else (message,)
            for part in parts:
                meta = part.get("meta") if isinstance(part, dict) else None
                puid = meta.get("puid") if isinstance(meta, dict) else None
                if isinstance(puid, str) and _header_puid(puid):
                    return puid
    return new_puid()


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
