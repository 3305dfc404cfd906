"""Request and response logging: every payload flows back as a CloudEvent, over HTTP or Kafka."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from seldon_server.request_log.log import PayloadLog
    from seldon_server.settings import Settings


def start_payload_log(settings: Settings) -> PayloadLog | None:
    """This process's request log and its sender threads; None when no sink is set.

    Call after fork, once per serving process (threads do not survive a fork).
    """
    if not settings.log_url and not settings.log_kafka_broker:
        return None
    from seldon_server.request_log.events import HttpHeaders, Identity, KafkaHeaders
    from seldon_server.request_log.log import PayloadLog, Sink
    from seldon_server.request_log.metrics import LogMetrics

    identity = Identity.from_settings(settings)
    make_sink: Callable[[], Sink]
    if settings.log_kafka_broker:
        from seldon_server.kafka.config import log_producer_config
        from seldon_server.request_log.kafka_sink import KafkaProducerShare

        share = KafkaProducerShare(
            log_producer_config(settings), settings.log_kafka_topic or "", KafkaHeaders(identity)
        )
        make_sink, kind = share.sink, "kafka"
        describe = f"Kafka topic {settings.log_kafka_topic} at {settings.log_kafka_broker}"
    else:
        from seldon_server.request_log.http_sink import HttpSink

        url, headers = settings.log_url or "", HttpHeaders(identity)
        make_sink, kind, describe = (lambda: HttpSink(url, headers)), "http", url
    return PayloadLog(
        make_sink,
        mode=settings.log_mode,
        senders=settings.logger_workers,
        capacity=settings.log_work_buffer_size,
        metrics=LogMetrics(kind),
        describe=describe,
    )
