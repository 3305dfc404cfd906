"""Forking, reaping and describing child processes, none of which outlives its parent."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import NoReturn

from seldon_server.serving.exit_codes import ExitCode

logger = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
# The signals the supervisor takes (through its wakeup pipe, see supervisor.py): SIGTERM and
# SIGINT stop everything gracefully, SIGHUP is forwarded, SIGCHLD wakes it to reap.
SUPERVISOR_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD)


@dataclass(frozen=True)
class SignalRules:
    """How one kind of child treats signals; every child starts from these (see `spawn`)."""

    unblocked: bool  # False: SUPERVISOR_SIGNALS stay blocked; SIGTERM is taken by wait_for_stop()
    why: str


# Every child, whatever its kind, first: dies by SIGKILL with the supervisor (die_with_parent),
# has the supervisor's handlers reset to the defaults, and ignores SIGINT (a terminal's Ctrl-C
# reaches the whole process group; the supervisor alone turns it into a graceful stop).
SIGNAL_RULES: dict[str, SignalRules] = {
    "server": SignalRules(
        unblocked=False,
        why="gRPC, metrics and debug REST servers: SIGTERM -> drain, then exit 0; SIGHUP ignored",
    ),
    "gunicorn": SignalRules(
        unblocked=True,
        why="the Gunicorn master and its workers: Gunicorn's own handlers (SIGTERM graceful stop,"
        " SIGHUP new workers, SIGQUIT fast stop), SIGINT left ignored in both (rest_server.py)",
    ),
    "user": SignalRules(
        unblocked=True,
        why="the model's custom_service(): default handlers, so SIGTERM ends it at once",
    ),
}


@dataclass
class Child:
    """A forked child as the supervisor sees it."""

    name: str
    pid: int
    optional: bool = False  # exiting with 0 is not a failure (the user's custom_service)
    forward_hup: bool = False  # SIGHUP is passed on (gunicorn reloads its workers on it)
    status: int | None = field(default=None)  # the waitpid status, once reaped

    @property
    def exit_code(self) -> int | None:
        """The code it exited with; None while running or when a signal killed it."""
        if self.status is None or not os.WIFEXITED(self.status):
            return None
        return os.WEXITSTATUS(self.status)

    @property
    def clean(self) -> bool:
        return self.exit_code == 0

    def describe(self) -> str:
        """`exited with code 3`, `was killed by SIGKILL`, or `is running`."""
        if self.status is None:
            return "is running"
        if os.WIFSIGNALED(self.status):
            return f"was killed by {_signal_name(os.WTERMSIG(self.status))}"
        return f"exited with code {self.exit_code}"


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def die_with_parent(parent_pid: int) -> None:
    """Have the kernel SIGKILL this process when its parent dies, even by SIGKILL (Linux).

    Without it a SIGKILLed supervisor (OOM killer, a test's finalizer) would leave serving
    processes behind, still holding the ports.
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            logger.warning("prctl(PR_SET_PDEATHSIG) failed: %s", os.strerror(ctypes.get_errno()))
    # The parent may have died between fork and prctl: we would have been re-parented already.
    if os.getppid() != parent_pid:
        os._exit(ExitCode.FAILURE)


def spawn(
    name: str,
    target: Callable[[], int],
    *,
    signals: str = "server",
    optional: bool = False,
    forward_hup: bool = False,
    close_fds: Iterable[int] = (),
) -> Child:
    """Fork a child that runs `target` under `SIGNAL_RULES[signals]` and exits with its code.

    Call with the supervisor signals blocked: the child inherits the mask, so none arrives
    before its handlers are reset.
    """
    rules = SIGNAL_RULES[signals]
    parent = os.getpid()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()  # or buffered text would be written twice, once by each process
    pid = os.fork()
    if pid:
        return Child(name, pid, optional, forward_hup)
    _run_child(name, parent, target, rules, tuple(close_fds))


def _run_child(
    name: str,
    parent: int,
    target: Callable[[], int],
    rules: SignalRules,
    close_fds: tuple[int, ...],
) -> NoReturn:
    code: int = ExitCode.FAILURE
    try:
        die_with_parent(parent)
        signal.set_wakeup_fd(-1)
        for fd in close_fds:
            os.close(fd)
        for signum in SUPERVISOR_SIGNALS:
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if rules.unblocked:
            signal.pthread_sigmask(signal.SIG_SETMASK, [])
        code = target()
    except SystemExit as exc:
        # Gunicorn's workers leave through here too, with gunicorn's own exit codes.
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        logger.exception("%s (pid %d) failed", name, os.getpid())
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
    # os._exit: the supervisor's atexit handlers and finalizers are not ours to run.
    os._exit(code)


def reap(children: dict[int, Child]) -> list[Child]:
    """Collect every child that has exited, without blocking; reaped ones leave `children`."""
    done = []
    for pid in list(children):
        try:
            waited, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            waited, status = pid, 0  # already reaped elsewhere: gone all the same
        if waited:
            done.append(_reaped(children, pid, status))
    if os.getpid() == 1:
        done.extend(_reap_orphans(children))
    return done


def _reaped(children: dict[int, Child], pid: int, status: int) -> Child:
    child = children.pop(pid)
    child.status = status
    return child


def _reap_orphans(children: dict[int, Child]) -> list[Child]:
    """As PID 1 (a container's init), collect re-parented orphans so no zombies pile up."""
    done: list[Child] = []
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return done
        if not pid:
            return done
        if pid in children:  # one of ours that exited since the loop above
            done.append(_reaped(children, pid, status))


def wait_for_stop() -> None:
    """Block until SIGTERM: the supervisor's request for a graceful stop.

    SIGTERM stays blocked in every thread of a serving child (threads inherit the mask of the
    thread that starts them), so it is only ever taken here.
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    signal.sigwait({signal.SIGTERM})
