"""Admission and deadlines: how many requests a process holds, runs at once, and for how long."""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TypeVar

from seldon_server.errors import ClientGoneError, DeadlineExceededError, OverloadedError
from seldon_server.load import deadline as request_deadline
from seldon_server.load.metrics import GateMetrics
from seldon_server.settings import (
    ADMITTED_AT_LEAST,
    ADMITTED_PER_SLOT,
    MAX_WAIT_SECONDS,
    Settings,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")
REJECT_THREADS = 4  # request threads beyond the admitted ones, which answer the refusals
RETRY_AFTER_SECONDS = 1
SHED_LOG_INTERVAL = 60.0  # at most one warning a minute while shedding
SAMPLE_SECONDS = 1.0  # how often the admitted gauge is set
# grpc reports a call without a deadline as one centuries away, past what a wait can take
NO_DEADLINE = MAX_WAIT_SECONDS


@dataclass(frozen=True)
class GatePlan:
    """How one serving process takes requests on one transport."""

    slots: int  # requests run at once
    limit: int  # requests held at once, running or waiting; 0: no admission control
    threads: int  # the server's request threads: the admitted plus those that refuse the rest
    timeout: float  # seconds from arrival to answer; 0: none


def rest_plan(settings: Settings, batching: bool = False) -> GatePlan:
    """A one-thread REST worker takes one request at a time (the others wait in the socket
    backlog, out of reach): it has nothing to admit, only deadlines."""
    slots = _slots(settings, settings.rest_threads, batching)
    if slots == 1:
        return GatePlan(1, 0, 1, settings.request_timeout)
    return _plan(settings, slots)


def grpc_plan(settings: Settings, batching: bool = False) -> GatePlan:
    return _plan(settings, _slots(settings, settings.grpc_threads, batching))


def _slots(settings: Settings, threads: int, batching: bool) -> int:
    """With batching, enough requests at once to fill a batch: predict runs on the batch thread
    and the dispatcher bounds the other user calls by `threads` (Dispatcher.call_limit)."""
    return max(threads, settings.max_batch_size) if batching else threads


def _plan(settings: Settings, slots: int) -> GatePlan:
    limit = settings.max_admitted or max(ADMITTED_PER_SLOT * slots, ADMITTED_AT_LEAST)
    slots = min(slots, limit)
    return GatePlan(slots, limit, limit + REJECT_THREADS, settings.request_timeout)


def make_gate(plan: GatePlan, transport: str) -> Gate | None:
    """A gate when there is something to control: admission, or a request timeout."""
    return Gate(plan, transport) if plan.limit or plan.timeout else None


class Gate:
    """Admits up to `limit` requests, runs `slots` of them at once, answers at deadlines.

    Refusing costs a lock and a counter; the model is never touched. With a request timeout,
    a call runs on a separate thread so that the request thread can answer at the deadline; a
    call still running then finishes in the background and its result is discarded (Python
    cannot stop a thread), and it keeps its slot until it returns.
    """

    def __init__(self, plan: GatePlan, transport: str) -> None:
        self.plan = plan
        self.transport = transport
        self._slots = threading.BoundedSemaphore(plan.slots)
        self._lock = threading.Lock()
        self._admitted = 0
        self._owner = 0  # the pid that made the pool, metrics and sampler (not a fork's parent)
        self._pool: ThreadPoolExecutor | None = None
        self._metrics: GateMetrics | None = None
        self._shed = 0  # refusals since the last warning
        self._next_warning = 0.0

    def enter(self) -> None:
        """Admit one request, or refuse it.

        Raises:
            OverloadedError: the process already holds `limit` requests.
        """
        if self._owner != os.getpid():
            self._start()
        if not self.plan.limit:
            return
        with self._lock:
            if self._admitted >= self.plan.limit:
                self._shed += 1
                shed = self._shed
            else:
                self._admitted += 1
                return
        self._refused(shed)
        raise OverloadedError(self.plan.limit, RETRY_AFTER_SECONDS)

    def leave(self) -> None:
        if self.plan.limit:
            with self._lock:
                self._admitted -= 1

    @contextlib.contextmanager
    def admitted(self) -> Iterator[None]:
        """The request held from enter() (which may refuse it) to leave()."""
        self.enter()
        try:
            yield
        finally:
            self.leave()

    def deadline(self, client_remaining: float | None = None) -> float | None:
        """The monotonic instant to answer by: the request timeout's or the client's, if sooner."""
        now = time.monotonic()
        timeout = self.plan.timeout
        own = now + timeout if timeout else None
        if client_remaining is None or client_remaining > NO_DEADLINE:
            return own
        theirs = now + client_remaining
        return theirs if own is None else min(own, theirs)

    def run(
        self,
        call: Callable[[], T],
        deadline: float | None = None,
        gone: Callable[[], bool] | None = None,
    ) -> T:
        """`call()` in its turn, answered by `deadline`; not run if the client is `gone()` after
        waiting for its turn.

        Raises:
            DeadlineExceededError: the deadline passed, waiting or running.
            ClientGoneError: the client left while the request waited.
        """
        if not self._slots.acquire(blocking=False):
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not self._slots.acquire(timeout=wait):
                self._timed_out("waiting")
                raise DeadlineExceededError("Request timed out waiting for its turn")
            if gone is not None and gone():
                self._slots.release()
                self._count_gone()
                raise ClientGoneError()
        if deadline is None or not self.plan.timeout:
            # No deadline, or only a gRPC client's: grpc answers the client at its deadline.
            request_deadline.set_current(deadline)
            try:
                return call()
            finally:
                self._slots.release()
        return self._run_timed(call, deadline)

    def _run_timed(self, call: Callable[[], T], deadline: float) -> T:
        assert self._pool is not None

        def timed() -> T:
            request_deadline.set_current(deadline)
            try:
                return call()
            finally:
                self._slots.release()

        left = deadline - time.monotonic()
        if left <= 0:  # its turn came too late: answered now, never run
            self._slots.release()
            self._timed_out("waiting")
            raise DeadlineExceededError("Request timed out waiting for its turn")
        # The call's thread sees this one's context (the request's tracing span among it).
        future = self._pool.submit(contextvars.copy_context().run, timed)
        try:
            return future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            self._timed_out("running")
            raise DeadlineExceededError(
                f"Request timed out after {self.plan.timeout:g}s (--request-timeout)"
            ) from None

    def _start(self) -> None:
        """Per process, after fork: the metrics, the timed-call pool and the gauge sampler."""
        with self._lock:
            if self._owner == os.getpid():
                return
            self._metrics = GateMetrics(self.transport)
            if self.plan.timeout:
                self._pool = ThreadPoolExecutor(self.plan.slots, thread_name_prefix="timed-call")
            if self.plan.limit:
                threading.Thread(target=self._sample, name="admitted-gauge", daemon=True).start()
            self._owner = os.getpid()

    def _sample(self) -> None:
        metrics = self._metrics
        assert metrics is not None
        while True:
            metrics.admitted.set(self._admitted)
            time.sleep(SAMPLE_SECONDS)

    def _refused(self, shed: int) -> None:
        if self._metrics is not None:
            self._metrics.overloaded.inc()
        now = time.monotonic()
        if now >= self._next_warning:
            self._next_warning = now + SHED_LOG_INTERVAL
            self._shed = 0
            logger.warning(
                "Overloaded: %d %s request(s) refused with %d admitted (--max-admitted); "
                "next report in %.0fs at the earliest",
                shed, self.transport, self.plan.limit, SHED_LOG_INTERVAL,
            )  # fmt: skip

    def _timed_out(self, stage: str) -> None:
        if self._metrics is not None:
            self._metrics.timed_out[stage].inc()

    def _count_gone(self) -> None:
        if self._metrics is not None:
            self._metrics.client_gone.inc()
