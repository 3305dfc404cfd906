"""Load-control metrics, in the multiprocess registry every scrape reads."""

from __future__ import annotations

from typing import Any

BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
WAIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


class BatchMetrics:
    """Requests per batched predict call, and how long they waited for their batch."""

    def __init__(self) -> None:
        from prometheus_client import Histogram

        self.size: Any = Histogram(
            "seldon_batch_size", "Requests joined into one predict call", registry=None,
            buckets=BATCH_SIZES,
        )  # fmt: skip
        self.wait: Any = Histogram(
            "seldon_batch_wait_seconds", "Time a request waited for its batch to be called",
            registry=None, buckets=WAIT_BUCKETS,
        )  # fmt: skip


class GateMetrics:
    """Requests admitted now; refused (overloaded, client gone) and timed out, of one transport
    (each child bound once: refusals are counted while the process is at its busiest)."""

    def __init__(self, transport: str) -> None:
        from prometheus_client import Counter, Gauge

        self.admitted: Any = Gauge(
            "seldon_requests_admitted", "Requests held now, running or waiting (sampled each "
            "second)", ("transport",), registry=None, multiprocess_mode="livesum",
        ).labels(transport)  # fmt: skip
        rejected = Counter(
            "seldon_requests_rejected", "Requests refused without running them, by reason "
            "(overloaded: past --max-admitted; client_gone: the client left while it waited)",
            ("transport", "reason"), registry=None,
        )  # fmt: skip
        timed_out = Counter(
            "seldon_requests_timed_out", "Requests answered at their deadline, by stage "
            "(waiting: never run; running: the model call's result was discarded)",
            ("transport", "stage"), registry=None,
        )  # fmt: skip
        self.overloaded: Any = rejected.labels(transport, "overloaded")
        self.client_gone: Any = rejected.labels(transport, "client_gone")
        self.timed_out: dict[str, Any] = {
            stage: timed_out.labels(transport, stage) for stage in ("waiting", "running")
        }
