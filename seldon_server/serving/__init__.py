"""The process model: a supervisor running the REST, gRPC, metrics and custom-service processes."""

from __future__ import annotations

from seldon_server.serving.exit_codes import ExitCode
from seldon_server.serving.runner import run

__all__ = ["ExitCode", "run"]
