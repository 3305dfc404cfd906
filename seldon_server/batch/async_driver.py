"""The gRPC driver: up to --workers tasks in flight at once without a thread per task."""

from __future__ import annotations

import functools
import heapq
import itertools
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from seldon_server.batch.client import CallError, GrpcClient
from seldon_server.batch.payload import Line, PayloadError
from seldon_server.batch.processor import Interrupted, Outcome, Processor, Send, Steps

# Why not a thread per worker as for REST: a blocking grpcio call costs more CPU than starting the
# call and continuing from its completion callback, and fifty threads contending for the GIL add
# more (measured with bench/batch). Each task's logic (processor) is a generator; it is stepped on
# gRPC's callback thread when its call completes, and on the driver thread when it starts or its
# retry timer fires. One lock keeps those steps from overlapping.

logger = logging.getLogger(__name__)

_POLL = 0.2  # seconds: how often an idle driver looks at the stop flag


@dataclass(slots=True)
class _Task:
    seq: int
    lines: list[Line]
    steps: Steps
    client: GrpcClient
    started: float = field(default_factory=time.monotonic)


class AsyncDriver:
    """Takes tasks from `tasks` (None: no more), writes (seq, outcomes) to `results`."""

    def __init__(
        self,
        processor: Processor,
        clients: list[GrpcClient],
        tasks: queue.SimpleQueue[Any],
        results: queue.SimpleQueue[Any],
        stop: threading.Event,
    ) -> None:
        self.processor, self.clients, self.tasks = processor, clients, tasks
        self.results, self.stop = results, stop
        self.limit = processor.config.workers
        self.interval = processor.config.batch_interval
        self.in_flight = 0
        self.pending: deque[tuple[int, list[Line]]] = deque()
        self.timers: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()  # ties in the timer heap never compare callables
        self._next_client = itertools.cycle(clients)
        self._lock = threading.RLock()
        self._ready: deque[tuple[_Task, Any]] = deque()  # completions not yet continued
        self._draining = False

    def run(self) -> None:
        """Until the reader is done and every task has finished."""
        reading = True
        while True:
            with self._lock:
                if not (reading or self.pending or self.in_flight or self.timers):
                    return
                wait = self._wait()
            items = self._take(wait)
            with self._lock:
                for item in items:
                    if item is None:
                        reading = False
                    elif item:
                        self._accept(item)
                self._fire_timers()
                self._start_pending()

    def _take(self, wait: float) -> list[Any]:
        """Wait for one item, then take whatever else is queued without waiting again."""
        try:
            items = [self.tasks.get(timeout=wait)]
        except queue.Empty:
            return []
        while True:
            try:
                items.append(self.tasks.get_nowait())
            except queue.Empty:
                return items

    def _start_pending(self) -> None:
        while self.pending and self.stop.is_set():
            self.results.put((self.pending.popleft()[0], None))  # left for --resume
        while self.pending and self.in_flight < self.limit:
            self._start(*self.pending.popleft())

    def _accept(self, task: tuple[int, list[Line]]) -> None:
        if self.stop.is_set():
            self.results.put((task[0], None))  # never started: left for --resume
        else:
            self.pending.append(task)

    def _wait(self) -> float:
        if not self.timers:
            return _POLL
        return min(_POLL, max(0.0, self.timers[0][0] - time.monotonic()))

    def _start(self, seq: int, lines: list[Line]) -> None:
        self.in_flight += 1
        task = _Task(seq, lines, self.processor.process(lines), next(self._next_client))
        self._advance(task, None, None)

    def _on_done(self, task: _Task, future: Any) -> None:
        """gRPC's completion callback: continue the task right here, under the lock.

        gRPC calls it at once, inside `start`, for a call that ended before the callback was
        added (a refused connection); continuing there would recurse from task to task, so
        such completions are queued for the outermost frame on this thread to take.
        """
        with self._lock:
            self._ready.append((task, future))
            if self._draining:
                return
            self._draining = True
            try:
                while self._ready:
                    self._continue(*self._ready.popleft())
                    self._start_pending()
            finally:
                self._draining = False
            if not self.in_flight:
                self.tasks.put(())  # wake the driver: it may be waiting only to finish

    def _continue(self, task: _Task, future: Any) -> None:
        try:
            value = task.client.finish(future)
        except Exception as exc:  # an error escaping into gRPC's thread would lose the task
            self._advance(task, None, _as_call_error(exc))
        else:
            self._advance(task, value, None)

    def _advance(self, task: _Task, value: Any, error: BaseException | None) -> None:
        """Step the task until it waits for a call or a timer, or ends."""
        while True:
            try:
                effect = task.steps.throw(error) if error is not None else task.steps.send(value)
            except StopIteration as finished:
                self._finish(task, finished.value)
                return
            except Interrupted:
                self._finish(task, None)
                return
            except Exception as exc:  # one task's bug must not lose lines or stop the run
                logger.exception("unexpected error on lines %d..", task.lines[0].index)
                reason = f"internal error: {exc!r}"
                self._finish(task, [self.processor.failure(ln, reason) for ln in task.lines])
                return
            value, error = None, None
            if isinstance(effect, Send):
                try:
                    task.client.start(
                        effect.body, effect.puid, functools.partial(self._on_done, task)
                    )
                    return
                except PayloadError as exc:
                    error = exc  # the request could not even be built: the task handles it
                except Exception as exc:  # e.g. a closed channel: fail the line, never hang
                    error = _as_call_error(exc)
            elif self.stop.is_set():
                error = Interrupted()
            else:
                self._at(time.monotonic() + effect.seconds, functools.partial(self._resume, task))
                return

    def _resume(self, task: _Task) -> None:
        self._advance(task, None, Interrupted() if self.stop.is_set() else None)

    def _finish(self, task: _Task, outcomes: list[Outcome] | None) -> None:
        self.results.put((task.seq, outcomes))
        remaining = self.interval - (time.monotonic() - task.started)
        if remaining > 0 and not self.stop.is_set():
            self._at(time.monotonic() + remaining, self._free_slot)  # --batch-interval pacing
        else:
            self._free_slot()

    def _free_slot(self) -> None:
        self.in_flight -= 1

    def _at(self, when: float, action: Callable[[], None]) -> None:
        heapq.heappush(self.timers, (when, next(self._order), action))
        self.tasks.put(())  # wake the driver so it waits no longer than the new timer

    def _fire_timers(self) -> None:
        now, stopping = time.monotonic(), self.stop.is_set()
        while self.timers and (stopping or self.timers[0][0] <= now):
            _, _, action = heapq.heappop(self.timers)
            action()


def _as_call_error(exc: Exception) -> CallError:
    if isinstance(exc, CallError):
        return exc
    return CallError(f"gRPC call failed: {exc!r}", retryable=False)
