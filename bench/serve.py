"""Runs one benchmarked server: `serve.py {rest,rest-floor,grpc,grpc-floor} PORT`.

The V2 floor (bench/v2.py): `serve.py v2-floor HTTP_PORT GRPC_PORT`, an echoing Flask app on
the same Gunicorn settings and an echoing grpcio server in a child process.

With request logging: `serve.py {rest-log,grpc-log} PORT LOG_URL [SELDON_FLAG...]`, our server
with a PayloadLog to LOG_URL (the flags, e.g. `--logger-workers 4`, go to the settings).
"""

from __future__ import annotations

import os
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
from seldon_server.request_log import start_payload_log
from seldon_server.request_log.log import PayloadLog
from seldon_server.rest.app import RestOptions, create_app
from seldon_server.settings import resolve

HOST = "127.0.0.1"
THREADS = 1  # 1 worker x 1 thread for every server: one core's worth, comparable


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    """Gunicorn embedded with fixed settings; the WSGI app is built in the worker, after fork."""

    def __init__(
        self,
        factory: Callable[[], Flask],
        port: int,
        worker_exit: Callable[[Any, Any], None] | None = None,
    ) -> None:
        self.factory = factory
        self.port = port
        self.worker_exit = worker_exit  # runs in the worker as it exits
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
        if self.worker_exit is not None:
            settings["worker_exit"] = self.worker_exit
        for key, value in settings.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.factory()


def _our_flask(payload_log: PayloadLog | None = None) -> Flask:
    model = UserModel(Identity())
    model.load()
    app: Flask = create_app(Dispatcher(model), RestOptions(payload_log=payload_log))
    return app


def _start_log(url: str, flags: list[str]) -> PayloadLog:
    """This process's request log to `url`, as the server builds it (senders start here)."""
    payload_log = start_payload_log(resolve(["Identity", "--log-url", url, *flags], {}))
    assert payload_log is not None
    return payload_log


def _close_log(payload_log: PayloadLog) -> None:
    """Flush for up to 2 s, then print the log's counters (bench/request_log.py reads them).

    The counters are read from PayloadLog's private metrics (the bench serves no /metrics);
    `batches` (sends, from the send-latency histogram) tells how many events went per write.
    """
    payload_log.close(2.0)
    try:
        metrics = payload_log._metrics
        counts = {
            name: int(getattr(metrics, name)._value.get()) for name in ("sent", "failed", "dropped")
        }
        counts["batches"] = int(sum(bucket.get() for bucket in metrics.latency._buckets))
    except AttributeError:  # the internals moved: the run's figures do not depend on these
        return
    print("request-log " + " ".join(f"{k}={v}" for k, v in counts.items()), flush=True)


class _LoggedRest:
    """Our Flask app with a request log built in the Gunicorn worker, after the fork."""

    def __init__(self, url: str, flags: list[str]) -> None:
        self.url, self.flags = url, flags
        self.payload_log: PayloadLog | None = None

    def app(self) -> Flask:
        self.payload_log = _start_log(self.url, self.flags)
        return _our_flask(self.payload_log)

    def worker_exit(self, server: Any, worker: Any) -> None:
        if self.payload_log is not None:
            _close_log(self.payload_log)


def _floor_flask() -> Flask:
    return floor_apps.flask_floor(payloads.floor_reply())


def _serve_grpc(server: Any) -> None:
    signal.signal(signal.SIGTERM, lambda *_: server.stop(0))
    server.start()
    server.wait_for_termination()


def _our_grpc(port: int, payload_log: PayloadLog | None = None) -> None:
    model = UserModel(Identity())
    model.load()
    options = GrpcOptions(address=f"{HOST}:{port}", threads=THREADS, payload_log=payload_log)
    built = build_server(Dispatcher(model), options)
    built.mark_serving()
    _serve_grpc(built.server)
    if payload_log is not None:
        _close_log(payload_log)


def main(argv: list[str]) -> None:
    kind, port = argv[0], int(argv[1])
    if kind == "rest":
        _Gunicorn(_our_flask, port).run()
    elif kind == "rest-floor":
        _Gunicorn(_floor_flask, port).run()
    elif kind == "grpc":
        _our_grpc(port)
    elif kind == "rest-log":
        logged = _LoggedRest(argv[2], argv[3:])
        _Gunicorn(logged.app, port, logged.worker_exit).run()
    elif kind == "grpc-log":
        _our_grpc(port, _start_log(argv[2], argv[3:]))
    elif kind == "grpc-floor":
        _serve_grpc(floor_apps.grpc_floor(f"{HOST}:{port}", THREADS))
    elif kind == "v2-floor":
        if os.fork() == 0:  # grpc is started only in the child, after the fork
            _serve_grpc(floor_apps.grpc_echo(f"{HOST}:{argv[2]}", THREADS))
            os._exit(0)
        _Gunicorn(floor_apps.flask_echo, port).run()
    else:
        raise SystemExit(f"unknown server kind {kind!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
