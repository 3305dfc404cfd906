"""A Kafka consumer process: read a batch, answer each record, deliver, commit the offsets."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from seldon_server.codecs import json as json_codec
from seldon_server.dispatch import Dispatcher
from seldon_server.errors import SeldonError, as_seldon_error
from seldon_server.kafka import config
from seldon_server.kafka.messages import (
    ERROR_HEADER,
    PUID_HEADER,
    RecordHandler,
    Reply,
    header_map,
)
from seldon_server.kafka.metrics import KafkaMetrics
from seldon_server.metrics import MetricsSink
from seldon_server.puid import new_puid
from seldon_server.request_log.events import JSON
from seldon_server.request_log.log import PayloadLog
from seldon_server.settings import Settings

logger = logging.getLogger(__name__)

MAX_BATCH = 500  # records read, answered and delivered before their offsets are committed
POLL_SECONDS = 0.2
FIRST_BACKOFF, MAX_BACKOFF = 0.2, 5.0  # between delivery attempts while the broker is away


@dataclass(slots=True)
class Output:
    """One record to produce, and what to do once the broker has acknowledged it."""

    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, str | bytes | None]]
    dead_letter: bool = False
    error: Any = None  # None once acknowledged; IN_FLIGHT, or librdkafka's error, before


@dataclass
class _Batch:
    records: list[Any]
    started: float = field(default_factory=time.perf_counter)


IN_FLIGHT = "not acknowledged yet"
_NO_SPAN = contextlib.nullcontext()


def _flush_seconds(deadline: float | None) -> float:
    """Short waits, so a stop request or the grace deadline is noticed."""
    if deadline is None:
        return 1.0
    return max(0.0, min(1.0, deadline - time.monotonic()))


class Undelivered(Exception):
    """The grace period ended before the broker acknowledged every output of a batch."""


class Stream:
    """The consume -> answer -> produce -> commit loop of one consumer process."""

    def __init__(
        self,
        settings: Settings,
        dispatcher: Dispatcher,
        recorder: MetricsSink,
        tracer: Any,
        payload_log: PayloadLog | None = None,
    ) -> None:
        from confluent_kafka import Consumer, Producer

        self.settings = settings
        self.recorder = recorder
        self.tracer = tracer
        self.handler = RecordHandler(dispatcher, settings.service_type)
        # Batching on: the predict records of a consumed batch share model calls.
        self.batch_size = settings.max_batch_size if dispatcher.batcher is not None else 0
        self.payload_log = payload_log
        self.metrics = KafkaMetrics(config.group_id(settings))
        self.input_topic: str = settings.kafka_input_topic or ""
        self.output_topic: str = settings.kafka_output_topic or ""
        self._last_error = ""
        self._held: list[Any] = []  # records read while paused, answered next
        # librdkafka reports connection trouble through error_cb and its log, not per record.
        client_logs = {"error_cb": self._client_error, "logger": logger}
        self.consumer = Consumer(
            {**config.consumer_config(settings), **client_logs, "stats_cb": self.metrics.on_stats}
        )
        self.producer = Producer({**config.producer_config(settings), **client_logs})
        self.consumer.subscribe(
            [self.input_topic],
            on_assign=self._assigned,
            on_revoke=self._revoked,
            on_lost=self._revoked,
        )

    def run(self, stop: threading.Event, grace: float) -> None:
        """Until `stop`: every batch is answered, delivered and committed before the next."""
        deadline: float | None = None
        while not stop.is_set():
            records = self._poll()
            if not records:
                continue
            batch = _Batch(records)
            outputs = self._answer_all(records)
            if stop.is_set():
                deadline = time.monotonic() + grace
            try:
                self._deliver(outputs, stop, grace, deadline)
            except Undelivered:
                logger.error("Stopping with %d records unacknowledged; not committed", len(outputs))
                return
            self._commit(batch)

    def close(self) -> None:
        """Leave the group (committing stored offsets with auto-commit) and flush the producer."""
        self.producer.flush(5)
        self.consumer.close()

    def _assigned(self, consumer: Any, partitions: list[Any]) -> None:
        self.metrics.assigned.labels(self.metrics.group).set(len(partitions))

    def _revoked(self, consumer: Any, partitions: list[Any]) -> None:
        self.metrics.assigned.labels(self.metrics.group).set(0)

    # -- steps -------------------------------------------------------------------------------

    def _poll(self) -> list[Any]:
        if self._held:
            records, self._held = self._held, []
        else:
            records = self._records(self.consumer.consume(MAX_BATCH, POLL_SECONDS))
        if records:
            self.metrics.consumed.labels(self.input_topic).inc(len(records))
        return records

    def _records(self, events: list[Any]) -> list[Any]:
        """The records among consume()'s events; the errors are logged (once each)."""
        records = []
        for event in events:
            error = event.error()
            if error is None:
                records.append(event)
            else:
                self._log_once(f"Kafka: {error.str()}")
        return records

    def _answer_all(self, records: list[Any]) -> list[Output]:
        """Every record's output; with batching on, predict records share model calls. The
        latencies are recorded once per batch (a metric write per record costs as much as a
        fifth of answering it)."""
        durations: dict[int, list[float]] = {}
        if self.batch_size < 2:
            outputs = []
            for record in records:
                output, code, seconds = self._answer(record)
                outputs.append(output)
                durations.setdefault(code, []).append(seconds)
        else:
            outputs = self._answer_together(records, durations)
        for code, latencies in durations.items():
            self.recorder.observe_requests("kafka", code, latencies)
        return outputs

    def _answer_together(
        self, records: list[Any], durations: dict[int, list[float]]
    ) -> list[Output]:
        started = time.perf_counter()
        pairs = [(record.value(), header_map(record.headers())) for record in records]
        with self._batch_span(len(records)):
            results = self.handler.handle_many(pairs, self.batch_size)
        seconds = time.perf_counter() - started  # every record of the batch took that long
        outputs = []
        for record, (_, headers), result in zip(records, pairs, results, strict=True):
            output, code = self._settle(record, headers, result)
            outputs.append(output)
            durations.setdefault(code, []).append(seconds)
        return outputs

    def _answer(self, record: Any) -> tuple[Output, int, float]:
        headers = header_map(record.headers())
        started = time.perf_counter()
        result: Reply | Exception
        try:
            with self._span(record, headers):
                result = self.handler.handle(record.value(), headers)
        except Exception as exc:
            result = exc
        output, code = self._settle(record, headers, result)
        return output, code, time.perf_counter() - started

    def _settle(
        self, record: Any, headers: dict[str, bytes], result: Reply | Exception
    ) -> tuple[Output, int]:
        """A record's output and status: its reply, or its failure's (never dropped)."""
        if not isinstance(result, Exception):
            if self.payload_log is not None:
                self._log_payloads(record, headers, result.puid, result.value)
            return Output(self.output_topic, record.key(), result.value, result.headers), 200
        error = result if isinstance(result, SeldonError) else as_seldon_error(result)
        self._log_failure(error, record)
        if self.payload_log is not None:
            puid = headers.get(PUID_HEADER.lower(), b"").decode("utf-8", "replace")
            self._log_payloads(record, headers, puid or new_puid(), error)
        return self._failure_output(record, error), error.status_code

    def _log_payloads(
        self, record: Any, headers: dict[str, bytes], puid: str, reply: bytes | SeldonError
    ) -> None:
        """The record and its reply (or its failure's status body) to the request log; a
        failure to log is logged and never changes the record's fate."""
        assert self.payload_log is not None
        try:
            value = record.value() or b""
            request, feedback, response = self.handler.logged_payloads(value, headers)
            if feedback:
                self.payload_log.feedback(puid, request)
            elif isinstance(reply, SeldonError):
                self.payload_log.exchange(
                    puid, request, (json_codec.status_body(reply), JSON, None)
                )
            else:
                self.payload_log.exchange(puid, request, (reply, *response))
        except Exception:
            logger.warning("Request log: cannot log a Kafka record", exc_info=True)

    def _failure_output(self, record: Any, error: SeldonError) -> Output:
        """Never dropped: to the dead-letter topic unchanged, else the status body as the output."""
        self.metrics.failed.labels(self.input_topic, error.reason).inc()
        dead_letter = self.settings.kafka_dead_letter_topic
        details = [
            (f"{ERROR_HEADER}-reason", error.reason.encode()),
            (f"{ERROR_HEADER}-info", error.message.encode("utf-8", "replace")),
            (f"{ERROR_HEADER}-status", str(error.status_code).encode()),
        ]
        if dead_letter:
            source = [
                ("seldon-source-topic", record.topic().encode()),
                ("seldon-source-partition", str(record.partition()).encode()),
                ("seldon-source-offset", str(record.offset()).encode()),
            ]
            headers = [*(record.headers() or []), *details, *source]
            return Output(dead_letter, record.key(), record.value() or b"", headers, True)
        headers = [(ERROR_HEADER, error.reason.encode()), *details]
        return Output(self.output_topic, record.key(), json_codec.status_body(error), headers)

    def _deliver(
        self, outputs: list[Output], stop: threading.Event, grace: float, deadline: float | None
    ) -> None:
        """Produce until the broker acknowledged every output; back off while it is away.

        librdkafka retries a produce itself for MESSAGE_TIMEOUT_MS, then reports it failed: only
        then is it produced again, so no output is queued twice.
        """
        to_send = outputs
        backoff = FIRST_BACKOFF
        paused = False
        try:
            while True:
                for output in to_send:
                    self._produce(output)
                self.producer.flush(_flush_seconds(deadline))
                unsettled = [output for output in outputs if output.error is not None]
                if not unsettled:
                    break
                if stop.is_set() and deadline is None:
                    deadline = time.monotonic() + grace
                if deadline is not None and time.monotonic() >= deadline:
                    raise Undelivered()
                to_send = [output for output in unsettled if output.error is not IN_FLIGHT]
                if to_send:
                    self._log_once(f"Kafka: {len(to_send)} outputs failed ({to_send[0].error})")
                    if not paused:
                        self.consumer.pause(self.consumer.assignment())
                        paused = True
                    self._wait(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF)
        finally:
            if paused:
                self.consumer.resume(self.consumer.assignment())
        self._count_delivered(outputs)

    def _produce(self, output: Output) -> None:
        output.error = IN_FLIGHT

        def delivered(error: Any, message: Any) -> None:
            output.error = error

        while True:
            try:
                self.producer.produce(
                    output.topic,
                    output.value,
                    output.key,
                    headers=output.headers,
                    on_delivery=delivered,
                )
                return
            except BufferError:  # the local queue is full: let deliveries drain it
                self.producer.poll(0.1)

    def _wait(self, seconds: float) -> None:
        """Sleep while staying in the group: consume() on paused partitions only serves events.

        A rebalance meanwhile may assign partitions that are not paused: their records are kept
        for the next batch, never dropped (the consumer's position has moved past them).
        """
        until = time.monotonic() + seconds
        while (left := until - time.monotonic()) > 0:
            self._held.extend(
                self._records(self.consumer.consume(MAX_BATCH, min(left, POLL_SECONDS)))
            )

    def _count_delivered(self, outputs: list[Output]) -> None:
        dead = sum(1 for output in outputs if output.dead_letter)
        if dead:
            self.metrics.dead_lettered.labels(self.input_topic).inc(dead)
        if len(outputs) > dead:
            self.metrics.produced.labels(self.output_topic).inc(len(outputs) - dead)

    def _commit(self, batch: _Batch) -> None:
        from confluent_kafka import KafkaException, TopicPartition

        last: dict[tuple[str, int], int] = {}
        for record in batch.records:
            last[(record.topic(), record.partition())] = record.offset()
        offsets = [TopicPartition(t, p, offset + 1) for (t, p), offset in last.items()]
        try:
            if self.settings.kafka_auto_commit:
                self.consumer.store_offsets(offsets=offsets)
            else:
                self.consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:  # e.g. the partitions moved to another member meanwhile
            logger.warning("Kafka: offsets not committed (%s); they will be answered again", exc)
            return
        self.metrics.commit_latency.observe(time.perf_counter() - batch.started)

    def _span(self, record: Any, headers: dict[str, bytes]) -> Any:
        tracer = self.tracer
        if tracer is None:
            return _NO_SPAN
        from seldon_server import tracing

        carrier = [(name, value.decode("latin-1")) for name, value in headers.items()]
        tags = {"component": "kafka", "kafka.topic": record.topic()}
        return tracing.server_span(tracer, "kafkaServer", carrier, tags)

    def _batch_span(self, count: int) -> Any:
        """One span for a batch answered together (the records' own contexts are not joined)."""
        tracer = self.tracer
        if tracer is None:
            return _NO_SPAN
        from seldon_server import tracing

        tags = {"component": "kafka", "kafka.topic": self.input_topic, "kafka.records": count}
        return tracing.server_span(tracer, "kafkaServer", [], tags)

    def _log_failure(self, error: SeldonError, record: Any) -> None:
        where = f"{record.topic()}[{record.partition()}]@{record.offset()}"
        if error.status_code >= 500:
            logger.error("%s: %s: %s", where, error.reason, error.message, exc_info=error.__cause__)
        else:
            logger.info("%s: %s: %s", where, error.reason, error.message)

    def _client_error(self, error: Any) -> None:
        self._log_once(f"Kafka: {error.str()}")

    def _log_once(self, text: str) -> None:
        """Broker trouble repeats every poll: log each new message once."""
        if text != self._last_error:
            self._last_error = text
            logger.warning("%s", text)
