"""A real HTTP sink on a free loopback port that records every event it is sent.

Its answers are scripted: a queue of status codes (then 200s), and an optional stall that holds
every answer until released, so tests can play a failing, slow or healthy request logger.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
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


class EventSink:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.statuses: list[int] = []  # answered first, in order; then 200
        self.stalled = threading.Event()  # while set, answers wait
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
                while sink.stalled.is_set():
                    time.sleep(0.01)
                with sink._lock:
                    status = sink.statuses.pop(0) if sink.statuses else 200
                    headers = {name.lower(): value for name, value in self.headers.items()}
                    if status == 200:
                        sink.received.append(Received(headers, body, status))
                    sink._changed.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return None

        return Handler

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        """Block until `count` events were accepted (or fail after `timeout`)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.received)} of {count} events within {timeout}s")
                self._changed.wait(left)
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
