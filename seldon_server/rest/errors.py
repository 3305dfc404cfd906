"""Every REST failure becomes a Seldon status body; never a traceback to the client."""

from __future__ import annotations

import logging
import traceback

from flask import Flask, Response
from werkzeug.exceptions import HTTPException

from seldon_server.codecs.json import status_body
from seldon_server.errors import (
    BAD_DATA,
    INTERNAL_ERROR,
    InternalError,
    SeldonError,
    log_server_error,
)

logger = logging.getLogger(__name__)
JSON = "application/json"


def error_response(error: SeldonError) -> Response:
    return Response(status_body(error), error.status_code, mimetype=JSON)


def register_error_handlers(app: Flask, *, debug: bool = False) -> None:
    """Seldon errors keep their status; HTTP errors keep theirs; anything else is a 500."""

    @app.errorhandler(SeldonError)
    def seldon_error(error: SeldonError) -> Response:
        log_server_error(logger, error)
        if error.status_code < 500:
            logger.info("%s (%d): %s", error.reason, error.status_code, error.message)
        return error_response(error)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        code = error.code or 500
        reason = BAD_DATA if code < 500 else INTERNAL_ERROR
        message = f"{code} {error.name}: {error.description}"
        response = error_response(SeldonError(message, code, reason))
        valid_methods = getattr(error, "valid_methods", None)
        if valid_methods:
            response.headers["Allow"] = ", ".join(valid_methods)
        return response

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        logger.exception("Unhandled error while serving %s", type(error).__name__)
        message = str(error) or type(error).__name__
        if debug:
            message += "\n" + "".join(traceback.format_exception(error))
        return error_response(InternalError(message))
