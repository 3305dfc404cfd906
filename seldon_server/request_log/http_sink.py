"""Events POSTed to an HTTP(S) endpoint as binary-mode CloudEvents over a kept-alive connection."""

from __future__ import annotations

import ssl
import time
import urllib.parse

from seldon_server.http1 import Connection, HttpError, HttpTlsError, Response
from seldon_server.request_log.events import Event, HttpHeaders
from seldon_server.request_log.log import BATCH

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
        # How many requests go out in one write: a batch, until the sink shows that it closes
        # its connection after each answer (the rest of a pipeline would be lost every time).
        self._pipeline = BATCH

    def send(self, events: list[Event], deadline: float | None) -> tuple[int, str]:
        pending, failed, why = self._prepare(events)
        retries = 0
        while pending:
            chunk = pending[: self._pipeline]
            answers, error, fatal = self._exchange(chunk)
            retry = []
            for item, answer in zip(chunk, answers, strict=False):
                if 200 <= answer.status < 300:
                    continue
                why = f"HTTP {answer.status}"
                if answer.status >= 500 or answer.status == 429:
                    retry.append(item)
                else:  # the sink refuses this event: sending it again cannot help
                    failed += 1
            why = error or why
            pending = retry + pending[len(answers) :]
            if fatal:
                break
            if answers and not retry:
                continue  # progress: a connection closed after some answers; go on at once
            retries += 1
            pause = BACKOFF * 2 ** (retries - 1)
            if retries > RETRIES or (deadline is not None and time.monotonic() + pause > deadline):
                break
            time.sleep(pause)
        return failed + len(pending), why

    def _prepare(self, events: list[Event]) -> tuple[list[tuple[Event, bytes, bytes]], int, str]:
        """(event, headers, body) of each event; one that cannot be converted fails alone."""
        prepared, failed, why = [], 0, ""
        for event in events:
            try:
                prepared.append((event, self._headers.of(event), event.data()))
            except Exception as exc:
                failed, why = failed + 1, f"cannot convert an event: {type(exc).__name__}: {exc}"
        return prepared, failed, why

    def _exchange(
        self, chunk: list[tuple[Event, bytes, bytes]]
    ) -> tuple[list[Response], str, bool]:
        """(the answers that came, why the exchange ended early, whether retrying is futile)."""
        try:
            return self._connection.post_many(self._path, [(h, b) for _, h, b in chunk]), "", False
        except HttpError as exc:
            answers = getattr(exc, "answers", [])
            if answers and len(answers) < len(chunk):
                self._pipeline = 1  # it closed mid-pipeline: one request per connection use
            return answers, str(exc) or type(exc).__name__, isinstance(exc, HttpTlsError)

    def close(self) -> None:
        self._connection.close()
