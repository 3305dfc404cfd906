"""Metrics in multiprocess mode: recording in worker processes, one merged and parseable scrape."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.utils import floatToGoString

from seldon_server import metrics
from seldon_server.metrics import DefaultLabels, NullMetrics

DEFAULTS = {
    "deployment_name": "mydep",
    "model_name": "classifier",
    "model_image": "seldonio/iris",
    "model_version": "0.1",
    "predictor_name": "default",
    "predictor_version": "v2",
    "seldon_deployment_name": "mydep",
    "image_name": "seldonio/iris",
    "image_version": "0.1",
}

# Recording happens in child processes only: prometheus_client fixes its value class at first
# import, and the pytest process must stay in ordinary single-process mode for other tests.
PRELUDE = """
import json, sys, threading
from seldon_server.errors import BadMetricError
from seldon_server.metrics import DefaultLabels, PrometheusRecorder
recorder = PrometheusRecorder(
    DefaultLabels.from_settings("mydep", "classifier", "seldonio/iris:0.1", "default", "v2")
)
"""


def run_worker(directory: Path, code: str, **extra_env: str) -> str:
    """Run PRELUDE + code in a fresh interpreter recording into `directory`; its stdout."""
    env = {**os.environ, metrics.MULTIPROC_ENV: str(directory), **extra_env}
    script = PRELUDE + textwrap.dedent(code)
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def record(directory: Path, method: str, items: list[dict[str, Any]]) -> None:
    run_worker(directory, f"recorder.record({method!r}, json.loads({json.dumps(items)!r}))")


def scrape(directory: Path) -> tuple[str, dict[str, Any]]:
    body, _ = metrics.render(path=str(directory))
    text = body.decode()
    return text, {family.name: family for family in text_string_to_metric_families(text)}


def samples(family: Any, name: str | None = None) -> list[Any]:
    return [s for s in family.samples if name is None or s.name == name]


def only_value(family: Any, name: str | None = None) -> float:
    (sample,) = samples(family, name)
    return float(sample.value)


def assert_help_and_type_once(text: str) -> None:
    for prefix in ("# HELP ", "# TYPE "):
        names = [line.split()[2] for line in text.splitlines() if line.startswith(prefix)]
        assert len(names) == len(set(names)), names


def test_two_processes_merge_into_one_parseable_exposition(tmp_path: Path) -> None:
    tags = {"colour": "red"}
    record(
        tmp_path,
        "predict",
        [
            {"type": "COUNTER", "key": "mycounter", "value": 2, "tags": tags},
            {"type": "GAUGE", "key": "mygauge", "value": 5},
            {"type": "TIMER", "key": "mytimer", "value": 20},
        ],
    )
    record(
        tmp_path,
        "predict",
        [
            {"type": "COUNTER", "key": "mycounter", "value": 3.5, "tags": tags},
            {"type": "GAUGE", "key": "mygauge", "value": 7},
            {"type": "TIMER", "key": "mytimer", "value": 3000},
        ],
    )
    text, families = scrape(tmp_path)
    assert_help_and_type_once(text)
    assert {"mycounter", "mygauge", "mytimer"} <= families.keys()

    assert families["mycounter"].type == "counter"
    (counter,) = samples(families["mycounter"])
    assert counter.name == "mycounter_total"
    assert counter.value == 5.5  # summed across processes
    assert counter.labels == {**DEFAULTS, "colour": "red", "method": "predict"}

    assert families["mygauge"].type == "gauge"
    assert only_value(families["mygauge"]) == 7  # the later process wins

    timer = families["mytimer"]
    assert timer.type == "histogram"
    buckets = {s.labels["le"]: s.value for s in samples(timer, "mytimer_bucket")}
    assert list(buckets) == [floatToGoString(b) for b in metrics.TIMER_BUCKETS] + ["+Inf"]
    assert len(buckets) == 51
    assert float(next(iter(buckets))) == 0.001
    assert float(list(buckets)[-2]) == pytest.approx(30)
    assert buckets[floatToGoString(0.019018554321561593)] == 0  # 20 ms is 0.02 s
    assert buckets[floatToGoString(0.02347185009632733)] == 1
    assert buckets[floatToGoString(2.965194718810281)] == 1
    assert buckets[floatToGoString(3.65951085290597)] == 2
    assert only_value(timer, "mytimer_count") == 2
    assert only_value(timer, "mytimer_sum") == pytest.approx(3.02)
    for family in families.values():
        for sample in family.samples:
            assert "worker_id" not in sample.labels


def test_gauge_keeps_the_most_recent_value_across_processes(tmp_path: Path) -> None:
    for value in (5, 7, 3):
        record(tmp_path, "predict", [{"type": "GAUGE", "key": "g", "value": value}])
    assert only_value(scrape(tmp_path)[1]["g"]) == 3


def test_one_key_with_different_tag_sets_is_one_family(tmp_path: Path) -> None:
    record(tmp_path, "predict", [{"type": "COUNTER", "key": "c", "value": 1, "tags": {"a": "1"}}])
    record(tmp_path, "predict", [{"type": "COUNTER", "key": "c", "value": 1}])
    code = """
    recorder.record("predict", [{"type": "COUNTER", "key": "c", "value": 1, "tags": {"b": "2"}}])
    recorder.record("aggregate", [{"type": "COUNTER", "key": "c", "value": 1}])
    recorder.record("predict", [{"type": "TIMER", "key": "t", "value": 1, "tags": {"a": "1"}}])
    recorder.record("predict", [{"type": "TIMER", "key": "t", "value": 1}])
    """
    run_worker(tmp_path, code)
    text, families = scrape(tmp_path)
    assert_help_and_type_once(text)
    extra_labels = sorted(
        tuple(sorted(set(s.labels.items()) - set(DEFAULTS.items()))) for s in samples(families["c"])
    )
    assert extra_labels == [
        (("a", "1"), ("method", "predict")),
        (("b", "2"), ("method", "predict")),
        (("method", "aggregate"),),
        (("method", "predict"),),
    ]
    assert len(samples(families["t"], "t_count")) == 2


def test_a_total_suffix_is_not_doubled(tmp_path: Path) -> None:
    record(tmp_path, "predict", [{"type": "COUNTER", "key": "served_total", "value": 1}])
    record(tmp_path, "predict", [{"type": "COUNTER", "key": "served", "value": 1}])
    text, families = scrape(tmp_path)
    assert "_total_total" not in text
    (sample,) = samples(families["served"])
    assert (sample.name, sample.value) == ("served_total", 2)


def test_user_tags_are_not_mutated_and_defaults_override_them(tmp_path: Path) -> None:
    code = """
    tags = {"model_name": "mine", "method": "mine", "k": "v"}
    before = dict(tags)
    metric = {"type": "COUNTER", "key": "c", "value": 1, "tags": tags}
    recorder.record("predict", [metric])
    recorder.record("predict", [metric])
    assert tags == before and metric["tags"] is tags
    assert set(metric) == {"type", "key", "value", "tags"}
    print("ok")
    """
    assert run_worker(tmp_path, code).strip() == "ok"
    (sample,) = samples(scrape(tmp_path)[1]["c"])
    assert sample.labels == {**DEFAULTS, "k": "v", "method": "predict"}
    assert sample.value == 2


def test_concurrent_threads_lose_no_update(tmp_path: Path) -> None:
    code = """
    def work():
        for _ in range(500):
            recorder.record("predict", [{"type": "COUNTER", "key": "c", "value": 1}])
            recorder.observe_request("predict", 200, 0.002)
    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    """
    run_worker(tmp_path, code)
    record(tmp_path, "predict", [{"type": "COUNTER", "key": "c", "value": 1}])
    families = scrape(tmp_path)[1]
    assert only_value(families["c"]) == 8 * 500 + 1
    requests = families["seldon_server_requests"]
    (sample,) = samples(requests)
    assert (sample.name, sample.labels, sample.value) == (
        metrics.REQUESTS_METRIC,
        {"method": "predict", "code": "200"},
        4000,
    )
    duration = families[metrics.REQUEST_DURATION_METRIC]
    assert only_value(duration, metrics.REQUEST_DURATION_METRIC + "_count") == 4000


def test_feedback_counters(tmp_path: Path) -> None:
    run_worker(tmp_path, "recorder.record_feedback(0.5)\nrecorder.record_feedback(1.25)")
    families = scrape(tmp_path)[1]
    (count,) = samples(families["seldon_api_model_feedback"])
    (reward,) = samples(families["seldon_api_model_feedback_reward"])
    assert (count.name, count.value) == ("seldon_api_model_feedback_total", 2)
    assert (reward.name, reward.value) == ("seldon_api_model_feedback_reward_total", 1.75)
    # As the original (SeldonMetrics.update_reward): the default labels plus method="feedback".
    assert count.labels == reward.labels == {**DEFAULTS, "method": "feedback"}


def test_invalid_metrics_are_skipped_with_a_warning(tmp_path: Path) -> None:
    # The original answered these requests normally, so recording never fails a request: a
    # metric Prometheus cannot hold is skipped (one warning per distinct problem) and the valid
    # metrics beside it are still recorded.
    code = """
    import logging
    warnings = []

    class Collect(logging.Handler):
        def emit(self, record):
            warnings.append(record.getMessage())

    logging.getLogger("seldon_server.metrics").addHandler(Collect(logging.WARNING))
    good = {"type": "COUNTER", "key": "good", "value": 1}
    bad = [
        {"type": "HISTOGRAM", "key": "x", "value": 1},
        {"type": "COUNTER", "key": "x", "value": "1"},
        {"type": "COUNTER", "key": "x", "value": None},
        {"type": "COUNTER", "key": "bad-name", "value": 1},
        {"type": "COUNTER", "key": "9lives", "value": 1},
        {"type": "COUNTER", "key": "", "value": 1},
        {"type": "COUNTER", "key": 7, "value": 1},
        {"type": "COUNTER", "key": "x", "value": 1, "tags": {"__reserved": "1"}},
        {"type": "COUNTER", "key": "x", "value": 1, "tags": {"bad label": "1"}},
        {"type": "COUNTER", "key": "x", "value": 1, "tags": ["a"]},
        {"type": "TIMER", "key": "x", "value": 1, "tags": {"le": "1"}},
        {"type": "TIMER", "key": "x", "value": float("nan")},
        {"type": "GAUGE", "key": "mycounter", "value": 1},
        {"key": "x"},
        "not a dict",
    ]
    recorder.record("predict", [{"type": "COUNTER", "key": "mycounter", "value": 1}])
    for metric in bad:
        recorder.record("predict", [good, metric])
    recorder.record("predict", bad)  # the same problems again: no new warnings
    # A missing type defaults to COUNTER (raw responses are not validated); NaN gauges are fine.
    recorder.record("predict", [{"key": "typeless", "value": 1}])
    recorder.record("predict", [{"type": "GAUGE", "key": "g", "value": float("nan")}])
    # A negative COUNTER is skipped, not an error: counters cannot go down.
    recorder.record("predict", [{"type": "COUNTER", "key": "mycounter", "value": -5}])
    print(json.dumps(warnings))
    """
    warnings = json.loads(run_worker(tmp_path, code).splitlines()[-1])
    families = scrape(tmp_path)[1]
    assert only_value(families["good"]) == 15  # once per bad metric beside it
    assert only_value(families["mycounter"]) == 1  # the GAUGE of the same name was skipped
    assert families["mycounter"].type == "counter"
    assert only_value(families["typeless"]) == 1
    assert {"x", "bad-name", "9lives", "bad_name"}.isdisjoint(families)
    skipped = [w for w in warnings if w.endswith("; not exported")]
    assert len(skipped) == len(set(skipped)) == 15, warnings  # one per bad metric
    assert all(w.startswith("Invalid custom metric: ") for w in skipped), skipped
    assert any("mycounter" in w and "already recorded as a COUNTER" in w for w in skipped)
    assert warnings.count("a COUNTER value was negative; counters cannot go down") == 1


def test_render_content_types(tmp_path: Path) -> None:
    record(tmp_path, "predict", [{"type": "COUNTER", "key": "c", "value": 1}])
    body, content_type = metrics.render(path=str(tmp_path))
    assert content_type == "text/plain; version=0.0.4; charset=utf-8"
    assert content_type.count("charset") == 1
    assert b"c_total{" in body
    accept = "application/openmetrics-text; version=1.0.0"
    body, content_type = metrics.render(accept, path=str(tmp_path))
    assert content_type.startswith("application/openmetrics-text")
    assert body.endswith(b"# EOF\n")


def test_render_empty_directory(tmp_path: Path) -> None:
    assert metrics.render(path=str(tmp_path))[0] == b""


def call_app(app: Any, path: str, method: str = "GET") -> tuple[str, dict[str, str], bytes]:
    environ: dict[str, Any] = {"PATH_INFO": path, "REQUEST_METHOD": method}
    setup_testing_defaults(environ)
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = status, dict(headers)

    body: Iterable[bytes] = app(environ, start_response)
    return seen["status"], seen["headers"], b"".join(body)


def test_metrics_app(tmp_path: Path) -> None:
    record(tmp_path, "predict", [{"type": "GAUGE", "key": "g", "value": 1}])
    app = metrics.create_metrics_app("/prometheus", path=str(tmp_path))
    status, headers, body = call_app(app, "/prometheus")
    assert status == "200 OK"
    assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert int(headers["Content-Length"]) == len(body)
    assert b"g{" in body
    assert call_app(app, "/prometheus", "HEAD")[2] == b""
    assert call_app(app, "/metrics")[0] == "404 Not Found"
    assert call_app(app, "/prometheus", "POST")[0] == "405 Method Not Allowed"


def test_prepare_multiprocess_dir(tmp_path: Path) -> None:
    target = tmp_path / "metrics"
    target.mkdir()
    (target / "counter_1.db").write_bytes(b"stale")
    (target / "keep.txt").write_text("not ours")
    code = f"""
    import os
    from seldon_server import metrics
    assert metrics.prepare_multiprocess_dir({str(target)!r}) == {str(target)!r}
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == {str(target)!r}
    fresh = metrics.prepare_multiprocess_dir(None)  # reuses the exported directory
    assert fresh == {str(target)!r}, fresh
    """
    run_worker(tmp_path / "unused", code)
    assert sorted(p.name for p in target.iterdir()) == ["keep.txt"]


def test_prepare_makes_a_temporary_directory_and_fixes_an_early_import() -> None:
    script = """
import prometheus_client  # imported before the directory exists: single-process values
from seldon_server import metrics
path = metrics.prepare_multiprocess_dir()
late = metrics.PrometheusRecorder(metrics.DefaultLabels())
late.record("predict", [{"type": "COUNTER", "key": "late", "value": 1}])
print(path)
"""
    env = {key: value for key, value in os.environ.items() if key != metrics.MULTIPROC_ENV}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "was imported before" in done.stderr
    made = Path(done.stdout.strip())
    try:
        assert made.is_dir() and made.name.startswith("seldon-metrics-")
        assert only_value(scrape(made)[1]["late"]) == 1
    finally:
        for child in made.iterdir():
            child.unlink()
        made.rmdir()


def test_mark_process_dead_keeps_dead_workers_counts(tmp_path: Path) -> None:
    pid = int(run_worker(tmp_path, "import os\nrecorder.record_feedback(1)\nprint(os.getpid())"))
    metrics.mark_process_dead(pid, path=str(tmp_path))
    assert only_value(scrape(tmp_path)[1]["seldon_api_model_feedback"]) == 1


def test_importing_the_modules_imports_no_prometheus() -> None:
    code = (
        "import sys, seldon_server.metrics, seldon_server.custom_metrics\n"
        "assert 'prometheus_client' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("seldonio/iris:0.1", ("seldonio/iris", "0.1")),
        ("registry:5000/team/iris:1.2", ("registry:5000/team/iris", "1.2")),
        # Naively at the last ':', as the original: no registry-port handling, and an image
        # without a tag is all version.
        ("registry:5000/team/iris", ("registry", "5000/team/iris")),
        ("iris", ("", "iris")),
        ("", ("NOT_IMPLEMENTED", "NOT_IMPLEMENTED")),
        (None, ("NOT_IMPLEMENTED", "NOT_IMPLEMENTED")),
    ],
)
def test_default_labels_split_the_image(image: str | None, expected: tuple[str, str]) -> None:
    labels = DefaultLabels.from_settings(None, None, image, None, None)
    assert (labels.model_image, labels.model_version) == expected


def test_default_labels_unset_values_and_legacy_duplicates() -> None:
    labels = DefaultLabels.from_settings("dep", "", None, "pred", "v1").as_dict()
    assert labels == {
        "deployment_name": "dep",
        "model_name": "NOT_IMPLEMENTED",
        "model_image": "NOT_IMPLEMENTED",
        "model_version": "NOT_IMPLEMENTED",
        "predictor_name": "pred",
        "predictor_version": "v1",
        "seldon_deployment_name": "dep",
        "image_name": "NOT_IMPLEMENTED",
        "image_version": "NOT_IMPLEMENTED",
    }


def test_null_metrics_accepts_everything() -> None:
    sink: metrics.MetricsSink = NullMetrics()
    sink.record("predict", [{"type": "COUNTER", "key": "c", "value": 1}])
    sink.record_feedback(1.0)
    sink.observe_request("predict", 200, 0.1)
