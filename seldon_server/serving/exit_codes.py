"""The exit codes of `seldon-microservice`, one meaning each."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What the process exit status tells an orchestrator or a shell."""

    OK = 0  # a clean stop (SIGTERM/SIGINT and every process drained in time)
    FAILURE = 1  # a serving process failed to start, died, or had to be killed on shutdown
    USAGE = 2  # a bad flag or env value (one line on stderr)
    USER_MODEL = 3  # the model class cannot be imported or instantiated
    LOAD_FAILED = 4  # the model's load() raised
    INTERRUPTED = 130  # Ctrl-C before the server was up (128 + SIGINT, the shell convention)
