"""The request log's own metrics, in the multiprocess registry every scrape reads."""

from __future__ import annotations

from typing import Any

SEND_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class LogMetrics:
    """Events sent, failed and dropped; the queue depth; how long a send to the sink took."""

    def __init__(self, sink: str) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        labels = ("sink",)
        self.sent: Any = Counter(
            "seldon_request_log_events_sent", "Logged events the sink accepted", labels,
            registry=None,
        ).labels(sink)  # fmt: skip
        self.failed: Any = Counter(
            "seldon_request_log_events_failed",
            "Logged events given up on: the sink refused them, or kept failing past the retries",
            labels, registry=None,
        ).labels(sink)  # fmt: skip
        self.dropped: Any = Counter(
            "seldon_request_log_events_dropped",
            "Logged events dropped because the queue was full (or still queued at shutdown)",
            labels, registry=None,
        ).labels(sink)  # fmt: skip
        self.depth: Any = Gauge(
            "seldon_request_log_queue_depth", "Events waiting for a sender", labels,
            registry=None, multiprocess_mode="livesum",
        ).labels(sink)  # fmt: skip
        self.latency: Any = Histogram(
            "seldon_request_log_send_seconds",
            "Time to ship one batch of events, retries included", labels, registry=None,
            buckets=SEND_BUCKETS,
        ).labels(sink)  # fmt: skip
