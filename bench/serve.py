"""Runs one benchmarked server: `serve.py {rest,rest-floor,grpc,grpc-floor} PORT`."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from typing import Any

import floor_apps
import payloads
from flask import Flask
from gunicorn.app.base import BaseApplication
from models.identity import Identity

from seldon_server.dispatch import Dispatcher
from seldon_server.grpc.server import GrpcOptions, build_server
from seldon_server.model.adapter import UserModel
from seldon_server.rest.app import create_app

HOST = "127.0.0.1"
THREADS = 1  # 1 worker x 1 thread for every server: one core's worth, comparable


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    """Gunicorn embedded with fixed settings; the WSGI app is built in the worker, after fork."""

    def __init__(self, factory: Callable[[], Flask], port: int) -> None:
        self.factory = factory
        self.port = port
        super().__init__()

    def load_config(self) -> None:
        settings: dict[str, Any] = {
            "bind": f"{HOST}:{self.port}",
            "workers": 1,
            "threads": THREADS,
            "worker_class": "sync",
            "accesslog": None,
            "loglevel": "warning",
            "control_socket_disable": True,
        }
        for key, value in settings.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.factory()


def _our_flask() -> Flask:
    model = UserModel(Identity())
    model.load()
    app: Flask = create_app(Dispatcher(model))
    return app


def _floor_flask() -> Flask:
    return floor_apps.flask_floor(payloads.floor_reply())


def _serve_grpc(server: Any) -> None:
    signal.signal(signal.SIGTERM, lambda *_: server.stop(0))
    server.start()
    server.wait_for_termination()


def _our_grpc(port: int) -> None:
    model = UserModel(Identity())
    model.load()
    built = build_server(Dispatcher(model), GrpcOptions(address=f"{HOST}:{port}", threads=THREADS))
    built.mark_serving()
    _serve_grpc(built.server)


def main(argv: list[str]) -> None:
    kind, port = argv[0], int(argv[1])
    if kind == "rest":
        _Gunicorn(_our_flask, port).run()
    elif kind == "rest-floor":
        _Gunicorn(_floor_flask, port).run()
    elif kind == "grpc":
        _our_grpc(port)
    elif kind == "grpc-floor":
        _serve_grpc(floor_apps.grpc_floor(f"{HOST}:{port}", THREADS))
    else:
        raise SystemExit(f"unknown server kind {kind!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
