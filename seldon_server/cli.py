"""The `seldon-microservice` command: settings, logging, the user's class, then the server."""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from seldon_server import __version__
from seldon_server.errors import BadParameterError
from seldon_server.logging_setup import configure_logging
from seldon_server.model.loader import (
    UserModelImportError,
    import_user_class,
    instantiate,
    parse_parameters,
)
from seldon_server.serving import ExitCode, run
from seldon_server.settings import PROG, HelpRequested, Settings, SettingsError, help_text, resolve

logger = logging.getLogger(__name__)
KAFKA_EXTRA = "pip install 'seldon-server[kafka]'"
PARAMETERS_SOURCES = "--parameters (or PREDICTIVE_UNIT_PARAMETERS)"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the model server; returns the process exit code (see `ExitCode`)."""
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        # The one place the environment is read for settings.
        settings = resolve(args, os.environ)
        parameters = parse_parameters(settings.parameters)
    except HelpRequested as request:
        print(str(request) or help_text(), end="")
        return ExitCode.OK
    except SettingsError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except BadParameterError as exc:
        print(f"{PROG}: error: invalid {PARAMETERS_SOURCES}: {exc.message}", file=sys.stderr)
        return ExitCode.USAGE
    if settings.server_type == "kafka" and not _installed("confluent_kafka"):
        print(f"{PROG}: error: --server-type kafka needs the extra: {KAFKA_EXTRA}", file=sys.stderr)
        return ExitCode.USAGE
    if settings.log_kafka_broker and not _installed("confluent_kafka"):
        print(f"{PROG}: error: --log-kafka-broker needs the extra: {KAFKA_EXTRA}", file=sys.stderr)
        return ExitCode.USAGE
    configure_logging(settings.log_level)
    try:
        return _serve(settings, parameters)
    except KeyboardInterrupt:
        # Only before the server is up: afterwards the supervisor handles SIGINT itself.
        logger.info("Interrupted during start-up")
        return ExitCode.INTERRUPTED


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # a finder that refuses it
        return False


def _serve(settings: Settings, parameters: dict[str, Any]) -> int:
    _log_startup(settings)
    try:
        user_object = instantiate(import_user_class(settings.interface_name), parameters)
    except UserModelImportError as exc:
        logger.error("%s", exc)
        # The traceback points into the user's module; one line is enough unless asked.
        logger.debug("Traceback of the failure above", exc_info=exc.__cause__ or exc)
        return ExitCode.USER_MODEL
    return run(settings, user_object)


def _log_startup(settings: Settings) -> None:
    logger.info("%s %s serving %s", PROG, __version__, settings.interface_name)
    shown = ", ".join(
        f"{key}={value!r}" for key, value in sorted(dataclasses.asdict(settings).items())
    )
    logger.info("Settings: %s", shown)
    if settings.persistence:
        # As the original: the option survives only so that old invocations keep working.
        logger.error(
            "persistence is deprecated and ignored (--persistence %d)", settings.persistence
        )
    if settings.single_threaded and settings.threads > 1:
        logger.info("Single-threaded: REST workers use 1 thread, not %d", settings.threads)


if __name__ == "__main__":
    sys.exit(main())
