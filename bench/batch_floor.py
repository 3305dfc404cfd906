"""The transport floor for bench/batch: CPU per request of bare REST or gRPC calls, nothing else.

Same server, concurrency and request as the batch run, but no input file, no JSON work, no
output: what any Python client pays per call. Prints one JSON object.

Usage: .venv/bin/python bench/batch_floor.py rest|grpc HOST:PORT REQUESTS CONCURRENCY
"""

from __future__ import annotations

import json
import resource
import sys
import threading
import time

import grpc
import orjson

from seldon_server.batch.proto_codec import message_from_dict
from seldon_server.http1 import Connection
from seldon_server.proto import prediction_pb2_grpc

BODY = {
    "data": {"ndarray": [[1, 2, 3, 4]]},
    "meta": {"tags": {"batch_id": "b" * 36, "batch_instance_id": "i" * 36, "batch_index": 1}},
}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rest(host: str, requests: int, concurrency: int) -> None:
    body = orjson.dumps(BODY)
    headers = b"Content-Type: application/json\r\nseldon-puid: x\r\n"

    def work(count: int) -> None:
        with Connection(host, None, 30) as conn:
            for _ in range(count):
                conn.post("/api/v1.0/predictions", headers, body)

    threads = [threading.Thread(target=work, args=(requests // concurrency,))
               for _ in range(concurrency)]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def grpc_calls(host: str, requests: int, concurrency: int) -> None:
    stub = prediction_pb2_grpc.SeldonStub(grpc.insecure_channel(host))
    request = message_from_dict(BODY)
    slots, finished = threading.Semaphore(concurrency), threading.Event()
    lock, done = threading.Lock(), [0]

    def on_done(future: grpc.Future) -> None:
        slots.release()
        with lock:
            done[0] += 1
            if done[0] == requests:
                finished.set()

    for _ in range(requests):
        slots.acquire()
        stub.Predict.future(
            request, timeout=30, metadata=(("seldon-puid", "x"),)
        ).add_done_callback(on_done)
    finished.wait()


def main() -> int:
    transport, host, requests, concurrency = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:5])
    requests -= requests % concurrency
    run = rest if transport == "rest" else grpc_calls
    run(host, concurrency, concurrency)  # connect and warm up outside the measurement
    cpu, wall = _cpu(), time.monotonic()
    run(host, requests, concurrency)
    cpu, wall = _cpu() - cpu, time.monotonic() - wall
    print(json.dumps({"cpu_s_per_1000": 1000 * cpu / requests, "per_s": requests / wall}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
