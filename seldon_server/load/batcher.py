"""Adaptive batching: concurrent predict requests of one process joined into one model call."""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from seldon_server.codecs.message import Message
from seldon_server.errors import DeadlineExceededError, as_seldon_error
from seldon_server.load import deadline
from seldon_server.load.metrics import BatchMetrics
from seldon_server.load.rows import batch_key, groups

logger = logging.getLogger(__name__)

# requests of one batch key, in order -> one outcome (or error) per request
CallRows = Callable[[list[Message]], Sequence[Any]]


def _held_lock() -> Any:
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass(eq=False, slots=True)
class _Entry:
    request: Message
    key: Hashable | None
    enqueued: float = field(default_factory=time.perf_counter)
    # Held until the answer is in: a bare lock is the cheapest wake-up there is (an Event
    # builds a Condition per request and its waiter lock per wait).
    done: Any = field(default_factory=_held_lock)
    answered: bool = False
    outcome: Any = None
    abandoned: bool = False  # its deadline passed while it waited: not run


class Batcher:
    """One thread per process calls predict for batches of the requests that wait for it.

    A batch is called when it holds `max_size` requests or when its first request has waited
    `max_wait` seconds (a lone request waits that long; under load the next batch gathers while
    the model runs the last one). Requests with another batch key are called with their own kind,
    those without one alone, in arrival order. Predict is called by this thread only.
    """

    def __init__(self, call_rows: CallRows, max_size: int, max_wait: float) -> None:
        self.call_rows = call_rows
        self.max_size = max_size
        self.max_wait = max_wait
        self._queue: queue.SimpleQueue[_Entry] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._owner = 0  # the pid whose thread runs batches (a fork has none)
        self._metrics: BatchMetrics | None = None

    def submit(self, request: Message) -> Any:
        """This request's outcome, once its batch has run.

        Raises:
            DeadlineExceededError: the request's deadline passed first; it will not run.
        """
        entry = _Entry(request, batch_key(request))
        self._start()
        self._queue.put(entry)
        until = deadline.current()
        if not entry.done.acquire(
            timeout=-1 if until is None else max(0.0, until - time.monotonic())
        ):
            entry.abandoned = True  # too late if its batch already runs: the result is dropped
            raise DeadlineExceededError("Request timed out waiting for its batch")
        if isinstance(entry.outcome, BaseException):
            raise entry.outcome
        return entry.outcome

    def _start(self) -> None:
        if self._owner == os.getpid():
            return
        with self._lock:
            if self._owner != os.getpid():
                self._metrics = BatchMetrics()  # per process: a fork's metrics are its own
                threading.Thread(target=self._run, name="batcher", daemon=True).start()
                self._owner = os.getpid()

    def _run(self) -> None:
        while True:
            batch = self._collect()
            try:
                self._call(batch)
            except BaseException as exc:  # never leave a waiting request without an answer
                error = as_seldon_error(exc)
                for entry in batch:
                    if not entry.answered:
                        _answer(entry, error)
                logger.exception("Batching failed")

    def _collect(self) -> list[_Entry]:
        first = self._queue.get()
        batch = [first]
        until = first.enqueued + self.max_wait
        while len(batch) < self.max_size:
            left = until - time.perf_counter()
            try:
                entry = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            batch.append(entry)
        return batch

    def _call(self, batch: list[_Entry]) -> None:
        called = time.perf_counter()
        metrics = self._metrics
        live = [entry for entry in batch if not entry.abandoned]
        if metrics is not None:
            for entry in live:
                metrics.wait.observe(called - entry.enqueued)
        for indices in groups([entry.key for entry in live], self.max_size):
            group = [live[index] for index in indices]
            if metrics is not None:
                metrics.size.observe(len(group))
            try:
                outcomes: Sequence[Any] = self.call_rows([entry.request for entry in group])
            except Exception as exc:  # only this call's requests fail
                outcomes = [as_seldon_error(exc)] * len(group)
            for entry, outcome in zip(group, outcomes, strict=True):
                _answer(entry, outcome)

    def record_call(self, size: int) -> None:
        """A joined call made without the thread (a Kafka batch in hand), for the metrics."""
        if self._metrics is None:
            self._metrics = BatchMetrics()
        self._metrics.size.observe(size)


def _answer(entry: _Entry, outcome: Any) -> None:
    entry.outcome = outcome
    entry.answered = True
    entry.done.release()
