"""Prometheus metrics in multiprocess mode: recording, rendering a scrape, the metrics app."""

from __future__ import annotations

import bisect
import glob
import logging
import math
import os
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, NamedTuple, Protocol

from seldon_server.custom_metrics import (
    COUNTER,
    FEEDBACK_KEY,
    FEEDBACK_REWARD_KEY,
    GAUGE,
    METRIC_TYPES,
    TIMER,
)
from seldon_server.errors import BadMetricError
from seldon_server.metadata import split_image

logger = logging.getLogger(__name__)

MULTIPROC_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
NOT_IMPLEMENTED: Final = "NOT_IMPLEMENTED"
REQUESTS_METRIC: Final = "seldon_server_requests_total"
FEEDBACK_METHOD: Final = "feedback"
REQUEST_DURATION_METRIC: Final = "seldon_server_request_duration_seconds"

# The original's TIMER buckets: np.logspace(-3, log10(30), 50) as numpy 1.26 computed them,
# written out so that the `le` label values stay byte-identical to the original's series.
TIMER_BUCKETS: Final[tuple[float, ...]] = (
    0.001, 0.0012341553253454693, 0.0015231393670785815, 0.0018797905611233593,
    0.0023199535315445415, 0.002863183005509725, 0.0035336125536884733, 0.004361026750842238,
    0.005382184388525997, 0.006642451525090608, 0.008197816923039709, 0.010117379411776668,
    0.012486417679584786, 0.015410178873747385, 0.019018554321561593, 0.02347185009632733,
    0.028967908792092944, 0.03575089889988335, 0.04412216226317852, 0.05445360152285871,
    0.06720420230367624, 0.0829404241586763, 0.10236136616184238, 0.12632982515827532,
    0.15591062646904755, 0.19241792993472334, 0.2374736129208902, 0.2930793240153456,
    0.3617054084821892, 0.44640065608455204, 0.5509277469444613, 0.6799304127720881,
    0.8391397397870157, 1.035628778567157, 1.2781267721496807, 1.5774069623151439,
    1.9467652027782552, 2.402610642206036, 2.965194718810281, 3.65951085290597, 4.516404807273444,
    5.573945044312399, 6.879113959621136, 8.489895126924782, 10.477849282518772,
    12.931293490187748, 15.959224724520412, 19.696162182151948, 24.30812344597087,
    29.999999999999996,
)  # fmt: skip
REQUEST_BUCKETS: Final[tuple[float, ...]] = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip

# The classic name grammar: prometheus_client also accepts UTF-8 names but escapes them on the
# classic exposition, where `a-b` and `a_b` would then collide as duplicate families or series.
_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")

_HELP: Final[Mapping[str, str]] = {
    COUNTER: "Seldon custom COUNTER metric",
    GAUGE: "Seldon custom GAUGE metric",
    TIMER: "Seldon custom TIMER metric, in seconds",
}


class MetricsSink(Protocol):
    """What the dispatcher and the front ends record into."""

    def record(self, method: str, metrics: list[dict[str, Any]]) -> None: ...

    def record_feedback(self, reward: float) -> None: ...

    def observe_request(self, method: str, code: int | str, seconds: float) -> None: ...

    def observe_requests(
        self, method: str, code: int | str, durations: Sequence[float]
    ) -> None: ...


class NullMetrics:
    """A MetricsSink that records nothing (tests, metrics off)."""

    def record(self, method: str, metrics: list[dict[str, Any]]) -> None:
        return None

    def record_feedback(self, reward: float) -> None:
        return None

    def observe_request(self, method: str, code: int | str, seconds: float) -> None:
        return None

    def observe_requests(self, method: str, code: int | str, durations: Sequence[float]) -> None:
        return None


def _unset(value: str | None) -> bool:
    return value is None or value == ""


def _split_image(image: str | None) -> tuple[str, str]:
    """Image name and version labels; unset -> NOT_IMPLEMENTED for both."""
    if _unset(image):
        return NOT_IMPLEMENTED, NOT_IMPLEMENTED
    assert image is not None
    return split_image(image)


@dataclass(frozen=True, slots=True)
class DefaultLabels:
    """The labels every custom metric carries, from the Seldon deployment env vars."""

    deployment_name: str = NOT_IMPLEMENTED
    model_name: str = NOT_IMPLEMENTED
    model_image: str = NOT_IMPLEMENTED
    model_version: str = NOT_IMPLEMENTED
    predictor_name: str = NOT_IMPLEMENTED
    predictor_version: str = NOT_IMPLEMENTED

    @classmethod
    def from_settings(
        cls,
        deployment_id: str | None,
        predictive_unit_id: str | None,
        predictive_unit_image: str | None,
        predictor_id: str | None,
        predictor_version: str | None,
    ) -> DefaultLabels:
        """Build from SELDON_DEPLOYMENT_ID, PREDICTIVE_UNIT_ID, PREDICTIVE_UNIT_IMAGE, PREDICTOR_ID
        and the PREDICTOR_LABELS version; None or "" means unset (NOT_IMPLEMENTED)."""
        image, version = _split_image(predictive_unit_image)

        def pick(value: str | None) -> str:
            return NOT_IMPLEMENTED if _unset(value) else str(value)

        return cls(
            deployment_name=pick(deployment_id),
            model_name=pick(predictive_unit_id),
            model_image=image,
            model_version=version,
            predictor_name=pick(predictor_id),
            predictor_version=pick(predictor_version),
        )

    def as_dict(self) -> dict[str, str]:
        """The labels, plus the legacy duplicates the original still exports."""
        return {
            "deployment_name": self.deployment_name,
            "model_name": self.model_name,
            "model_image": self.model_image,
            "model_version": self.model_version,
            "predictor_name": self.predictor_name,
            "predictor_version": self.predictor_version,
            "seldon_deployment_name": self.deployment_name,
            "image_name": self.model_image,
            "image_version": self.model_version,
        }


def prepare_multiprocess_dir(path: str | None = None) -> str:
    """Create or empty the multiprocess directory and export PROMETHEUS_MULTIPROC_DIR.

    Call in the serving parent before anything imports prometheus_client. Without `path`, an
    inherited PROMETHEUS_MULTIPROC_DIR is reused, else a new temporary directory is made.
    """
    target = path or os.environ.get(MULTIPROC_ENV) or tempfile.mkdtemp(prefix="seldon-metrics-")
    os.makedirs(target, exist_ok=True)
    # Only our own files: the directory may be a user-chosen volume.
    for stale in glob.glob(os.path.join(target, "*.db")):
        os.remove(stale)
    os.environ[MULTIPROC_ENV] = target
    _ensure_multiprocess_values()
    return target


def _ensure_multiprocess_values() -> None:
    """Switch prometheus_client to file-backed values if something imported it too early."""
    values: Any = sys.modules.get("prometheus_client.values")
    if values is None or getattr(values.ValueClass, "_multiprocess", False):
        return
    # prometheus_client picks its value class once, at import; metric objects look it up at
    # creation, so replacing it here makes every metric created from now on file-backed.
    logger.warning("prometheus_client was imported before %s was set; switching", MULTIPROC_ENV)
    values.ValueClass = values.MultiProcessValue()


def mark_process_dead(pid: int, path: str | None = None) -> None:
    """Tell prometheus_client that a worker exited (gunicorn child_exit, gRPC worker exit)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid, path or os.environ.get(MULTIPROC_ENV))


def render(accept_header: str | None = None, path: str | None = None) -> tuple[bytes, str]:
    """One scrape: every process's metrics merged by a fresh registry; (body, content type)."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.exposition import choose_encoder
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=path)
    encoder, content_type = choose_encoder(accept_header or "")
    return encoder(registry), content_type


def _observe_all(histogram: Any, durations: Sequence[float]) -> None:
    """Many observations with one write per bucket touched and one for the sum, where
    `observe` writes twice each (in multiprocess mode a write costs about 2 us; the loop is the
    fallback should the histogram's internals change)."""
    bounds = getattr(histogram, "_upper_bounds", None)
    buckets = getattr(histogram, "_buckets", None)
    total = getattr(histogram, "_sum", None)
    if bounds is None or buckets is None or total is None:
        for seconds in durations:
            histogram.observe(seconds)
        return
    counts: dict[int, int] = {}
    for seconds in durations:
        index = bisect.bisect_left(bounds, seconds)  # observe() picks the first bound >= it
        counts[index] = counts.get(index, 0) + 1
    total.inc(math.fsum(durations))
    for index, count in counts.items():
        buckets[index].inc(count)


class _Update(NamedTuple):
    """One validated custom metric, bound to its prometheus metric, ready to apply."""

    kind: str
    metric: Any
    labels: dict[str, str]
    value: float


def _number(kind: str, value: Any) -> float:
    """The metric value as a float; strings are refused as `value + 1` refused them."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"metric value must be a number, got {type(value).__name__}")
    number = float(value)
    # NaN or infinity may be a meaningful gauge reading, never a count or a duration.
    if kind != GAUGE and not math.isfinite(number):
        raise ValueError(f"{kind} value must be finite, got {number}")
    return number


def _family_name(kind: str, key: str) -> str:
    # prometheus_client strips a trailing `_total` from counter names (and adds it back on
    # exposition), so `x` and `x_total` are one family and the suffix is never doubled.
    return key[: -len("_total")] if kind == COUNTER and key.endswith("_total") else key


class PrometheusRecorder:
    """Records custom, feedback and request metrics into the multiprocess files. Thread-safe."""

    def __init__(self, labels: DefaultLabels) -> None:
        from prometheus_client import Counter, Histogram

        self._defaults = labels.as_dict()
        self._lock = threading.Lock()
        self._metrics: dict[tuple[str, str, tuple[str, ...]], Any] = {}
        self._kinds: dict[str, str] = {}
        self._warned: set[str] = set()
        self._requests = Counter(
            REQUESTS_METRIC,
            "Requests served, by method and status code",
            ("method", "code"),
            registry=None,
        )
        self._durations = Histogram(
            REQUEST_DURATION_METRIC,
            "Request latency in seconds, by method and status code",
            ("method", "code"),
            registry=None,
            buckets=REQUEST_BUCKETS,
        )
        self._kinds[_family_name(COUNTER, REQUESTS_METRIC)] = COUNTER
        self._kinds[REQUEST_DURATION_METRIC] = TIMER
        # (method, code) -> its counter and histogram children: labels() is costly per request,
        # and prometheus_client keeps every child anyway.
        self._request_children: dict[tuple[str, int | str], tuple[Any, Any]] = {}

    def record(self, method: str, metrics: Iterable[Mapping[str, Any]]) -> None:
        """Record custom metrics for one call of `method`.

        A metric Prometheus cannot hold (unknown type, a name or tag outside its grammar, a key
        already used with another type) is skipped with a warning: the original answered such
        requests normally, so the request must not fail here.
        """
        for metric in metrics:
            try:
                update = self._prepare(method, metric)
            except BadMetricError as exc:
                self._warn_once(str(exc), f"{exc}; not exported")
                continue
            self._apply(update)

    def record_feedback(self, reward: float) -> None:
        """Count one feedback call and add its reward (the caller decides when)."""
        # As the original: the default labels plus method="feedback".
        self.record(
            FEEDBACK_METHOD,
            [
                {"type": COUNTER, "key": FEEDBACK_KEY, "value": 1},
                {"type": COUNTER, "key": FEEDBACK_REWARD_KEY, "value": reward},
            ],
        )

    def observe_request(self, method: str, code: int | str, seconds: float) -> None:
        """Count one served request and observe its latency."""
        counter, histogram = self._children(method, code)
        counter.inc()
        histogram.observe(seconds)

    def observe_requests(self, method: str, code: int | str, durations: Sequence[float]) -> None:
        """Count requests answered together (a Kafka batch), each with its own latency."""
        if not durations:
            return
        counter, histogram = self._children(method, code)
        counter.inc(len(durations))
        _observe_all(histogram, durations)

    def _children(self, method: str, code: int | str) -> tuple[Any, Any]:
        children = self._request_children.get((method, code))
        if children is None:
            labels = (method, str(code))
            children = self._requests.labels(*labels), self._durations.labels(*labels)
            self._request_children[method, code] = children
        return children

    def _prepare(self, method: str | None, metric: Mapping[str, Any]) -> _Update:
        try:
            # A raw response's meta.metrics is not validated upstream: default type as before.
            kind = metric.get("type", COUNTER)
            key = metric["key"]
            if kind not in METRIC_TYPES:
                raise ValueError(f"unknown metric type {kind!r}")
            if not isinstance(key, str) or not _METRIC_NAME.fullmatch(key):
                raise ValueError(f"invalid metric name {key!r}")
            value = _number(kind, metric["value"])
            # Copy: the user's tag dicts are never mutated (the original added `method` to them).
            labels = {str(k): str(v) for k, v in (metric.get("tags") or {}).items()}
            bad = [name for name in labels if not _LABEL_NAME.fullmatch(name)]
            if bad:
                raise ValueError(f"invalid tag names {bad!r} for metric {key!r}")
            if method is not None:
                labels["method"] = method
            labels.update(self._defaults)
            parent = self._metric(kind, key, tuple(sorted(labels)))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise BadMetricError(f"Invalid custom metric: {exc}") from exc
        return _Update(kind, parent, labels, value)

    def _apply(self, update: _Update) -> None:
        if update.kind == COUNTER and update.value < 0:
            self._warn_once("negative", "a COUNTER value was negative; counters cannot go down")
            return
        # The series is created here, not in _prepare: a rejected call leaves no zero series.
        child = update.metric.labels(**update.labels)
        if update.kind == COUNTER:
            child.inc(update.value)
        elif update.kind == GAUGE:
            child.set(update.value)
        else:
            child.observe(update.value / 1000.0)  # TIMER values are milliseconds

    def _metric(self, kind: str, key: str, label_names: tuple[str, ...]) -> Any:
        cache_key = (kind, key, label_names)
        metric = self._metrics.get(cache_key)
        if metric is not None:
            return metric
        with self._lock:
            # Two objects for one series would each keep their own value: create exactly one.
            metric = self._metrics.get(cache_key)
            if metric is None:
                self._claim(kind, key)
                metric = _new_metric(kind, key, label_names)
                self._metrics[cache_key] = metric
        return metric

    def _claim(self, kind: str, key: str) -> None:
        """One type per family name, or the merged exposition would be unparseable."""
        family = _family_name(kind, key)
        known = self._kinds.setdefault(family, kind)
        if known != kind:
            raise ValueError(f"metric {key!r} was already recorded as a {known}")

    def _warn_once(self, topic: str, message: str) -> None:
        if topic not in self._warned:
            self._warned.add(topic)
            logger.warning(message)


def _new_metric(kind: str, key: str, label_names: tuple[str, ...]) -> Any:
    """A registry-less metric object; in multiprocess mode its values live in the mmap files."""
    from prometheus_client import Counter, Gauge, Histogram

    if kind == COUNTER:
        return Counter(key, _HELP[kind], label_names, registry=None)
    if kind == GAUGE:
        return Gauge(key, _HELP[kind], label_names, registry=None, multiprocess_mode="mostrecent")
    return Histogram(key, _HELP[kind], label_names, registry=None, buckets=TIMER_BUCKETS)


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def create_metrics_app(endpoint: str = "/metrics", path: str | None = None) -> WsgiApp:
    """A plain WSGI app serving `render()` on GET/HEAD `endpoint` (the metrics port)."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "") != endpoint:
            return _plain(start_response, "404 Not Found", b"Not Found\n")
        request_method = environ.get("REQUEST_METHOD", "GET")
        if request_method not in ("GET", "HEAD"):
            return _plain(start_response, "405 Method Not Allowed", b"Method Not Allowed\n")
        started = time.perf_counter()
        body, content_type = render(environ.get("HTTP_ACCEPT"), path)
        logger.debug("metrics scrape took %.4fs", time.perf_counter() - started)
        headers = [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Access-Control-Allow-Origin", "*"),  # the original's metrics app enabled CORS
        ]
        start_response("200 OK", headers)
        return [b""] if request_method == "HEAD" else [body]

    return app


def _plain(start_response: Callable[..., Any], status: str, body: bytes) -> list[bytes]:
    start_response(
        status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
    )
    return [body]
