"""The REST server process: embedded Gunicorn, or Flask's development server in debug mode."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Iterator
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.errors import HaltServer

from seldon_server import metrics
from seldon_server.load.gate import make_gate, rest_plan
from seldon_server.rest.app import RestOptions, create_app
from seldon_server.serving.exit_codes import ExitCode
from seldon_server.serving.instrumentation import install_rest_tracing
from seldon_server.serving.process import die_with_parent, wait_for_stop
from seldon_server.serving.services import (
    ModelLoadError,
    ProcessServices,
    ServingPlan,
    address,
    batches,
    limit_unbatched_calls,
    load_model,
    log_load_failure,
    make_inference,
    start_services,
    stop_services,
)
from seldon_server.settings import Settings

logger = logging.getLogger(__name__)

HEARTBEATS_PER_TIMEOUT = 4  # keep a loading worker well inside gunicorn's worker timeout


def serve(plan: ServingPlan) -> int:
    """The REST child's main: Gunicorn, or the development server with SELDON_DEBUG."""
    if plan.settings.debug:
        return _serve_debug(plan)
    return _serve_gunicorn(plan)


# -- Gunicorn ---------------------------------------------------------------------------------


def gunicorn_options(settings: Settings, grace: float, batching: bool = False) -> dict[str, Any]:
    """The Gunicorn settings for the REST master, from ours (hooks are added by the app)."""
    # The admitted requests and the threads that refuse the rest (load.gate.rest_plan).
    threads = rest_plan(settings, batching).threads
    return {
        "bind": [address(settings.bind_address, settings.http_port)],
        "workers": settings.workers,
        "threads": threads,
        # sync has no keep-alive but is the lightest for one thread; gthread otherwise.
        "worker_class": "gthread" if threads > 1 else "sync",
        "keepalive": settings.keepalive,
        "timeout": settings.rest_timeout,
        "graceful_timeout": int(grace),
        "max_requests": settings.max_requests,
        "max_requests_jitter": settings.max_requests_jitter,
        "accesslog": "-" if settings.access_log else None,
        "loglevel": settings.log_level.lower(),
        "pidfile": settings.pidfile,
        # Gunicorn >= 25 opens a control socket in $HOME by default: not wanted in a pod.
        "control_socket_disable": True,
        # The worker heartbeat file: on a disk-backed /tmp its updates can stall workers.
        "worker_tmp_dir": "/dev/shm" if os.access("/dev/shm", os.W_OK) else None,
        "proc_name": f"seldon-rest:{settings.interface_name}",
    }


class _Arbiter(Arbiter):
    """Gunicorn's master without a SIGINT handler: it stays ignored (process.SIGNAL_RULES)."""

    SIGNALS = [s for s in Arbiter.SIGNALS if s != signal.SIGINT]


class SeldonGunicorn(BaseApplication):
    """Gunicorn configured from our settings only (no config file, no GUNICORN_CMD_ARGS)."""

    def __init__(self, plan: ServingPlan) -> None:
        self.plan = plan
        self.worker: Any = None  # this worker's gunicorn Worker, set in post_fork
        self.services: ProcessServices | None = None
        super().__init__()

    def load_config(self) -> None:
        assert self.cfg is not None
        settings = self.plan.settings
        options = gunicorn_options(settings, self.plan.grace, batches(settings, self.plan.model))
        options.update(post_fork=_post_fork, child_exit=_child_exit, worker_exit=_worker_exit)
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        """Build this worker's app and load the model; gunicorn calls it once per worker."""
        # Gunicorn's worker quits at once on SIGINT; ignored as every child (process.SIGNAL_RULES).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        self.services = start_services(self.plan)
        app = build_app(self.plan, self.services)
        try:
            with _heartbeat(self.worker):
                load_model(self.plan.model, self.plan.settings.interface_name)
        except ModelLoadError as exc:
            log_load_failure(exc, self.plan.first_failure)
            # This exit status makes the master halt instead of respawning (and, unlike
            # AppImportError, gunicorn prints nothing more about it).
            raise SystemExit(Arbiter.APP_LOAD_ERROR) from exc
        return app

    def run(self) -> None:
        _Arbiter(self).run()


def _post_fork(server: Any, worker: Any) -> None:
    server.app.worker = worker
    die_with_parent(server.pid)


def _child_exit(server: Any, worker: Any) -> None:
    # In the master: a recycled or crashed worker's live gauges must not linger.
    metrics.mark_process_dead(worker.pid)


def _worker_exit(server: Any, worker: Any) -> None:
    # Gunicorn kills a worker still running graceful_timeout after SIGTERM, which bounds this.
    stop_services(server.app.services, server.app.plan.grace)


@contextlib.contextmanager
def _heartbeat(worker: Any) -> Iterator[None]:
    """Tell the master this worker is alive while load() runs.

    Gunicorn kills a worker silent for longer than its timeout, and a worker is silent until
    its app is loaded, so a model slower to load than the timeout was killed and reloaded for
    ever. Gunicorn 27 happens to spare a worker before its first heartbeat (that timestamp is
    wall-clock time, the later ones monotonic); we do not rely on that accident.
    """
    timeout = worker.timeout if worker is not None else 0  # gunicorn passes timeout / 2
    if not timeout:
        yield
        return
    done = threading.Event()

    def beat() -> None:
        while not done.wait(timeout / HEARTBEATS_PER_TIMEOUT):
            worker.notify()

    thread = threading.Thread(target=beat, name="load-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def _serve_gunicorn(plan: ServingPlan) -> int:
    master = os.getpid()
    try:
        SeldonGunicorn(plan).run()
    except SystemExit as exc:
        if os.getpid() != master:
            raise  # a worker leaving: keep gunicorn's own exit code for the master to read
        code = exc.code if isinstance(exc.code, int) else 1
        return ExitCode.LOAD_FAILED if code == Arbiter.APP_LOAD_ERROR else code
    except HaltServer as exc:  # halted while stopping: a worker's load() failed meanwhile
        load_failed = exc.exit_status == Arbiter.APP_LOAD_ERROR
        return ExitCode.LOAD_FAILED if load_failed else ExitCode.FAILURE
    except RuntimeError as exc:  # gunicorn's start-up errors, as BaseApplication.run reports them
        logger.error("Gunicorn failed: %s", exc)
        return ExitCode.FAILURE
    return ExitCode.OK


def build_app(plan: ServingPlan, services: ProcessServices) -> Flask:
    """The REST app of one serving process, with request metrics and, if on, tracing."""
    settings = plan.settings
    options = RestOptions(
        payload_passthrough=settings.payload_passthrough,
        debug=settings.debug,
        max_request_size=settings.max_request_size,
        flask_config=settings.flask_config,
        metadata=plan.metadata,
        observer=services.recorder.observe_request,
        payload_log=services.payload_log,
        gate=make_gate(rest_plan(settings, services.dispatcher.batcher is not None), "rest"),
        inference=make_inference(plan, services.dispatcher),
    )
    limit_unbatched_calls(services.dispatcher, settings.rest_threads)
    app = create_app(services.dispatcher, options)
    if services.tracer is not None:
        install_rest_tracing(app, services.tracer, settings.jaeger_extra_tags)
    return app


# -- debug mode -------------------------------------------------------------------------------


def _serve_debug(plan: ServingPlan) -> int:
    """Flask's development server: threaded unless single-threaded; never Werkzeug's debugger
    or reloader (the debugger is a remote shell). Requests in flight when asked to stop may
    finish while the server closes; there is no timed drain as with Gunicorn."""
    from werkzeug.serving import make_server

    settings = plan.settings
    services = start_services(plan)
    app = build_app(plan, services)
    threaded = not settings.single_threaded
    server = make_server(settings.bind_address, settings.http_port, app, threaded=threaded)
    logger.warning(
        "Debug mode: serving REST on %s with Flask's development server (%s); not for production",
        address(settings.bind_address, settings.http_port),
        "threaded" if threaded else "single-threaded",
    )
    try:
        load_model(plan.model, settings.interface_name)
    except ModelLoadError as exc:
        log_load_failure(exc, plan.first_failure)
        server.server_close()
        return ExitCode.LOAD_FAILED
    thread = threading.Thread(target=server.serve_forever, name="rest-debug", daemon=True)
    thread.start()
    wait_for_stop()
    server.shutdown()
    server.server_close()
    stop_services(services, plan.grace)
    return ExitCode.OK
