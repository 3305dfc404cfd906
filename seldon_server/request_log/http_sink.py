"""Events POSTed to an HTTP(S) endpoint as binary-mode CloudEvents over a kept-alive connection."""

from __future__ import annotations

import ssl
import time
import urllib.parse

from seldon_server.http1 import Connection, HttpError, Response
from seldon_server.request_log.events import Event, HttpHeaders

RETRIES = 3  # a 5xx, 429 or connection failure is retried this many times, with backoff
BACKOFF = 0.2  # seconds before the first retry, doubled each time
TIMEOUT = 10.0  # seconds for one pipelined exchange


class HttpSink:
    """One sender thread's connection; events go out pipelined, a batch per write."""

    def __init__(self, url: str, headers: HttpHeaders) -> None:
        parts = urllib.parse.urlsplit(url)
        tls = ssl.create_default_context() if parts.scheme == "https" else None
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._connection = Connection(parts.netloc.rpartition("@")[2], tls, TIMEOUT)
        self._headers = headers

    def send(self, events: list[Event], deadline: float | None) -> tuple[int, str]:
        pending = [(event, self._headers.of(event), event.data()) for event in events]
        failed, why = 0, ""
        for attempt in range(RETRIES + 1):
            if attempt:
                pause = BACKOFF * 2 ** (attempt - 1)
                if deadline is not None and time.monotonic() + pause > deadline:
                    break
                time.sleep(pause)
            answers, why = self._exchange(pending)
            retry = []
            for item, answer in zip(pending, answers, strict=False):
                if 200 <= answer.status < 300:
                    continue
                if answer.status >= 500 or answer.status == 429:
                    retry.append(item)
                else:  # the sink refuses this event: sending it again cannot help
                    failed += 1
                why = f"HTTP {answer.status}"
            pending = retry + pending[len(answers) :]
            if not pending:
                return failed, why
        return failed + len(pending), why

    def _exchange(self, pending: list[tuple[Event, bytes, bytes]]) -> tuple[list[Response], str]:
        try:
            return self._connection.post_many(self._path, [(h, b) for _, h, b in pending]), ""
        except HttpError as exc:
            return getattr(exc, "answers", []), str(exc) or type(exc).__name__

    def close(self) -> None:
        self._connection.close()
