"""A Kafka consumer process: one of KAFKA_WORKERS members of the consumer group."""

from __future__ import annotations

import logging
import threading
import time

from seldon_server.serving.exit_codes import ExitCode
from seldon_server.serving.process import wait_for_stop
from seldon_server.serving.services import (
    ModelLoadError,
    ServingPlan,
    load_model,
    log_load_failure,
    start_services,
    stop_services,
)

logger = logging.getLogger(__name__)


def serve(plan: ServingPlan, index: int) -> int:
    """Load the model, then stream until SIGTERM; the records in hand are finished and committed.

    confluent_kafka is imported here, in the child, only in kafka mode.
    """
    from seldon_server.kafka import config
    from seldon_server.kafka.stream import Stream

    settings = plan.settings
    services = start_services(plan)
    try:
        load_model(plan.model, settings.interface_name)
    except ModelLoadError as exc:
        log_load_failure(exc, plan.first_failure)
        return ExitCode.LOAD_FAILED
    stop = threading.Event()
    stopped_at: list[float] = []  # when SIGTERM came
    threading.Thread(
        target=_stop_on_sigterm, args=(stop, stopped_at), name="sigterm", daemon=True
    ).start()
    stream = Stream(
        settings, services.dispatcher, services.recorder, services.tracer, services.payload_log
    )
    logger.info(
        "Kafka consumer %d: %s -> %s, group %s",
        index,
        settings.kafka_input_topic,
        settings.kafka_output_topic,
        config.group_id(settings),
    )
    try:
        stream.run(stop, grace=plan.grace)
    finally:
        stream.close()
        # What is left of the grace period since the stop request goes to the request log.
        stopped = stopped_at[0] if stopped_at else time.monotonic()
        stop_services(services, max(0.0, plan.grace - (time.monotonic() - stopped)))
    return ExitCode.OK


def _stop_on_sigterm(stop: threading.Event, stopped_at: list[float]) -> None:
    wait_for_stop()
    logger.info("Kafka consumer stopping: finishing the records in hand")
    stopped_at.append(time.monotonic())
    stop.set()
