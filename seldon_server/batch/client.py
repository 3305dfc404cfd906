"""Clients of a Seldon endpoint: REST (a connection per worker) or gRPC, and their URLs."""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Callable
from datetime import UTC
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any, Protocol

import grpc
import orjson

from seldon_server import http1
from seldon_server.batch import proto_codec
from seldon_server.batch.config import BatchConfig
from seldon_server.proto import prediction_pb2_grpc

# Retryable gRPC codes: the server is down or restarting (UNAVAILABLE, or CANCELLED when it
# stops with our call in flight: this client never cancels a call itself), our per-request
# timeout expired, or the server shed load (RESOURCE_EXHAUSTED, "Server overloaded"). gRPC also
# maps a message over the server's size limit to RESOURCE_EXHAUSTED; retrying that cannot help,
# but --retries bounds the waste. Every other code is the server's considered answer.
RETRYABLE_GRPC = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    }
)
# Answers that mean "busy, come back later": the server's load shedding (503 with Retry-After,
# gRPC RESOURCE_EXHAUSTED) and rate limiting by a proxy in front of it (429).
OVERLOADED_HTTP = frozenset({HTTPStatus.SERVICE_UNAVAILABLE, HTTPStatus.TOO_MANY_REQUESTS})
# The longest Retry-After honoured: a confused proxy's "come back tomorrow" must not park a
# worker; past it the usual attempts and backoff decide.
MAX_RETRY_AFTER = 60.0
_MAX_REASON = 2000
_UNLIMITED = -1

Encode = Callable[[dict[str, Any]], Any]  # a request dict -> its protobuf message
Decode = Callable[[Any], dict[str, Any]]  # a response message -> its JSON dict


class CallError(Exception):
    """A failed request: `reason` goes into the error line, `retryable` decides a new attempt.

    `overloaded` marks a refusal for load (counted in the summary); `retry_after` is the
    server's requested wait in seconds (HTTP Retry-After), if it gave a usable one.
    """

    def __init__(
        self,
        reason: str,
        retryable: bool,
        overloaded: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.overloaded = overloaded
        self.retry_after = retry_after


class Client(Protocol):
    """What a worker needs from a transport: send one request, get the response as a dict."""

    def send(self, body: dict[str, Any], puid: str) -> dict[str, Any]: ...

    def close(self) -> None: ...


def rest_path(config: BatchConfig) -> str:
    """The request path for the protocol, gateway and method (reference 8.6); the ingress
    gateways route by the `/seldon/<namespace>/<deployment>` prefix, for V2 too."""
    if config.protocol == "v2":
        path = f"/v2/models/{config.deployment_name}/infer"
    else:
        endpoint = "feedback" if config.method == "feedback" else "predictions"
        path = f"/api/v1.0/{endpoint}"
    if config.gateway_type == "seldon":
        return path
    return f"/seldon/{config.namespace}/{config.deployment_name}{path}"


def rest_url(config: BatchConfig) -> str:
    """The full URL; https when TLS is on (--use-ssl or a token), for every gateway and method."""
    scheme = "https" if config.tls else "http"
    return f"{scheme}://{config.host}{rest_path(config)}"


def grpc_metadata(config: BatchConfig) -> tuple[tuple[str, str], ...]:
    """Call metadata sent with every request; the ingress routes on `seldon` and `namespace`."""
    pairs: list[tuple[str, str]] = []
    if config.gateway_type != "seldon":
        pairs += [("seldon", config.deployment_name), ("namespace", config.namespace)]
    if config.call_credentials_token:
        pairs.append(("x-auth-token", config.call_credentials_token))
    return tuple(pairs)


def make_client(config: BatchConfig) -> Client:
    """A new client with its own connection, made once per worker and reused."""
    if config.transport == "grpc":
        return make_grpc_client(config)
    if config.protocol == "v2":
        from seldon_server.batch.v2_client import V2RestClient  # see make_grpc_client

        return V2RestClient(config)
    return RestClient(config)


def make_grpc_client(config: BatchConfig) -> GrpcClient:
    """A gRPC client for --protocol; the async driver shares each among many calls."""
    if config.protocol == "v2":
        # Imported here so that a Seldon-protocol run loads none of the V2 codecs.
        from seldon_server.batch.v2_client import V2GrpcClient

        return V2GrpcClient(config)
    return GrpcClient(config)


class RestClient:
    """JSON over one kept-alive HTTP(S) connection (see http1 for why not requests)."""

    def __init__(self, config: BatchConfig) -> None:
        self._path = rest_path(config)
        headers = "Content-Type: application/json\r\n"
        if config.call_credentials_token:
            headers += f"X-Auth-Token: {config.call_credentials_token}\r\n"
        self._headers = headers.encode("latin-1")
        context = _tls_context(config.ssl_verify) if config.tls else None
        self._connection = http1.Connection(config.host, context, config.timeout)

    def send(self, body: dict[str, Any], puid: str) -> dict[str, Any]:
        headers = self._headers + b"seldon-puid: " + puid.encode("latin-1") + b"\r\n"
        try:
            response = self._connection.post(self._path, headers, orjson.dumps(body))
        except http1.HttpTlsError as exc:
            raise CallError(f"TLS error: {exc}", retryable=False) from None
        except http1.HttpError as exc:
            raise CallError(f"connection error: {exc}", retryable=True) from None
        if response.status != 200:
            raise _http_error(response, self.detail(response.body))
        return self.decode(response)

    def decode(self, response: http1.Response) -> dict[str, Any]:
        """A 200 response's body as a dict."""
        return json_object(response.body)

    def detail(self, body: bytes) -> str:
        """What an error response says, for the error line."""
        return snippet(body)

    def close(self) -> None:
        self._connection.close()


def _tls_context(verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["http/1.1"])
    return context


def _http_error(response: http1.Response, detail: str) -> CallError:
    reason = f"HTTP {_status_text(response.status)}: {detail}"
    if response.status not in OVERLOADED_HTTP:
        return CallError(reason, retryable=response.status >= 500)
    wait = retry_after(response.headers.get(b"retry-after"), time.time())
    return CallError(reason, retryable=True, overloaded=True, retry_after=wait)


def retry_after(value: bytes | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After value (delay-seconds or an HTTP-date, RFC 9110 10.2.3)
    at wall-clock time `now`, at most MAX_RETRY_AFTER; None when absent or unparsable, so the
    usual backoff applies."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        # A long digit string is past the cap anyway (and int() refuses a very long one).
        return MAX_RETRY_AFTER if len(value) > 5 else min(MAX_RETRY_AFTER, float(int(value)))
    try:
        when = parsedate_to_datetime(value.decode("latin-1"))
    except (ValueError, TypeError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" in the date: an HTTP-date is always GMT
        when = when.replace(tzinfo=UTC)
    return min(MAX_RETRY_AFTER, max(0.0, when.timestamp() - now))


def _call_error(exc: grpc.RpcError) -> CallError:
    code = exc.code() if isinstance(exc, grpc.Call) else grpc.StatusCode.UNKNOWN
    details = (exc.details() if isinstance(exc, grpc.Call) else str(exc)) or "(no details)"
    overloaded = code == grpc.StatusCode.RESOURCE_EXHAUSTED
    return CallError(f"gRPC {code.name}: {details}", code in RETRYABLE_GRPC, overloaded)


def _status_text(code: int) -> str:
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return str(code)


def snippet(data: bytes) -> str:
    """A body as text for an error line, cut at a readable length."""
    text = data.decode("utf-8", "replace").strip()
    return (text[:_MAX_REASON] + "...") if len(text) > _MAX_REASON else (text or "(empty body)")


def json_object(data: bytes) -> dict[str, Any]:
    """A body that must be a JSON object; CallError (never retried) otherwise."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        try:  # servers built on the json module may send NaN or Infinity, which orjson refuses
            value = json.loads(data)
        except ValueError:
            raise CallError(f"HTTP 200 but the body is not JSON: {snippet(data)}", False) from None
    if not isinstance(value, dict):
        raise CallError(f"HTTP 200 but the body is not a JSON object: {snippet(data)}", False)
    return value


class GrpcClient:
    """Protobuf over one channel with its own connection (a local subchannel pool); several
    callers may share it, as the gRPC driver's tasks do."""

    def __init__(self, config: BatchConfig) -> None:
        options = [
            ("grpc.max_send_message_length", _UNLIMITED),
            ("grpc.max_receive_message_length", _UNLIMITED),
            # Without this, every worker's channel shares one connection to the same target.
            ("grpc.use_local_subchannel_pool", 1),
        ]
        if config.tls:
            credentials = grpc.ssl_channel_credentials()
            self._channel = grpc.secure_channel(config.host, credentials, options)
        else:
            self._channel = grpc.insecure_channel(config.host, options)
        self._call, self._request, self._decode = self.rpc(config)
        self._metadata = grpc_metadata(config)
        self._timeout = config.timeout

    def rpc(self, config: BatchConfig) -> tuple[Any, Encode, Decode]:
        """The method to call, request dict -> message, and response message -> dict."""
        stub = prediction_pb2_grpc.SeldonStub(self._channel)
        if config.method == "feedback":
            return stub.SendFeedback, proto_codec.feedback_from_dict, proto_codec.response_to_dict
        return stub.Predict, proto_codec.message_from_dict, proto_codec.response_to_dict

    def send(self, body: dict[str, Any], puid: str) -> dict[str, Any]:
        """Blocking call (the Client protocol); the pipeline uses start/finish instead."""
        try:
            response = self._call(self._request(body), timeout=self._timeout,
                                  metadata=self._metadata_for(puid))  # fmt: skip
        except grpc.RpcError as exc:
            raise _call_error(exc) from None
        return self._decode(response)

    def start(self, body: dict[str, Any], puid: str, done: Callable[[Any], None]) -> None:
        """Start the call and return at once; `done(future)` runs on a gRPC thread at the end."""
        future = self._call.future(self._request(body), timeout=self._timeout,
                                   metadata=self._metadata_for(puid))  # fmt: skip
        future.add_done_callback(done)

    def finish(self, future: Any) -> dict[str, Any]:
        """The response of a finished call as a dict; raises CallError for a failed one."""
        try:
            response = future.result()
        except grpc.RpcError as exc:
            raise _call_error(exc) from None
        except grpc.FutureCancelledError:
            raise CallError("gRPC CANCELLED: the call was cancelled", retryable=True) from None
        return self._decode(response)

    def _metadata_for(self, puid: str) -> tuple[tuple[str, str], ...]:
        return (*self._metadata, ("seldon-puid", puid))

    def close(self) -> None:
        self._channel.close()
