"""Kafka mode end to end: the real CLI against a real Kafka-protocol broker, nothing dropped."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from kafka_broker import Broker, Record, proxied_broker, running_broker
from serverproc import CLI, MODELS, Launcher, Server, wait_until

from seldon_server.proto import prediction_pb2 as pb
from seldon_server.serving.exit_codes import ExitCode


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    with running_broker(tmp_path_factory.mktemp("kafka")) as started:
        yield started


def start(
    launch: Launcher, broker: Broker, inputs: str, outputs: str, group: str, **env: str
) -> Server:
    server = launch(
        "--server-type",
        "kafka",
        env={
            "KAFKA_BROKER": broker.address,
            "KAFKA_INPUT_TOPIC": inputs,
            "KAFKA_OUTPUT_TOPIC": outputs,
            "KAFKA_GROUP_ID": group,
            **env,
        },
    )
    server.wait_ready()
    return server


def ndarray(i: int) -> bytes:
    return json.dumps({"data": {"ndarray": [[i, 0.5]]}}).encode()


def by_key(records: list[Record]) -> dict[str, Record]:
    return {record.key: record for record in records}


def test_json_records_are_answered_with_keys_and_puids(launch: Launcher, broker: Broker) -> None:
    inputs, outputs = broker.topic("in"), broker.topic("out")
    server = start(launch, broker, inputs, outputs, "g-json")
    records = [
        (str(i), ndarray(i), [("Seldon-Puid", f"puid-{i}".encode())] if i % 2 else [])
        for i in range(1000)
    ]
    broker.produce(inputs, records)
    out = by_key(broker.read(outputs, 1000))
    assert set(out) == {str(i) for i in range(1000)}
    for i in (0, 1, 500, 999):
        reply = json.loads(out[str(i)].value)
        assert reply["data"] == {"names": ["t:0", "t:1"], "ndarray": [[i, 0.5]]}
        puid = out[str(i)].headers["Seldon-Puid"].decode()
        assert reply["meta"]["puid"] == puid
        assert puid == f"puid-{i}" if i % 2 else len(puid) == 36  # given, or a new uuid4
        assert out[str(i)].headers["Content-Type"] == b"application/json"
    assert server.stop() == ExitCode.OK


def test_protobuf_records_get_protobuf_replies(launch: Launcher, broker: Broker) -> None:
    inputs, outputs = broker.topic("in"), broker.topic("out")
    server = start(launch, broker, inputs, outputs, "g-proto")
    header = [("proto-name", b"seldon.protos.SeldonMessage")]
    records = []
    for i in range(50):
        message = pb.SeldonMessage()
        message.data.tensor.shape.extend([1, 2])
        message.data.tensor.values.extend([float(i), 2.0])
        records.append((str(i), message.SerializeToString(), header))
    broker.produce(inputs, records)
    out = by_key(broker.read(outputs, 50))
    reply = pb.SeldonMessage.FromString(out["7"].value)
    assert list(reply.data.tensor.values) == [7.0, 2.0]
    assert reply.meta.puid == out["7"].headers["Seldon-Puid"].decode()
    assert out["7"].headers["proto-name"] == b"seldon.protos.SeldonMessage"
    assert server.stop() == ExitCode.OK


BAD = {
    "bad-json": (b"not json", "MICROSERVICE_BAD_DATA"),
    "ragged": (b'{"data": {"ndarray": [[1], [1, 2]]}}', "MICROSERVICE_BAD_DATA"),
    "raises": (b'{"jsonData": {"fail": true}}', "MICROSERVICE_INTERNAL_ERROR"),
}


def _mixed_records() -> list[tuple[str, bytes, list[tuple[str, bytes]]]]:
    good = [(str(i), ndarray(i), []) for i in range(20)]
    bad = [(key, value, [("trace", b"kept")]) for key, (value, _) in BAD.items()]
    return good[:10] + bad + good[10:]


def test_failures_go_to_the_dead_letter_topic_unchanged(launch: Launcher, broker: Broker) -> None:
    inputs, outputs, dead = broker.topic("in"), broker.topic("out"), broker.topic("dead")
    server = start(launch, broker, inputs, outputs, "g-dlt", KAFKA_DEAD_LETTER_TOPIC=dead)
    broker.produce(inputs, _mixed_records())
    assert set(by_key(broker.read(outputs, 20))) == {str(i) for i in range(20)}
    letters = by_key(broker.read(dead, 3))
    assert set(letters) == set(BAD)
    for key, (value, reason) in BAD.items():
        letter = letters[key]
        assert letter.value == value  # unchanged, so it can be replayed
        assert letter.headers["trace"] == b"kept"
        assert letter.headers["seldon-error-reason"] == reason.encode()
        assert letter.headers["seldon-error-info"]
        assert letter.headers["seldon-source-topic"] == inputs.encode()
        assert int(letter.headers["seldon-source-offset"]) >= 0
    assert server.stop() == ExitCode.OK


def test_without_a_dead_letter_topic_failures_answer_the_status(
    launch: Launcher, broker: Broker
) -> None:
    inputs, outputs = broker.topic("in"), broker.topic("out")
    server = start(launch, broker, inputs, outputs, "g-nodlt")
    broker.produce(inputs, _mixed_records())
    out = by_key(broker.read(outputs, 23))
    assert set(out) == {str(i) for i in range(20)} | set(BAD)
    for key, (_, reason) in BAD.items():
        assert out[key].headers["seldon-error"] == reason.encode()
        status = json.loads(out[key].value)["status"]
        assert status["reason"] == reason and status["status"] == 1
    assert json.loads(out["3"].value)["data"]["ndarray"] == [[3, 0.5]]
    assert server.stop() == ExitCode.OK


def _slow(i: int) -> bytes:
    return json.dumps({"jsonData": {"i": i, "hold": 0.003}}).encode()


def test_sigkill_mid_stream_then_restart_loses_nothing(launch: Launcher, broker: Broker) -> None:
    inputs, outputs = broker.topic("in"), broker.topic("out")
    keys = {str(i) for i in range(1500)}
    broker.produce(inputs, [(key, _slow(int(key)), []) for key in sorted(keys)])
    first = start(launch, broker, inputs, outputs, "g-kill")
    broker.read(outputs, 200)
    first.kill_everything()
    second = start(launch, broker, inputs, outputs, "g-kill")
    assert keys <= broker.keys(outputs, keys)  # at least once: some may be answered twice
    assert second.stop() == ExitCode.OK


def test_sigterm_mid_stream_commits_only_what_was_delivered(
    launch: Launcher, broker: Broker
) -> None:
    inputs, outputs = broker.topic("in"), broker.topic("out")
    broker.produce(inputs, [(str(i), _slow(i), []) for i in range(1500)])
    server = start(launch, broker, inputs, outputs, "g-term", KAFKA_AUTO_COMMIT="false")
    broker.read(outputs, 200)
    assert server.stop(signal.SIGTERM) == ExitCode.OK
    committed = broker.committed("g-term", inputs)
    answered = {r.key for r in broker.read(outputs, 1)}
    inputs_read = broker.read(inputs, 1500)
    done = [r for r in inputs_read if r.offset < committed.get(r.partition, -1)]
    assert done, "the server committed nothing before it stopped"
    assert {r.key for r in done} <= answered  # every committed offset has its output
    assert len(done) < 1500  # it really stopped mid-stream


def _assigned(server: Server) -> float:
    """The input partitions the server says it consumes (its metrics, refreshed on rebalance)."""
    text = requests.get(server.metrics_url(), timeout=10).text
    return sum(v for k, v in _samples(text).items() if k.startswith("seldon_kafka_assigned_"))


def test_two_replicas_share_the_partitions(launch: Launcher, broker: Broker) -> None:
    inputs, outputs = broker.topic("in"), broker.topic("out")
    servers = [start(launch, broker, inputs, outputs, "g-two") for _ in range(2)]
    wait_until(
        lambda: [_assigned(server) for server in servers] == [1, 1], "the group to settle", 60
    )
    keys = [str(i) for i in range(1000)]
    broker.produce(inputs, [(key, _slow(int(key)), []) for key in keys])
    assert broker.keys(outputs, set(keys)) == set(keys)
    out = broker.read(outputs, len(keys))
    pids = {json.loads(r.value)["meta"]["tags"]["pid"] for r in out}
    assert len(pids) == 2  # both replicas answered
    for server in servers:
        assert server.stop() == ExitCode.OK


def test_missing_variables_fail_before_anything_starts() -> None:
    env = {"KAFKA_BROKER": "127.0.0.1:1", "PATH": ""}
    result = subprocess.run(
        [str(CLI), "ServingModel", "--server-type", "kafka"],
        cwd=MODELS, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == ExitCode.USAGE
    assert result.stderr.strip().splitlines() == [
        "seldon-microservice: error: --server-type kafka needs KAFKA_INPUT_TOPIC "
        "(--kafka-input-topic), KAFKA_OUTPUT_TOPIC (--kafka-output-topic)"
    ]


_WITHOUT_CONFLUENT = """
import sys

class Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "confluent_kafka":
            raise ImportError("not installed")

sys.meta_path.insert(0, Blocked())
from seldon_server.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_missing_extra_fails_naming_it() -> None:
    args = ["ServingModel", "--server-type", "kafka", "--kafka-broker", "127.0.0.1:1",
            "--kafka-input-topic", "a", "--kafka-output-topic", "b"]  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-c", _WITHOUT_CONFLUENT, *args],
        cwd=MODELS, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == ExitCode.USAGE, result.stderr
    assert "pip install 'seldon-server[kafka]'" in result.stderr


def test_kafka_metrics_are_scraped(launch: Launcher, broker: Broker) -> None:
    inputs, outputs, dead = broker.topic("in"), broker.topic("out"), broker.topic("dead")
    server = start(launch, broker, inputs, outputs, "g-metrics", KAFKA_DEAD_LETTER_TOPIC=dead)
    broker.produce(inputs, _mixed_records())
    broker.read(outputs, 20)
    broker.read(dead, 3)

    def scraped() -> dict[str, float]:
        text = requests.get(server.metrics_url(), timeout=10).text
        return _samples(text)

    dead_lettered = f'seldon_kafka_messages_dead_lettered_total{{topic="{inputs}"}}'
    samples = wait_until(
        lambda: (found := scraped()).get(dead_lettered) == 3 and found, "the dead-letter count", 20
    )
    assert samples[f'seldon_kafka_messages_consumed_total{{topic="{inputs}"}}'] == 23
    assert samples[f'seldon_kafka_messages_produced_total{{topic="{outputs}"}}'] == 20
    failed = (
        f'seldon_kafka_messages_failed_total{{reason="MICROSERVICE_BAD_DATA",topic="{inputs}"}}'
    )
    assert samples[failed] == 2
    assert samples["seldon_kafka_commit_latency_seconds_count"] >= 1
    assert server.stop() == ExitCode.OK


def _samples(text: str) -> dict[str, Any]:
    found = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            found[name] = float(value)
    return found


REPO = Path(__file__).resolve().parents[2]


def test_the_documented_local_example_runs() -> None:
    result = subprocess.run(
        [str(REPO / "examples/kafka/run-local")], capture_output=True, text=True, timeout=180,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "100 of 100 predictions on model_output" in result.stdout


def test_kubernetes_manifests_agree() -> None:
    """The KEDA trigger watches the group and topic the Deployment consumes as."""
    deployment = yaml.safe_load((REPO / "examples/kafka/deployment.yaml").read_text())
    scaler = yaml.safe_load((REPO / "examples/kafka/keda-scaledobject.yaml").read_text())
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env = {item["name"]: item["value"] for item in container["env"]}
    trigger = scaler["spec"]["triggers"][0]
    assert container["args"] == ["--server-type", "kafka"]
    assert trigger["type"] == "kafka"
    assert trigger["metadata"]["consumerGroup"] == env["KAFKA_GROUP_ID"]
    assert trigger["metadata"]["topic"] == env["KAFKA_INPUT_TOPIC"]
    assert trigger["metadata"]["bootstrapServers"] == env["KAFKA_BROKER"]
    assert scaler["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace > float(env["SELDON_GRACEFUL_TIMEOUT"])


def test_broker_outage_mid_stream_loses_nothing(
    launch: Launcher, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Every connection to the broker dropped and refused for a while, then back: all answered."""
    with proxied_broker(tmp_path_factory.mktemp("outage")) as (broker, proxy):
        inputs, outputs = broker.topic("in"), broker.topic("out")
        broker.produce(inputs, [(str(i), _slow(i), []) for i in range(1500)])
        server = start(launch, broker, inputs, outputs, "g-outage")
        broker.read(outputs, 100)
        proxy.cut()
        wait_until(lambda: "Kafka:" in server.log(), "the server to notice the broker is gone", 30)
        proxy.resume()
        keys = {str(i) for i in range(1500)}
        assert broker.keys(outputs, keys, timeout=120) == keys
        assert server.stop() == ExitCode.OK


def test_stream_in_process_answers_commits_and_dead_letters(broker: Broker) -> None:
    """The consume -> answer -> deliver -> commit loop itself, driven in this process."""
    import threading

    from seldon_server.dispatch import Dispatcher
    from seldon_server.kafka.stream import Stream
    from seldon_server.metrics import NullMetrics
    from seldon_server.model.adapter import UserModel
    from seldon_server.settings import resolve

    inputs, outputs, dead = broker.topic("in"), broker.topic("out"), broker.topic("dead")
    env = {
        "KAFKA_BROKER": broker.address,
        "KAFKA_INPUT_TOPIC": inputs,
        "KAFKA_OUTPUT_TOPIC": outputs,
        "KAFKA_DEAD_LETTER_TOPIC": dead,
        "KAFKA_GROUP_ID": "g-in-process",
        "KAFKA_AUTO_COMMIT": "false",
    }
    settings = resolve(["Echo", "--server-type", "kafka"], env, lambda _path: {})
    model = UserModel(_Echo())
    model.load()
    stream = Stream(settings, Dispatcher(model), NullMetrics(), None)
    stop = threading.Event()
    runner = threading.Thread(target=stream.run, args=(stop, 5.0), daemon=True)
    runner.start()
    try:
        broker.produce(inputs, _mixed_records())
        assert {r.key for r in broker.read(outputs, 20)} == {str(i) for i in range(20)}
        assert {r.key for r in broker.read(dead, 3)} == set(BAD)
        wait_until(
            lambda: sum(broker.committed("g-in-process", inputs).values()) == 23,
            "every offset committed",
            30,
        )
    finally:
        stop.set()
        runner.join(30)
        stream.close()
    assert not runner.is_alive()


class _Echo:
    def predict(self, X: Any, names: Any) -> Any:
        if isinstance(X, dict) and X.get("fail"):
            raise ValueError("asked to fail")
        return X
