"""Events produced to a Kafka topic: key = puid, CloudEvents attributes as headers."""

from __future__ import annotations

import threading
import time
from typing import Any

from seldon_server.request_log.events import Event, KafkaHeaders

FLUSH_SLICE = 0.05  # seconds per poll for delivery reports (another sender may take ours)


class KafkaProducerShare:
    """One librdkafka producer per process, shared by its sender threads (it is thread-safe)."""

    def __init__(self, config: dict[str, Any], topic: str, headers: KafkaHeaders) -> None:
        from confluent_kafka import Producer

        self.producer = Producer(config)
        self.topic = topic
        self.headers = headers
        self._users = 0
        self._lock = threading.Lock()

    def sink(self) -> KafkaSink:
        with self._lock:
            self._users += 1
        return KafkaSink(self)

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            last = self._users == 0
        if last:
            self.producer.flush(5)


class KafkaSink:
    """Produces a batch and waits for its delivery reports (librdkafka retries inside)."""

    def __init__(self, share: KafkaProducerShare) -> None:
        self._share = share

    def send(self, events: list[Event], deadline: float | None) -> tuple[int, str]:
        share = self._share
        outcome = _Outcome(len(events))
        for event in events:
            try:
                value = event.data()
            except Exception as exc:  # this event alone fails
                outcome.report(f"cannot convert an event: {type(exc).__name__}: {exc}", None)
                continue
            self._produce(share, event, value, outcome)
        while not outcome.done.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                break
            share.producer.poll(FLUSH_SLICE)
        return outcome.failed + outcome.waiting, outcome.why

    def _produce(
        self, share: KafkaProducerShare, event: Event, value: bytes, outcome: _Outcome
    ) -> None:
        while True:
            try:
                share.producer.produce(
                    share.topic,
                    value,
                    key=event.puid.encode("utf-8"),
                    headers=share.headers.of(event),
                    on_delivery=outcome.report,
                )
                return
            except BufferError:  # librdkafka's own queue is full: wait for room
                share.producer.poll(FLUSH_SLICE)

    def close(self) -> None:
        self._share.release()


class _Outcome:
    """Delivery reports of one batch, counted as they arrive (on the thread that polls)."""

    def __init__(self, count: int) -> None:
        self.waiting = count
        self.failed = 0
        self.why = ""
        self.done = threading.Event()
        self._lock = threading.Lock()

    def report(self, error: Any, message: Any) -> None:
        with self._lock:
            self.waiting -= 1
            if error is not None:
                self.failed += 1
                self.why = str(error)
            if self.waiting == 0:
                self.done.set()
