"""A real HTTP sink on a free loopback port that records every event it is sent.

Its answers are scripted: a queue of status codes (then 200s), and an optional stall that holds
every answer until released, so tests can play a failing, slow or healthy request logger.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cloudevents.v1.http import from_http


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]  # lower-case names
    body: bytes
    status: int  # what the sink answered

    def event(self) -> object:
        """The CloudEvent the SDK reads from it (raises when it is not a valid one)."""
        return from_http(self.headers, self.body)


class Stall:
    """Set: the sink's answers wait; cleared: they go (waiters are woken, nobody polls)."""

    def __init__(self) -> None:
        self._over = threading.Event()
        self._over.set()

    def set(self) -> None:
        self._over.clear()

    def clear(self) -> None:
        self._over.set()

    def is_set(self) -> bool:
        return not self._over.is_set()

    def wait_over(self) -> None:
        self._over.wait()


class EventSink:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.statuses: list[int] = []  # answered first, in order; then 200
        self.stalled = Stall()  # while set, answers wait
        self.close_each = False  # answer each request with Connection: close, then close
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, and pipelined requests in order

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                sink.stalled.wait_over()
                with sink._lock:
                    status = sink.statuses.pop(0) if sink.statuses else 200
                    headers = {name.lower(): value for name, value in self.headers.items()}
                    if status == 200:
                        sink.received.append(Received(headers, body, status))
                    sink._changed.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                if sink.close_each:
                    self.send_header("Connection", "close")  # the server then closes
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return None

        return Handler

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        """Block until `count` events were accepted (or fail after `timeout`)."""
        return self.wait_until(lambda got: len(got) >= count, f"{count} events", timeout)

    def events_of(self, *puids: str, count: int = 2, timeout: float = 30.0) -> list[Received]:
        """The events whose request id is one of `puids`, once each has `count` of them."""

        def mine(got: list[Received]) -> list[Received]:
            return [event for event in got if event.headers.get("ce-requestid") in puids]

        def complete(got: list[Received]) -> bool:
            found = mine(got)
            return all(
                sum(e.headers["ce-requestid"] == puid for e in found) >= count for puid in puids
            )

        return mine(self.wait_until(complete, f"{count} events for each of {puids}", timeout))

    def wait_until(
        self, done: Callable[[list[Received]], bool], what: str, timeout: float = 30.0
    ) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not done(self.received):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {what} within {timeout}s: {len(self.received)} in")
                self._changed.wait(min(left, 0.5))
            return list(self.received)

    def close(self) -> None:
        self.stalled.clear()
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def running_sink() -> Iterator[EventSink]:
    sink = EventSink()
    thread = threading.Thread(target=sink.server.serve_forever, name="event-sink", daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        sink.close()
        thread.join(5)
