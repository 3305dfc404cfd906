"""Where a request's time goes, in process: per-stage timings and a cProfile of the whole path.

Usage: .venv/bin/python bench/profile_hotpath.py [--top N]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import timeit
from collections.abc import Callable, Iterable
from typing import Any

import floor_apps
import payloads
from flask import Flask
from models.identity import Identity
from werkzeug.test import EnvironBuilder

from seldon_server.codecs import json as json_codec
from seldon_server.codecs import proto as proto_codec
from seldon_server.codecs import seldon_bytes
from seldon_server.dispatch import Dispatcher
from seldon_server.grpc.servicer import SeldonServicer
from seldon_server.model.adapter import UserModel
from seldon_server.rest.app import create_app

Stage = tuple[str, Callable[[], Any]]


class _Context:
    """The little of grpc.ServicerContext that the servicer touches on success."""

    def abort(self, code: Any, details: str) -> None:
        raise RuntimeError(f"{code}: {details}")


def micros(func: Callable[[], Any], budget: float = 0.2) -> float:
    """Median microseconds per call over 5 runs of about `budget` seconds each."""
    timer = timeit.Timer(func)
    number, _ = timer.autorange()
    number = max(1, int(number * budget / 0.2))
    return statistics.median(timer.repeat(repeat=5, number=number)) / number * 1e6


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
    return len  # the legacy write() callable; unused by Flask


def wsgi_caller(app: Flask, body: bytes) -> Callable[[], bytes]:
    """Call the WSGI app as Gunicorn would, minus the socket and the HTTP parsing."""
    environ = EnvironBuilder(
        path=floor_apps.PREDICT_PATH, method="POST", data=body, content_type="application/json"
    ).get_environ()

    def call() -> bytes:
        env = dict(environ, **{"wsgi.input": io.BytesIO(body)})
        return b"".join(app(env, _start_response))

    return call


def rest_stages(
    dispatcher: Dispatcher, app: Flask, floor: Flask, p: payloads.Payload
) -> list[Stage]:
    parsed = json_codec.loads(p.rest_body)
    result = dispatcher.predict(parsed, json_codec.REST_CODEC)
    encoded = json_codec.encode(result)
    stages: list[Stage] = [
        ("codecs.json.loads", lambda: json_codec.loads(p.rest_body)),
        ("codecs.json.decode", lambda: json_codec.decode(parsed)),
        (
            "Dispatcher.predict (decode+call)",
            lambda: dispatcher.predict(parsed, json_codec.REST_CODEC),
        ),
        ("codecs.json.encode", lambda: json_codec.encode(result)),
        ("codecs.json.dumps(encode(..))", lambda: json_codec.dumps(encoded)),
    ]
    render = getattr(json_codec, "render", None)
    if render is not None:
        stages.append(("codecs.json.render", lambda: render(result)))
    stages.append(("whole Flask app (ours)", wsgi_caller(app, p.rest_body)))
    stages.append(("whole Flask app (floor)", wsgi_caller(floor, p.rest_body)))
    return stages


def grpc_stages(
    dispatcher: Dispatcher, servicer: SeldonServicer, p: payloads.Payload
) -> list[Stage]:
    raw = p.grpc_request.SerializeToString()
    request = p.grpc_request
    result = dispatcher.predict(request, proto_codec.GRPC_CODEC)
    reply = proto_codec.encode(result)
    context = _Context()
    return [
        ("SeldonMessage.FromString", lambda: proto_codec.SeldonMessage.FromString(raw)),
        ("codecs.proto.decode (parsed message)", lambda: proto_codec.decode(request)),
        ("codecs.seldon_bytes.read_request", lambda: seldon_bytes.read_request(raw)),
        (
            "Dispatcher.predict (decode+call)",
            lambda: dispatcher.predict(request, proto_codec.GRPC_CODEC),
        ),
        ("codecs.proto.encode", lambda: proto_codec.encode(result)),
        ("SeldonMessage.SerializeToString", lambda: reply.SerializeToString()),
        ("codecs.seldon_bytes.write_reply", lambda: seldon_bytes.write_reply(result)),
        (
            "handler, bytes in -> bytes out (ours)",
            lambda: servicer.Predict(raw, context),
        ),
        (
            "parse+serialize (floor echo)",
            lambda: proto_codec.SeldonMessage.FromString(raw).SerializeToString(),
        ),
    ]


def print_stages(title: str, stages: Iterable[Stage]) -> None:
    print(f"\n{title}")
    for label, func in stages:
        print(f"  {label:<36}{micros(func):10.1f} us")


def print_profile(title: str, func: Callable[[], Any], calls: int, top: int) -> None:
    """cProfile of `calls` calls, the `top` functions by own time, as a share of the total."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        func()
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = sum(row[2] for row in stats.stats.values())  # type: ignore[attr-defined]
    rows = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)  # type: ignore[attr-defined]
    per_call = total / calls * 1e6
    print(f"\n{title}: top {top} by own time ({calls} calls, {per_call:.0f} us/call profiled)")
    for (filename, line, name), (_, ncalls, own, _, _) in rows[:top]:
        where = f"{_short(filename)}:{line}({name})"
        print(f"  {own / total:6.1%}  {own / calls * 1e6:7.1f} us  {ncalls / calls:6.1f}x  {where}")


def _short(filename: str) -> str:
    for marker in ("site-packages/", "seldon_server/", "lib/python3"):
        if marker in filename:
            return filename[filename.index(marker) :]
    return filename


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--top", type=int, default=15, help="functions listed per profile")
    args = parser.parse_args(argv)
    model = UserModel(Identity())
    model.load()
    dispatcher = Dispatcher(model)
    app, floor = create_app(dispatcher), floor_apps.flask_floor(payloads.floor_reply())
    servicer = SeldonServicer(dispatcher, None)
    for p in payloads.all_payloads():
        print_stages(f"REST {p.name}", rest_stages(dispatcher, app, floor, p))
        print_stages(f"gRPC {p.name}", grpc_stages(dispatcher, servicer, p))
    for p in (payloads.ndarray(1, 10), payloads.ndarray(100, 100)):
        calls = 3000 if p.name.endswith("1x10") else 200
        print_profile(f"REST {p.name}", wsgi_caller(app, p.rest_body), calls, args.top)
        raw = p.grpc_request.SerializeToString()
        grpc_call = lambda: servicer.Predict(raw, _Context())  # noqa: E731, B023
        print_profile(f"gRPC {p.name}", grpc_call, calls, args.top)


if __name__ == "__main__":
    main(sys.argv[1:])
