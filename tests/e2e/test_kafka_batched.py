"""Kafka mode with --max-batch-size through the real CLI and a real Kafka-protocol broker."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests
from kafka_broker import Broker, Record, running_broker
from prometheus_client.parser import text_string_to_metric_families
from serverproc import Launcher, Server, wait_until

from seldon_server.serving.exit_codes import ExitCode

RECORDS = 500


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    with running_broker(tmp_path_factory.mktemp("kafka-batching")) as started:
        yield started


def start(launch: Launcher, broker: Broker, inputs: str, outputs: str, group: str) -> Server:
    server = launch(
        "--server-type", "kafka", "--max-batch-size", "64",
        interface="LoadModels.RowModel",
        env={
            "KAFKA_BROKER": broker.address,
            "KAFKA_INPUT_TOPIC": inputs,
            "KAFKA_OUTPUT_TOPIC": outputs,
            "KAFKA_GROUP_ID": group,
        },
    )  # fmt: skip
    server.wait_ready()
    return server


def record(i: int) -> tuple[str, bytes, list[tuple[str, bytes]]]:
    """Record i: one row no other record has; odd ones carry a puid header."""
    value = json.dumps({"data": {"ndarray": [[float(i), 0.5]]}}).encode()
    return str(i), value, [("Seldon-Puid", f"puid-{i}".encode())] if i % 2 else []


def by_key(records: list[Record]) -> dict[str, Record]:
    return {r.key: r for r in records}


def samples(server: Server, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    text = requests.get(server.metrics_url(), timeout=10).text
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


def answered_requests(server: Server) -> float:
    found = samples(server, "seldon_server_requests_total")
    return found.get((("code", "200"), ("method", "kafka")), 0.0)


def test_batched_records_are_answered_each_with_its_own_row_key_and_puid(
    launch: Launcher, broker: Broker
) -> None:
    inputs, outputs = broker.topic("in"), broker.topic("out")
    server = start(launch, broker, inputs, outputs, "g-batch")
    broker.produce(inputs, [record(i) for i in range(RECORDS)])
    out = by_key(broker.read(outputs, RECORDS))
    assert set(out) == {str(i) for i in range(RECORDS)}
    call_rows = []
    for i in range(RECORDS):
        reply = json.loads(out[str(i)].value)
        assert reply["data"]["ndarray"] == [[2.0 * i, 1.0]]
        puid = out[str(i)].headers["Seldon-Puid"].decode()
        assert reply["meta"]["puid"] == puid
        assert puid == f"puid-{i}" if i % 2 else len(puid) == 36
        call_rows.append(reply["meta"]["tags"]["call_rows"])
    assert max(call_rows) > 1, "no two records shared a predict call"
    assert max(call_rows) <= 64  # --max-batch-size
    # every record is counted once, whether observed alone or with its batch
    wait_until(lambda: answered_requests(server) == RECORDS, "500 requests counted", 20)
    assert server.stop() == ExitCode.OK


def test_batch_sizes_are_on_the_metrics_port(launch: Launcher, broker: Broker) -> None:
    inputs, outputs = broker.topic("in"), broker.topic("out")
    server = start(launch, broker, inputs, outputs, "g-batch-metrics")
    try:
        broker.produce(inputs, [record(i) for i in range(RECORDS)])
        broker.read(outputs, RECORDS)
        wait_until(lambda: answered_requests(server) == RECORDS, "500 requests counted", 20)
        counts = samples(server, "seldon_batch_size_count")
        buckets = samples(server, "seldon_batch_size_bucket")
        calls = sum(counts.values())
        alone = sum(v for labels, v in buckets.items() if ("le", "1.0") in labels)
        assert calls > alone, "no predict call with more than one request"
        assert sum(samples(server, "seldon_batch_size_sum").values()) == RECORDS
    finally:
        assert server.stop() == ExitCode.OK


def test_a_record_with_null_names_does_not_stop_its_batch(launch: Launcher, broker: Broker) -> None:
    inputs, outputs = broker.topic("in"), broker.topic("out")
    server = start(launch, broker, inputs, outputs, "g-batch-names")
    odd = json.dumps({"data": {"names": None, "ndarray": [[1.0, 2.0]]}}).encode()
    expected = {*map(str, range(20)), "odd"}
    try:
        broker.produce(inputs, [record(i) for i in range(20)] + [("odd", odd, [])])
        wait_until(
            lambda: server.proc.poll() is not None or _counted(server) >= len(expected),
            "the records answered, or the server gone",
            30,
        )
        assert server.proc.poll() is None, server.log()[-3000:]
        assert broker.keys(outputs, expected, timeout=30) == expected
    finally:
        server.kill_everything()


def _counted(server: Server) -> float:
    """Kafka requests answered, any status; 0 while the metrics port does not answer."""
    try:
        found = samples(server, "seldon_server_requests_total")
    except requests.RequestException:
        return 0.0
    return sum(v for labels, v in found.items() if ("method", "kafka") in labels)
