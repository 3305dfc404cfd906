"""Reading a Seldon REST request: JSON body, `json=` form field or query parameter, multipart."""

from __future__ import annotations

import base64
from typing import Any

from flask import Request

from seldon_server.codecs.json import loads
from seldon_server.errors import BadDataError, PayloadTooLargeError

NOT_JSON = "Can't find JSON in data"


def read_body(request: Request, *, passthrough: bool = False, limit: int | None = None) -> Any:
    """The request's message: a decoded JSON value, or (passthrough) the undecoded str/bytes."""
    environ = request.environ
    content_type = environ.get("CONTENT_TYPE", "")
    if content_type.startswith("multipart/form-data"):
        return _multipart(request)
    text = None
    if content_type.startswith("application/x-www-form-urlencoded"):
        # Cache the body first so a JSON body sent with curl's default form type still parses.
        request.get_data()
        text = request.form.get("json")
    # An empty json= field counts as absent, as in the original.
    if not text and environ.get("QUERY_STRING"):
        text = request.args.get("json")
    if text:
        return text if passthrough else _parse(text)
    body = raw_body(request, limit)
    if passthrough:
        return body
    return _parse(body)


def raw_body(request: Request, limit: int | None) -> bytes:
    """The raw body; read straight from the WSGI stream when its length is declared.

    Werkzeug's get_data() wraps the stream on every call, a measurable share of a small request;
    its size limit is applied here the same way (413).
    """
    environ = request.environ
    length = environ.get("CONTENT_LENGTH")
    if not length or not length.isdigit() or environ.get("HTTP_TRANSFER_ENCODING"):
        return request.get_data()
    size = int(length)
    if limit is not None and size > limit:
        raise PayloadTooLargeError(
            "413 Request Entity Too Large: The data value transmitted exceeds the capacity limit."
        )
    return environ["wsgi.input"].read(size) if size else b""


def _parse(text: str | bytes) -> Any:
    if not text:
        raise BadDataError(NOT_JSON)
    message = loads(text)
    if message is None:
        raise BadDataError(NOT_JSON)
    return message


def _multipart(request: Request) -> dict[str, Any]:
    """Form fields are JSON (strData stays text); file parts: binData base64, others UTF-8 text."""
    message: dict[str, Any] = {}
    for key, value in request.form.items():
        message[key] = value if key == "strData" else _parse(value)
    for key, upload in request.files.items():
        content = upload.read()
        if key == "binData":
            message[key] = base64.b64encode(content)
        else:
            try:
                message[key] = content.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise BadDataError(f"File part '{key}' is not UTF-8 text: {exc}") from exc
    return message
