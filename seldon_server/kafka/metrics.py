"""The Kafka mode's own metrics, in the multiprocess registry every scrape reads."""

from __future__ import annotations

import json
import logging
from typing import Any

logger = logging.getLogger(__name__)

COMMIT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class KafkaMetrics:
    """Consumed, produced, failed (by reason), dead-lettered, commit latency and consumer lag."""

    def __init__(self, group: str) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        labels = ("topic",)
        self.consumed = Counter(
            "seldon_kafka_messages_consumed", "Records read from the input topic", labels,
            registry=None,
        )  # fmt: skip
        self.produced = Counter(
            "seldon_kafka_messages_produced", "Records the broker acknowledged", labels,
            registry=None,
        )  # fmt: skip
        self.failed = Counter(
            "seldon_kafka_messages_failed", "Records whose request failed, by Seldon reason",
            ("topic", "reason"), registry=None,
        )  # fmt: skip
        self.dead_lettered = Counter(
            "seldon_kafka_messages_dead_lettered", "Records sent to the dead-letter topic", labels,
            registry=None,
        )  # fmt: skip
        self.commit_latency = Histogram(
            "seldon_kafka_commit_latency_seconds",
            "From reading a batch to committing (or storing, with auto-commit) its offsets",
            registry=None, buckets=COMMIT_BUCKETS,
        )  # fmt: skip
        self.lag = Gauge(
            "seldon_kafka_consumer_lag", "Records behind the partition end, as librdkafka reports",
            ("topic", "partition", "group"), registry=None, multiprocess_mode="liveall",
        )  # fmt: skip
        self.assigned = Gauge(
            "seldon_kafka_assigned_partitions", "Input partitions this server consumes now",
            ("group",), registry=None, multiprocess_mode="livesum",
        )  # fmt: skip
        self.group = group

    def on_stats(self, stats_json: str) -> None:
        """librdkafka's statistics callback: the lag of every partition this consumer owns."""
        try:
            stats = json.loads(stats_json)
        except ValueError:
            return
        for topic, entry in (stats.get("topics") or {}).items():
            for partition, state in (entry.get("partitions") or {}).items():
                lag = _lag(partition, state)
                if lag is not None:
                    self.lag.labels(topic, partition, self.group).set(lag)


def _lag(partition: str, state: dict[str, Any]) -> int | None:
    """-1 is librdkafka's "internal" partition, and -1 lag means "not known yet"."""
    lag = state.get("consumer_lag")
    if partition == "-1" or not isinstance(lag, int) or lag < 0:
        return None
    return lag
