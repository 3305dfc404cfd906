"""One task's lines -> output lines: requests, retries with backoff, micro-batch splitting."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from seldon_server.batch.client import CallError, Client
from seldon_server.batch.config import BatchConfig
from seldon_server.batch.payload import Line, Part, PayloadError, Unbatchable
from seldon_server.batch.payload import batch_tags as make_tags
from seldon_server.batch.protocols import make_codec
from seldon_server.batch.responses import SplitError, error_line

# The logic is written once, as generators that yield what they need done: `Send` (a request; the
# driver sends back the response dict or throws the CallError) and `Sleep` (a retry delay; the
# driver throws Interrupted if the run is stopped meanwhile). `run_blocking` drives a task on a
# worker thread with a blocking client (REST); the gRPC driver (async_driver) interleaves many
# tasks on one thread with non-blocking calls, which costs the gRPC runtime far less CPU per call.

logger = logging.getLogger(__name__)

Outcome = tuple[str, bool]  # (output line, succeeded)

_MAX_DELAY = 10.0
_LOGGED_FAILURES = 20  # failures logged at WARNING before the rest go to DEBUG


class Interrupted(Exception):
    """The run was stopped while this task waited to retry; its lines are left for --resume."""


@dataclass(frozen=True, slots=True)
class Send:
    """Send `body` (puid in the header); resume with the response or throw the CallError."""

    body: dict[str, Any]
    puid: str


@dataclass(frozen=True, slots=True)
class Sleep:
    """Wait before a retry; throw Interrupted instead if the run is stopped."""

    seconds: float


Effect = Send | Sleep
Steps = Generator[Effect, Any, Any]


def run_blocking(steps: Steps, client: Client, stop: threading.Event) -> Any:
    """Drive `steps` to the end on this thread; returns what the generator returns."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            effect = steps.throw(error) if error is not None else steps.send(value)
        except StopIteration as done:
            return done.value
        value, error = None, None
        if isinstance(effect, Send):
            try:
                value = client.send(effect.body, effect.puid)
            except CallError as exc:
                error = exc
        elif stop.wait(effect.seconds):
            error = Interrupted()


class Processor:
    """Turns a task's lines into one outcome per line; shared by every worker."""

    def __init__(self, config: BatchConfig, batch_id: str) -> None:
        self.config = config
        self.batch_id = batch_id
        self.feedback = config.method == "feedback"
        self.codec = make_codec(config, batch_id)
        self._failures = 0
        self.overloaded = 0  # attempts refused for load (503, 429, RESOURCE_EXHAUSTED), retried
        self._lock = threading.Lock()

    def process(self, lines: list[Line]) -> Generator[Effect, Any, list[Outcome]]:
        """One outcome per line, in the order of `lines`."""
        if len(lines) == 1 or self.config.batch_size == 1:
            outcomes = []
            for line in lines:
                outcomes.append((yield from self.one(line)))
            return outcomes
        return (yield from self._micro_batch(lines))

    def one(self, line: Line) -> Generator[Effect, Any, Outcome]:
        """Send one line as its own request."""
        try:
            body = self.codec.single(line)
            response = yield from self.call(body, line.instance_id)
        except (PayloadError, CallError) as exc:
            return self.failure(line, str(exc))
        return self.codec.success(response, line), True

    def _micro_batch(self, lines: list[Line]) -> Generator[Effect, Any, list[Outcome]]:
        outcomes: dict[int, Outcome] = {}
        groups: dict[tuple[Any, ...], list[Part]] = {}
        alone: list[Line] = []
        for line in lines:
            try:
                part = self.codec.part(line)
            except PayloadError as exc:  # a bad line fails alone; the rest of the batch goes on
                outcomes[line.index] = self.failure(line, str(exc))
                continue
            except Unbatchable:
                alone.append(line)
                continue
            groups.setdefault(part.key, []).append(part)
        for parts in groups.values():
            if len(parts) == 1:
                alone.append(parts[0].line)  # a group of one looks exactly like batch size 1
            else:
                outcomes.update((yield from self._send_group(parts)))
        for line in alone:
            outcomes[line.index] = yield from self.one(line)
        return [outcomes[line.index] for line in lines]

    def _send_group(self, parts: list[Part]) -> Generator[Effect, Any, dict[int, Outcome]]:
        body = self.codec.combine(parts)
        try:
            response = yield from self.call(body, parts[0].line.instance_id)
            texts = self.codec.split(response, parts)
        except (CallError, SplitError, PayloadError) as exc:
            if isinstance(exc, CallError) and exc.retryable:
                return {part.line.index: self.failure(part.line, str(exc)) for part in parts}
            # The server refused the batch or answered with a shape we cannot split (a model
            # that aggregates rows): send the lines one by one so only a bad line fails.
            logger.debug("micro-batch of %d lines failed (%s); sending them one by one",
                         len(parts), exc)  # fmt: skip
            singles = {}
            for part in parts:
                singles[part.line.index] = yield from self.one(part.line)
            return singles
        return {part.line.index: (text, True) for part, text in zip(parts, texts, strict=True)}

    def call(self, body: dict[str, Any], puid: str) -> Generator[Effect, Any, dict[str, Any]]:
        """Send with retries: exponential backoff with jitter, only for retryable failures."""
        attempts = self.config.attempts
        for attempt in range(1, attempts + 1):
            try:
                response: dict[str, Any] = yield Send(body, puid)
                return response
            except CallError as exc:
                if not exc.retryable or attempt == attempts:
                    if attempt > 1:
                        exc.reason = f"{exc.reason} (after {attempt} attempts)"
                        exc.args = (exc.reason,)
                    raise
                delay = self.retry_delay(attempt, exc)
                logger.debug("attempt %d/%d failed: %s; retrying in %.2f s",
                             attempt, attempts, exc.reason, delay)  # fmt: skip
            yield Sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def retry_delay(self, attempt: int, exc: CallError) -> float:
        """The backoff, or the server's Retry-After when that is longer; counts overloads."""
        delay = self.backoff(attempt)
        if exc.retry_after is not None:
            delay = max(delay, exc.retry_after)
        if exc.overloaded:
            self._count_overloaded(exc.reason, delay)
        return delay

    def _count_overloaded(self, reason: str, delay: float) -> None:
        with self._lock:
            self.overloaded += 1
            first = self.overloaded == 1
        if first:  # once: an overloaded server refuses many attempts, the summary counts them
            logger.warning("the server is overloaded (%s); retrying in %.2f s, and counting "
                           "further overloaded answers in the summary", reason, delay)  # fmt: skip

    def backoff(self, attempt: int) -> float:
        """Delay before attempt `attempt + 1`: doubling from --retry-backoff, 50-100% jitter."""
        delay = min(_MAX_DELAY, self.config.retry_backoff * 2 ** (attempt - 1))
        return delay * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not cryptography

    def failure(self, line: Line, reason: str) -> Outcome:
        """The error line for `line`; the first few failures are also logged."""
        with self._lock:
            self._failures += 1
            count = self._failures
        if count <= _LOGGED_FAILURES:
            logger.warning("line %d failed: %s", line.index, reason)
            if count == _LOGGED_FAILURES:
                logger.warning("further line failures are logged at debug level only")
        else:
            logger.debug("line %d failed: %s", line.index, reason)
        return error_line(reason, make_tags(self.batch_id, line), self.feedback), False
