"""What one logged payload is, and how it is written as a CloudEvent (HTTP binary mode, Kafka).

The attributes are the ones the Seldon executor set, so the seldon-request-logger, Knative
brokers and event displays take these events unchanged: `type`, `id`, `source`, `time`, and the
extensions `requestid`, `modelid`, `inferenceservicename`, `namespace`, `endpoint`, `protocol`.
"""

from __future__ import annotations

import functools
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from seldon_server.settings import Settings

REQUEST = "io.seldon.serving.inference.request"
RESPONSE = "io.seldon.serving.inference.response"
FEEDBACK = "io.seldon.serving.feedback"
SPEC_VERSION = "1.0"
PROTOCOL = "seldon"
JSON = "application/json"

# Turns a body kept as the transport had it (protobuf bytes, a form) into the logged bytes; it
# runs in a sender thread, off the request path.
Convert = Callable[[Any], bytes]
# A body as a front end hands it over: (body, content type after conversion, conversion or None).
Payload = tuple[Any, str, Convert | None]


class Event(NamedTuple):
    """One payload waiting in the queue: as cheap to build on the request path as a tuple."""

    ce_type: str
    puid: str
    body: Any  # bytes, or what `convert` turns into bytes
    content_type: str
    convert: Convert | None
    created: float  # time.time() when it was logged: the event's `time`

    def data(self) -> bytes:
        return self.body if self.convert is None else self.convert(self.body)


@dataclass(frozen=True)
class Identity:
    """The attributes every event of this server shares, from the deployment's env vars."""

    source: str
    model_id: str
    deployment: str
    namespace: str
    predictor: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Identity:
        return cls(
            source=f"http://{socket.gethostname()}:{settings.http_port}/",
            model_id=settings.predictive_unit_id or settings.interface_name,
            deployment=settings.deployment_id,
            namespace=settings.namespace,
            predictor=settings.predictor_id,
        )

    def extensions(self) -> list[tuple[str, str]]:
        """The shared extension attributes that have a value (CloudEvents forbids empty ones)."""
        pairs = [
            ("modelid", self.model_id),
            ("inferenceservicename", self.deployment),
            ("namespace", self.namespace),
            ("endpoint", self.predictor),
            ("protocol", PROTOCOL),
        ]
        return [(name, value) for name, value in pairs if value]


def timestamp(created: float) -> str:
    """RFC 3339 in UTC with microseconds, as CloudEvents' `time` wants it."""
    seconds = int(created)
    return f"{_second(seconds)}.{int((created - seconds) * 1_000_000):06d}Z"


@functools.lru_cache(maxsize=4)
def _second(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


class HttpHeaders:
    """Preformatted binary-mode headers: the shared part once, four fields per event."""

    def __init__(self, identity: Identity) -> None:
        shared = [("Ce-Specversion", SPEC_VERSION), ("Ce-Source", identity.source)]
        shared += [(f"Ce-{name.capitalize()}", value) for name, value in identity.extensions()]
        self._shared = "".join(f"{name}: {_header_text(value)}\r\n" for name, value in shared)

    def of(self, event: Event) -> bytes:
        puid = _header_text(event.puid)
        return (
            f"Ce-Id: {puid}\r\nCe-Requestid: {puid}\r\nCe-Type: {event.ce_type}\r\n"
            f"Ce-Time: {timestamp(event.created)}\r\n"
            f"Content-Type: {_header_text(event.content_type)}\r\n"
            f"{self._shared}"
        ).encode()


def _header_text(value: str) -> str:
    """No control character can reach a header (a puid or a content type comes from the
    client): each becomes a space."""
    if value.isprintable():
        return value
    return "".join(c if c.isprintable() else " " for c in value)


class KafkaHeaders:
    """The CloudEvents Kafka binding (`ce_` headers) plus the executor's own plain names."""

    def __init__(self, identity: Identity) -> None:
        extensions = identity.extensions()
        self._shared: list[tuple[str, str | bytes | None]] = [
            ("ce_specversion", SPEC_VERSION.encode()),
            ("ce_source", identity.source.encode()),
            *((f"ce_{name}", value.encode()) for name, value in extensions),
            *((name, value.encode()) for name, value in extensions),
        ]

    def of(self, event: Event) -> list[tuple[str, str | bytes | None]]:
        puid = event.puid.encode("utf-8")
        return [
            ("ce_id", puid),
            ("ce_type", event.ce_type.encode()),
            ("ce_time", timestamp(event.created).encode()),
            ("ce_requestid", puid),
            ("content-type", event.content_type.encode()),
            ("type", event.ce_type.encode()),
            ("requestid", puid),
            *self._shared,
        ]
