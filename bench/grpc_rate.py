#!/usr/bin/env python3
"""A gRPC load client for load_control.py: N concurrent callers, each at most one call in flight
and at most R calls a second, recording every call's status code name and latency.

Usage: grpc_rate.py PORT CLIENTS SECONDS RATE_PER_CLIENT OUT_JSON   (RATE 0: closed loop)
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import grpc
from google.protobuf import json_format

from seldon_server.proto import prediction_pb2, prediction_pb2_grpc

BODY = {"data": {"ndarray": [[0.5 + i for i in range(10)]]}}


async def caller(stub: prediction_pb2_grpc.ModelStub, message: object, until: float,
                 period: float, out: list[tuple[str, float]]) -> None:  # fmt: skip
    next_at = time.monotonic()
    while True:
        now = time.monotonic()
        if now >= until:
            return
        if period and now < next_at:
            await asyncio.sleep(next_at - now)
        next_at = max(next_at + period, time.monotonic()) if period else 0.0
        started = time.monotonic()
        try:
            await stub.Predict(message, timeout=30)
            code = "200"
        except grpc.aio.AioRpcError as exc:
            code = exc.code().name
        out.append((code, (time.monotonic() - started) * 1000))


async def run(port: int, clients: int, seconds: float, rate: float) -> dict[str, object]:
    message = json_format.ParseDict(BODY, prediction_pb2.SeldonMessage())
    channels = [
        grpc.aio.insecure_channel(
            f"127.0.0.1:{port}", options=[("grpc.use_local_subchannel_pool", 1)]
        )
        for _ in range(clients)
    ]
    calls: list[tuple[str, float]] = []
    started = time.monotonic()
    until = started + seconds
    period = 1 / rate if rate else 0.0
    await asyncio.gather(
        *(caller(prediction_pb2_grpc.ModelStub(c), message, until, period, calls) for c in channels)
    )
    took = time.monotonic() - started
    for channel in channels:
        await channel.close()
    return {"statuses": [c for c, _ in calls], "latencies_ms": [ms for _, ms in calls],
            "seconds": took}  # fmt: skip


def main() -> None:
    port, clients, seconds, rate, out = sys.argv[1:6]
    result = asyncio.run(run(int(port), int(clients), float(seconds), float(rate)))
    Path(out).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
