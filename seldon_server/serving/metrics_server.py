"""The metrics process: a small threaded HTTP server answering Prometheus scrapes."""

from __future__ import annotations

import logging
import socket
import socketserver
import threading
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from seldon_server.metrics import create_metrics_app
from seldon_server.serving.exit_codes import ExitCode
from seldon_server.serving.process import wait_for_stop
from seldon_server.settings import Settings

logger = logging.getLogger(__name__)
access_logger = logging.getLogger(__name__ + ".access")

CLIENT_TIMEOUT_SECONDS = 30  # a stalled client must not hold a thread for ever


class _Handler(WSGIRequestHandler):
    timeout = CLIENT_TIMEOUT_SECONDS
    log_requests = False

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.log_requests:
            access_logger.info(
                '%s "%s" %s %s', self.client_address[0], self.requestline, code, size
            )

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the stdlib's name)
        logger.warning("%s: " + format, self.client_address[0], *args)


class MetricsServer(socketserver.ThreadingMixIn, WSGIServer):
    """A thread per connection; prometheus_client's own exporter is built the same way."""

    daemon_threads = True  # a scrape in flight never delays a stop
    allow_reuse_address = True

    def __init__(self, host: str, port: int, log_requests: bool = False) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        handler = type("Handler", (_Handler,), {"log_requests": log_requests})
        super().__init__((host, port), handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, which can stall on a pod's DNS.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)
        self.setup_environ()


def make_server(settings: Settings) -> MetricsServer:
    """A bound metrics server for `settings` (not yet serving)."""
    server = MetricsServer(settings.bind_address, settings.metrics_port, settings.access_log)
    server.set_app(create_metrics_app(settings.metrics_endpoint))
    return server


def serve(settings: Settings) -> int:
    """Serve scrapes until SIGTERM."""
    server = make_server(settings)
    thread = threading.Thread(target=server.serve_forever, name="metrics", daemon=True)
    thread.start()
    logger.info("Metrics served on port %d at %s", server.server_port, settings.metrics_endpoint)
    wait_for_stop()
    server.shutdown()
    server.server_close()
    return ExitCode.OK
