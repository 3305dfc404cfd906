"""Logging for every server process: one root format, the level from settings, access filters."""

from __future__ import annotations

import logging

LOG_FORMAT = "%(asctime)s - %(name)s:%(funcName)s:%(lineno)s - %(levelname)s:  %(message)s"
# Loggers that write one line per HTTP request.
ACCESS_LOGGERS = ("gunicorn.access", "werkzeug", "seldon_server.serving.metrics_server.access")


def configure_logging(level: str) -> None:
    """Configure the root logger once, in the CLI process; forked children inherit it."""
    # force: a previous configuration (an embedding test runner, say) must not double lines.
    logging.basicConfig(level=level, format=LOG_FORMAT, force=True)


class DropPath(logging.Filter):
    """Drops access-log records that mention `path` (FILTER_METRICS_ACCESS_LOGS)."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            return self.path not in record.getMessage()
        except Exception:  # a malformed record is logging's business to report, not ours
            return True


def filter_access_logs(path: str) -> None:
    """Keep scrapes of the metrics `path` out of every access log (idempotent)."""
    for name in ACCESS_LOGGERS:
        log = logging.getLogger(name)
        if not any(isinstance(f, DropPath) and f.path == path for f in log.filters):
            log.addFilter(DropPath(path))
