"""The run: a reader thread, REST workers or the gRPC driver, and an in-order writer."""

from __future__ import annotations

import logging
import queue
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from seldon_server.batch.async_driver import AsyncDriver
from seldon_server.batch.client import Client, make_client, make_grpc_client
from seldon_server.batch.config import BatchConfig, ExitCode
from seldon_server.batch.io import OutputWriter, ResumeState, count_lines, iter_lines, scan_output
from seldon_server.batch.payload import InstanceIds, Line
from seldon_server.batch.processor import Interrupted, Outcome, Processor, run_blocking
from seldon_server.batch.progress import Progress
from seldon_server.batch.shard import sample

logger = logging.getLogger(__name__)

_WORKER_DONE = object()
_POLL = 0.2  # seconds: how often a blocked reader looks at the stop flag
_DRAIN = 0.02  # seconds between the writer's passes over the finished results

ClientFactory = Callable[[BatchConfig], Client]


@dataclass(slots=True)
class Summary:
    """The outcome of a run, for the final summary line and the exit code."""

    ok: int
    failed: int
    kept: int  # lines already in the output file (--resume)
    elapsed: float
    exit_code: ExitCode
    output: Path
    batch_id: str
    error: str = ""
    shard: str = ""  # "shard 1 of 3" in a sharded run
    overloaded: int = 0  # attempts the server refused for load, then retried

    @property
    def rows_per_second(self) -> float:
        return (self.ok + self.failed) / self.elapsed if self.elapsed > 0 else 0.0

    def line(self) -> str:
        """The one-line summary printed at the end of every run."""
        kept = f", {self.kept} kept from an earlier run" if self.kept else ""
        shard = f"{self.shard}: " if self.shard else ""
        # Why a run was slow: the server shed load and the client waited as it asked.
        busy = f"; overloaded answers retried: {self.overloaded}" if self.overloaded else ""
        counts = f"ok {self.ok}, failed {self.failed}{kept}{busy}"
        return (
            f"{shard}{self.ok + self.failed} lines: {counts}; "
            f"elapsed {self.elapsed:.2f} s, {self.rows_per_second:.1f} rows/s; "
            f"output {self.output}; exit {int(self.exit_code)} ({self.exit_code.name})"
        )


def run(
    config: BatchConfig,
    stop: threading.Event | None = None,
    client_factory: ClientFactory = make_client,
) -> Summary:
    """Process the whole input; returns the summary. Setting `stop` interrupts cleanly.

    `client_factory` makes each REST worker's client (tests swap it); gRPC always uses the
    non-blocking GrpcClient through the async driver.
    """
    started = time.monotonic()
    stop, shard = stop or threading.Event(), config.shard
    try:
        state = scan_output(config.output_data_path, shard) if config.resume else ResumeState()
    except OSError as exc:
        return _io_failure(config, f"cannot read {exc.filename}: {exc.strerror}", started)
    if foreign := sorted(i for i in state.done if not shard.owns(i)):
        # Another shard's output (or another --shard-count): resuming would mix two shards.
        message = (f"--resume: {config.output_data_path} holds input lines {sample(foreign)}, "
                   f"which are not {shard}'s; give each shard its own output path")  # fmt: skip
        return _io_failure(config, message, started, ExitCode.USAGE)
    try:
        source = open(config.input_data_path, "rb")  # noqa: SIM115 - the reader thread closes it
    except OSError as exc:
        return _io_failure(config, f"cannot read {exc.filename}: {exc.strerror}", started)
    batch_id = config.batch_id or state.batch_id or str(uuid.uuid1())
    try:
        sink = open(config.output_data_path, "ab" if config.resume else "wb")  # noqa: SIM115
    except OSError as exc:
        source.close()
        return _io_failure(config, f"cannot write {exc.filename}: {exc.strerror}", started)
    with sink:
        pipeline = _Pipeline(config, batch_id, stop, client_factory, state)
        pipeline.start(source)
        pipeline.collect(OutputWriter(sink, ordered=not config.unordered))
    return pipeline.summary(started)


def _thread(target: Callable[..., None], name: str, *args: Any) -> None:
    threading.Thread(target=target, args=args, name=name, daemon=True).start()


def _io_failure(
    config: BatchConfig, message: str, started: float, code: ExitCode = ExitCode.IO_ERROR
) -> Summary:
    return Summary(
        0,
        0,
        0,
        time.monotonic() - started,
        code,
        config.output_data_path,
        config.batch_id or "",
        message,
        _shard_label(config),
    )


def _shard_label(config: BatchConfig) -> str:
    return str(config.shard) if config.shard_count is not None else ""


class _Pipeline:
    """The threads of one run and the counters they share."""

    def __init__(
        self,
        config: BatchConfig,
        batch_id: str,
        stop: threading.Event,
        client_factory: ClientFactory,
        state: ResumeState,
    ) -> None:
        self.config, self.batch_id, self.stop, self.state = config, batch_id, stop, state
        self.processor = Processor(config, batch_id)
        self.client_factory = client_factory
        self.tasks: queue.SimpleQueue[tuple[int, list[Line]] | None] = queue.SimpleQueue()
        self.results: queue.SimpleQueue[Any] = queue.SimpleQueue()
        # How many tasks may be read ahead of the oldest unwritten one: bounds memory and the
        # reorder buffer, while leaving every worker several tasks of slack behind a slow one.
        self.window = threading.Semaphore(8 * config.workers + 64)
        self.ok = self.failed = 0
        self.error = ""
        self.read_all = False  # the reader reached the end of the input
        self.dropped = 0  # tasks abandoned by an interrupt, left for --resume

    def start(self, source: BinaryIO) -> None:
        _thread(self._read, "batch-reader", source)
        if self.config.transport == "grpc":
            _thread(self._drive, "batch-grpc-driver")
        else:
            for n in range(self.config.workers):
                _thread(self._work, f"batch-worker-{n}")

    def _read(self, source: BinaryIO) -> None:
        size, done, seq, chunk = self.config.batch_size, self.state.done, 0, []
        new_id = InstanceIds()
        try:
            for index, raw in self.config.shard.take(iter_lines(source)):
                if index in done:
                    continue
                chunk.append(Line(index, new_id(), raw))
                if len(chunk) == size:
                    if not self._submit(seq, chunk):
                        return
                    seq, chunk = seq + 1, []
            if chunk and not self._submit(seq, chunk):
                return
            self.read_all = True
        except OSError as exc:
            self._fail(f"cannot read {self.config.input_data_path}: {exc}")
        finally:
            source.close()
            for _ in range(self.config.workers):
                self.tasks.put(None)

    def _submit(self, seq: int, chunk: list[Line]) -> bool:
        while not self.window.acquire(timeout=_POLL):
            if self.stop.is_set():
                return False
        if self.stop.is_set():
            return False
        self.tasks.put((seq, chunk))
        return True

    def _work(self) -> None:
        """A REST worker: one task at a time, with its own connection."""
        client: Client | None = None
        try:
            while (task := self.tasks.get()) is not None:
                seq, lines = task
                started = time.monotonic()
                outcomes: list[Outcome] | None = None
                if not self.stop.is_set():
                    try:
                        client = client or self.client_factory(self.config)
                        steps = self.processor.process(lines)
                        outcomes = run_blocking(steps, client, self.stop)
                    except Interrupted:
                        outcomes = None  # never written, so --resume sends these lines again
                    except Exception as exc:  # one task's bug must not lose lines or hang the run
                        logger.exception("unexpected error on lines %d..", lines[0].index)
                        outcomes = [self.processor.failure(ln, f"internal error: {exc!r}")
                                    for ln in lines]  # fmt: skip
                self.results.put((seq, outcomes))
                self._pace(started)
        finally:
            if client is not None:
                client.close()
            self.results.put(_WORKER_DONE)

    def _drive(self) -> None:
        """The gRPC driver: every task in flight on this one thread (see async_driver)."""
        clients = [make_grpc_client(self.config) for _ in range(self.config.grpc_channels)]
        try:
            AsyncDriver(self.processor, clients, self.tasks, self.results, self.stop).run()
        except Exception:  # never hang: fail what is left rather than wait forever
            logger.exception("the gRPC driver failed")
            self._fail("internal error in the gRPC driver; rerun with --resume")
        finally:
            for client in clients:
                client.close()
            self.results.put(_WORKER_DONE)

    def _pace(self, started: float) -> None:
        remaining = self.config.batch_interval - (time.monotonic() - started)
        if remaining > 0:
            self.stop.wait(remaining)

    def _fail(self, message: str) -> None:
        self.error = self.error or message
        self.stop.set()

    def collect(self, writer: OutputWriter) -> None:
        """The writer loop, on the calling thread; ends when every worker has exited."""
        interactive = sys.stderr.isatty()
        total = None
        if interactive:
            total = self.config.shard.size(count_lines(self.config.input_data_path))
            total -= self.state.lines
        progress = Progress(sys.stderr, total, interactive)
        alive = 1 if self.config.transport == "grpc" else self.config.workers
        while alive:
            # Poll, then take everything that arrived: waking on every result cost a thread
            # switch per row, and releasing the read-ahead window in bursts lets the reader
            # (and the gRPC driver) wake once per burst too.
            time.sleep(_DRAIN)
            while True:
                try:
                    item = self.results.get_nowait()
                except queue.Empty:
                    break
                if item is _WORKER_DONE:
                    alive -= 1
                else:
                    self._take(writer, *item)
            # One flush per poll, not per line; a line lost to a kill before its flush is
            # simply sent again by --resume.
            self._flush(writer)
            progress.update(self.ok, self.failed)
        self._flush(writer)
        progress.finish()
        if writer.pending and not self.stop.is_set():
            self._fail(f"internal error: {writer.pending} finished tasks were never written")

    def _take(self, writer: OutputWriter, seq: int, outcomes: list[Outcome] | None) -> None:
        texts = None
        if outcomes is not None:
            texts = [text for text, _ in outcomes]
            ok = sum(1 for _, good in outcomes if good)
            self.ok, self.failed = self.ok + ok, self.failed + len(outcomes) - ok
        else:
            self.dropped += 1
        retired = 1
        if not self.error:
            try:
                retired = writer.add(seq, texts)
            except OSError as exc:
                self._fail(f"cannot write {self.config.output_data_path}: {exc}")
        for _ in range(retired):
            self.window.release()

    def _flush(self, writer: OutputWriter) -> None:
        if self.error:
            return
        try:
            writer.flush()
        except OSError as exc:
            self._fail(f"cannot write {self.config.output_data_path}: {exc}")

    def summary(self, started: float) -> Summary:
        if self.error:
            code = ExitCode.IO_ERROR
        elif self.dropped or not self.read_all:
            code = ExitCode.INTERRUPTED
        else:
            code = ExitCode.LINES_FAILED if self.failed else ExitCode.OK
        elapsed = time.monotonic() - started
        return Summary(
            self.ok,
            self.failed,
            self.state.lines,
            elapsed,
            code,
            self.config.output_data_path,
            self.batch_id,
            self.error,
            _shard_label(self.config),
            self.processor.overloaded,
        )
