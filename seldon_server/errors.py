"""The one error hierarchy: every failure that becomes a response is a SeldonError."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

BAD_DATA = "MICROSERVICE_BAD_DATA"
BAD_METRIC = "MICROSERVICE_BAD_METRIC"
BAD_METADATA = "MICROSERVICE_BAD_METADATA"
BAD_PARAMETER = "MICROSERVICE_BAD_PARAMETER"
INTERNAL_ERROR = "MICROSERVICE_INTERNAL_ERROR"
OVERLOADED = "MICROSERVICE_OVERLOADED"
TIMEOUT = "MICROSERVICE_TIMEOUT"
CANCELLED = "MICROSERVICE_CANCELLED"
CLIENT_CLOSED = 499


class SeldonError(Exception):
    """An error with an HTTP status and a Seldon reason, mapped once per transport."""

    grpc_code: str | None = None  # a gRPC status code name, when the HTTP status does not say it

    def __init__(
        self,
        message: str,
        status: int = HTTPStatus.BAD_REQUEST,
        reason: str = BAD_DATA,
        payload: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = int(status)
        self.reason = reason
        self.payload = payload

    def to_dict(self) -> dict[str, Any]:
        """The Seldon status body: `code` is always -1, `status` 1 means FAILURE."""
        return {"status": {"code": -1, "info": self.message, "reason": self.reason, "status": 1}}


class SeldonMicroserviceException(SeldonError):
    """Raise from user code to answer with a chosen HTTP status and reason on both transports."""

    def __init__(
        self,
        message: str,
        status_code: int | None = None,
        payload: Any = None,
        reason: str = BAD_DATA,
    ) -> None:
        super().__init__(message, status_code or HTTPStatus.BAD_REQUEST, reason, payload)


class SeldonNotImplementedError(SeldonMicroserviceException):
    """Raised by a hook that is not implemented: dispatch falls through to the next hook."""


class BadDataError(SeldonError):
    """The client sent something we cannot decode (400 MICROSERVICE_BAD_DATA)."""


class PayloadTooLargeError(SeldonError):
    """Request body above the configured limit (413)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, HTTPStatus.REQUEST_ENTITY_TOO_LARGE, BAD_DATA)


class BadMetricError(SeldonError):
    """A custom metric from user code is malformed (500 MICROSERVICE_BAD_METRIC)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, HTTPStatus.INTERNAL_SERVER_ERROR, BAD_METRIC)


class BadMetadataError(SeldonError):
    """Model metadata failed validation at load (500 MICROSERVICE_BAD_METADATA)."""

    def __init__(self, message: str = "Model metadata unavailable") -> None:
        super().__init__(message, HTTPStatus.INTERNAL_SERVER_ERROR, BAD_METADATA)


class InternalError(SeldonError):
    """Anything else, including an exception escaping user code (500)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, HTTPStatus.INTERNAL_SERVER_ERROR, INTERNAL_ERROR)


class BadParameterError(SeldonError):
    """A `--parameters` entry cannot be converted; fails start-up."""

    def __init__(self, message: str) -> None:
        super().__init__(message, HTTPStatus.BAD_REQUEST, BAD_PARAMETER)


class ModelNotReadyError(SeldonError):
    """A request arrived before `load()` finished in this process (503)."""

    def __init__(self, message: str = "Model not ready") -> None:
        super().__init__(message, HTTPStatus.SERVICE_UNAVAILABLE, INTERNAL_ERROR)


class OverloadedError(SeldonError):
    """Shed: the process already holds as many requests as it admits (503, retry later)."""

    grpc_code = "RESOURCE_EXHAUSTED"

    def __init__(self, limit: int, retry_after: int) -> None:
        super().__init__(
            f"Server overloaded: {limit} requests already admitted in this process; retry later",
            HTTPStatus.SERVICE_UNAVAILABLE,
            OVERLOADED,
        )
        self.retry_after = retry_after


class DeadlineExceededError(SeldonError):
    """The request's deadline passed while it waited or ran (504); a late result is discarded."""

    def __init__(self, message: str) -> None:
        super().__init__(message, HTTPStatus.GATEWAY_TIMEOUT, TIMEOUT)


class ClientGoneError(SeldonError):
    """The client left while its request waited for its turn: it is not run (499, as nginx
    logs it; nobody reads the answer)."""

    grpc_code = "CANCELLED"

    def __init__(self) -> None:
        super().__init__("Client closed the request before it ran", CLIENT_CLOSED, CANCELLED)


# gRPC status code names by HTTP status (docs/compatibility.md); the gRPC edge looks names up in
# grpc.StatusCode so that this module stays free of grpc.
_GRPC_CODE_BY_HTTP: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    413: "RESOURCE_EXHAUSTED",
    429: "RESOURCE_EXHAUSTED",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def grpc_code_name(http_status: int, override: str | None = None) -> str:
    """The gRPC status code name for an HTTP status (or the error's own, when it has one)."""
    if override:
        return override
    named = _GRPC_CODE_BY_HTTP.get(http_status)
    if named:
        return named
    if 400 <= http_status < 500:
        return "FAILED_PRECONDITION"
    return "INTERNAL"


def as_seldon_error(exc: BaseException) -> SeldonError:
    """Wrap any exception from user code as a 500, keeping the cause."""
    if isinstance(exc, SeldonError):
        return exc
    wrapped = InternalError(str(exc) or type(exc).__name__)
    wrapped.__cause__ = exc
    return wrapped


def log_server_error(log: logging.Logger, error: SeldonError) -> None:
    """A 5xx is the server's failure: logged once, with its cause's traceback (a 4xx is not)."""
    if error.status_code >= 500:
        log.error("%s: %s", error.reason, error.message, exc_info=error.__cause__ or error)
