"""The per-process request log: a bounded queue the front ends put events into, and senders.

Nothing here may slow a request down: putting an event is a size check and a put on a C queue;
a full queue drops the event (counted), and every conversion and all network work happen in the
sender threads.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Protocol

from seldon_server.request_log.events import FEEDBACK, REQUEST, RESPONSE, Event, Payload
from seldon_server.request_log.metrics import LogMetrics

logger = logging.getLogger(__name__)

BATCH = 128  # events a sender takes from the queue at once (one pipelined write)
# How long a sender waits for more events before shipping a short batch: a write, a wake-up and
# a round trip per event cost a busy server a quarter of its throughput; one per batch does not.
LINGER = 0.01
WARN_EVERY = 60.0  # seconds between two warnings about the sink
MONITOR_EVERY = 1.0  # seconds between two reports of dropped events and of the queue depth
_STOP = None


class Sink(Protocol):
    """Where one sender thread ships events; it owns its connection."""

    def send(self, events: list[Event], deadline: float | None) -> tuple[int, str]:
        """Ship `events`, retrying what may succeed; (how many failed, why) once done."""
        ...

    def close(self) -> None: ...


class PayloadLog:
    """Events in, on the request path; `senders` threads ship them to the sink."""

    def __init__(
        self,
        make_sink: Callable[[], Sink],
        *,
        mode: str,
        senders: int,
        capacity: int,
        metrics: LogMetrics,
        describe: str,
    ) -> None:
        self.requests = mode in ("all", "request")
        self.responses = mode in ("all", "response")
        self._queue: queue.SimpleQueue[Event | None] = queue.SimpleQueue()
        self._capacity = capacity
        self._metrics = metrics
        self._describe = describe  # the sink, as warnings name it
        self._make_sink = make_sink
        self._deadline: float | None = None  # set by close(): senders give up at it
        self._warned = 0.0
        self._trouble = 0  # events failed or dropped since the last warning
        self._lock = threading.Lock()
        # Drops are counted on the request path by next() (atomic, no lock) and reported to the
        # metrics by the monitor thread; each report takes one number of its own.
        self._drops = itertools.count()
        self._drops_reported = 0
        self._reports = 0
        self._closed = threading.Event()
        self._in_hand = 0  # events the senders have taken and not yet accounted for
        self._threads = [
            threading.Thread(target=self._run, name=f"request-log-{n}", daemon=True)
            for n in range(senders)
        ]
        for thread in self._threads:
            thread.start()
        threading.Thread(target=self._monitor, name="request-log-monitor", daemon=True).start()

    # -- the request path ----------------------------------------------------------------------

    def exchange(self, puid: str, request: Payload, response: Payload) -> None:
        """A request and its response (an error's status body included), sharing one puid."""
        now = time.time()
        if self.requests:
            self._put(Event(REQUEST, puid, *request, now))
        if self.responses:
            self._put(Event(RESPONSE, puid, *response, now))

    def feedback(self, puid: str, body: Payload) -> None:
        """Feedback is logged on its own (its reply says nothing the logger wants), with the
        responses, as the executor logged it."""
        if self.responses:
            self._put(Event(FEEDBACK, puid, *body, time.time()))

    def _put(self, event: Event) -> None:
        if self._queue.qsize() >= self._capacity:
            next(self._drops)
            return
        self._queue.put(event)

    # -- the monitor ---------------------------------------------------------------------------

    def _monitor(self) -> None:
        while not self._closed.wait(MONITOR_EVERY):
            self._report_drops()
            self._metrics.depth.set(self._queue.qsize())

    def _report_drops(self) -> None:
        with self._lock:
            total = next(self._drops) - self._reports
            self._reports += 1
            new, self._drops_reported = total - self._drops_reported, total
        if new:
            self._metrics.dropped.inc(new)
            self._note_trouble(new, "the queue is full")

    # -- senders -------------------------------------------------------------------------------

    def _run(self) -> None:
        sink = self._make_sink()
        try:
            while True:
                first = self._queue.get()
                if first is _STOP:
                    return
                batch = [first]
                if self._deadline is None and self._queue.qsize() < BATCH:
                    time.sleep(LINGER)
                stop = self._drain(batch)
                self._ship(sink, batch)
                if stop:
                    return
        finally:
            sink.close()

    def _drain(self, batch: list[Event]) -> bool:
        """Take what else is waiting, up to BATCH; True when a stop marker was taken."""
        get = self._queue.get_nowait
        while len(batch) < BATCH:
            try:
                event = get()
            except queue.Empty:
                return False
            if event is _STOP:
                return True
            batch.append(event)
        return False

    def _ship(self, sink: Sink, batch: list[Event]) -> None:
        with self._lock:
            self._in_hand += len(batch)
        try:
            self._send(sink, batch)
        finally:
            with self._lock:
                self._in_hand -= len(batch)

    def _send(self, sink: Sink, batch: list[Event]) -> None:
        self._metrics.depth.set(self._queue.qsize())
        started = time.perf_counter()
        try:
            failed, why = sink.send(batch, self._deadline)
        except Exception as exc:  # a sender must survive anything a sink does
            logger.exception("Request log: sending %d events failed", len(batch))
            failed, why = len(batch), f"{type(exc).__name__}: {exc}"
        self._metrics.latency.observe(time.perf_counter() - started)
        if len(batch) > failed:
            self._metrics.sent.inc(len(batch) - failed)
        if failed:
            self._metrics.failed.inc(failed)
            self._note_trouble(failed, why)

    def _note_trouble(self, count: int, why: str) -> None:
        """One warning a minute at most, with what was lost since the previous one."""
        now = time.monotonic()
        with self._lock:
            self._trouble += count
            if now - self._warned < WARN_EVERY and self._warned:
                return
            lost, self._trouble, self._warned = self._trouble, 0, now
        logger.warning(
            "Request log: %d events not delivered to %s (%s); see the seldon_request_log_* "
            "metrics (at most one such warning a minute)",
            lost,
            self._describe,
            why,
        )

    # -- shutdown ------------------------------------------------------------------------------

    def close(self, timeout: float) -> None:
        """Ship what is queued for up to `timeout` seconds; what is left then is dropped."""
        self._deadline = time.monotonic() + timeout
        for _ in self._threads:
            self._queue.put(_STOP)
        for thread in self._threads:
            thread.join(max(0.0, self._deadline - time.monotonic()))
        self._closed.set()
        self._report_drops()
        left = sum(1 for event in _drain_all(self._queue) if event is not _STOP)
        with self._lock:
            left += self._in_hand  # still with a sender that did not finish in time
        if left or any(thread.is_alive() for thread in self._threads):
            self._metrics.dropped.inc(left)
            logger.warning("Request log: stopped with %d events unsent to %s", left, self._describe)
        self._metrics.depth.set(0)


def _drain_all(events: queue.SimpleQueue[Event | None]) -> list[Event | None]:
    taken = []
    while True:
        try:
            taken.append(events.get_nowait())
        except queue.Empty:
            return taken
