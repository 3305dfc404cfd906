"""Load control in-process: batch keys, joining and splitting rows, the batcher, the gate."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np
import pytest
from utils import wait_until

from seldon_server.codecs.message import Message
from seldon_server.errors import (
    INTERNAL_ERROR,
    OVERLOADED,
    TIMEOUT,
    BadDataError,
    ClientGoneError,
    DeadlineExceededError,
    InternalError,
    OverloadedError,
    SeldonError,
    grpc_code_name,
)
from seldon_server.load import deadline as request_deadline
from seldon_server.load import rows
from seldon_server.load.batcher import Batcher
from seldon_server.load.gate import (
    NO_DEADLINE,
    REJECT_THREADS,
    RETRY_AFTER_SECONDS,
    Gate,
    GatePlan,
    grpc_plan,
    make_gate,
    rest_plan,
)
from seldon_server.settings import ADMITTED_AT_LEAST, ADMITTED_PER_SLOT, Settings, resolve

T = TypeVar("T")
WAIT = 10.0  # the longest any event in these tests may take; only a broken build waits that long
LONG_BATCH = 5.0  # a max_wait no test reaches: batches are called when max_size is reached


class _SubArray(np.ndarray):
    """An ndarray subclass: not joined, whatever it holds."""


def data(value: Any, names: Sequence[str] = (), encoding: str = "ndarray") -> Message:
    return Message("data", np.asarray(value), list(names), encoding)  # type: ignore[arg-type]


def in_threads(func: Callable[[int], T], count: int) -> list[T]:
    """func(0..count-1), each on its own thread, started together; results (or raises) in order."""
    start = threading.Barrier(count)

    def run(index: int) -> T:
        start.wait(WAIT)
        return func(index)

    with ThreadPoolExecutor(count) as pool:
        futures = [pool.submit(run, index) for index in range(count)]
        return [future.result(WAIT) for future in futures]


def outcome_or_error(func: Callable[[], T]) -> T | Exception:
    try:
        return func()
    except Exception as exc:
        return exc


# -- rows.batch_key --------------------------------------------------------------------------


def test_requests_of_one_dtype_trailing_shape_and_names_share_a_key() -> None:
    one_row = data([[1.0, 2.0]], ["a", "b"])
    three_rows = data([[3.0, 4.0], [5.0, 6.0], [7.0, 8.0]], ["a", "b"], encoding="tensor")
    assert rows.batch_key(one_row) == rows.batch_key(three_rows) is not None
    assert hash(rows.batch_key(one_row)) == hash(rows.batch_key(three_rows))


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (data([[1, 2]]), data([[1.0, 2.0]])),  # int64 vs float64
        (data(np.array([[1, 2]], np.float32)), data([[1.0, 2.0]])),  # float32 vs float64
        (data(np.array([[1, 2]], np.int32)), data([[1, 2]])),  # int32 vs int64
        (data([[True, False]]), data([[1, 0]])),  # bool vs int
        (data([[1.0, 2.0]]), data([[1.0, 2.0, 3.0]])),  # trailing shape (2,) vs (3,)
        (data([[1.0, 2.0]]), data([[[1.0], [2.0]]])),  # (2,) vs (2, 1)
        (data([1.0, 2.0]), data([[1.0, 2.0]])),  # 1-d vs 2-d
        (data([[1.0, 2.0]], ["a", "b"]), data([[1.0, 2.0]])),  # names vs none
        (data([[1.0, 2.0]], ["a", "b"]), data([[1.0, 2.0]], ["b", "a"])),  # name order
    ],
)
def test_requests_differing_in_dtype_shape_or_names_do_not_share_a_key(
    first: Message, second: Message
) -> None:
    assert rows.batch_key(first) is not None and rows.batch_key(second) is not None
    assert rows.batch_key(first) != rows.batch_key(second)


@pytest.mark.parametrize(
    "request_",
    [
        Message("jsonData", {"a": 1}),
        Message("strData", "text"),
        Message("binData", b"\x00\x01"),
        data([["a", "b"]]),  # strings have no rows to add up
        data(np.array([[1, "a"]], dtype=object)),
        data(np.array([[1 + 2j]])),  # complex is not a row kind
        data(np.array(["2024-01-01"], dtype="datetime64[D]")),
        data(np.float64(3.5)),  # 0-d
        data(np.array(7)),  # 0-d
        data(np.empty((0, 2))),  # no rows
        data(np.empty((0,))),
        Message("data", [[1.0, 2.0]], []),  # not an ndarray
        Message("data", np.zeros((1, 2)).view(_SubArray), []),  # an ndarray subclass
    ],
    ids=lambda m: (
        f"{m.kind}-{getattr(m.value, 'dtype', type(m.value).__name__)}"
        f"-{getattr(m.value, 'shape', '')}"
    ),
)
def test_what_has_no_rows_to_join_has_no_key(request_: Message) -> None:
    assert rows.batch_key(request_) is None


def test_bool_int_uint_and_float_rows_are_keyed() -> None:
    for dtype in (np.bool_, np.int8, np.int64, np.uint16, np.float16, np.float64):
        assert rows.batch_key(data(np.zeros((2, 3), dtype))) == (np.dtype(dtype).str, (3,), ())


# -- rows.join and rows.split ----------------------------------------------------------------


def test_join_concatenates_in_order_and_a_single_request_is_not_copied() -> None:
    first, second = data([[1.0, 2.0]]), data([[3.0, 4.0], [5.0, 6.0]])
    joined = rows.join([first, second])
    np.testing.assert_array_equal(joined, [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert joined.dtype == np.float64
    assert rows.join([second]) is second.value


@pytest.mark.parametrize("counts", [[1, 1], [1, 2, 3], [4], [2, 1, 1, 2]])
def test_split_of_a_row_wise_result_gives_each_request_its_rows(counts: list[int]) -> None:
    requests = [
        data(np.arange(n * 2, dtype=float).reshape(n, 2) + 100 * i) for i, n in enumerate(counts)
    ]
    parts = rows.split(rows.join(requests) * 2, counts)
    assert len(parts) == len(counts)
    for request, part in zip(requests, parts, strict=True):
        np.testing.assert_array_equal(part, request.value * 2)


def test_split_keeps_trailing_dimensions_and_may_change_the_row_width() -> None:
    result = np.arange(3 * 4 * 2).reshape(3, 4, 2)
    first, second = rows.split(result, [2, 1])
    assert first.shape == (2, 4, 2) and second.shape == (1, 4, 2)
    np.testing.assert_array_equal(np.concatenate([first, second]), result)
    probabilities = rows.split(np.array([[0.1, 0.9], [0.8, 0.2], [0.5, 0.5]]), [1, 2])
    np.testing.assert_array_equal(probabilities[1], [[0.8, 0.2], [0.5, 0.5]])


def test_split_of_a_list_result_gives_each_request_its_rows() -> None:
    parts = rows.split([[1, 2], [3, 4], [5, 6]], [2, 1])
    assert parts == [[[1, 2], [3, 4]], [[5, 6]]]  # lists stay lists: their items keep types
    assert rows.split(["cat", "dog", "cow"], [1, 2]) == [["cat"], ["dog", "cow"]]
    assert rows.split((7, 8), [1, 1]) == [[7], [8]]
    assert rows.split([["cat", 0.5], [1, True]], [1, 1]) == [[["cat", 0.5]], [[1, True]]]


def test_split_of_a_ragged_list_gives_each_request_its_own_rows_unchanged() -> None:
    result = [[1, 2], [3], [4, 5, 6]]
    first, second = rows.split(result, [1, 2])
    assert list(first) == [[1, 2]] and list(second) == [[3], [4, 5, 6]]
    dicts = [{"p": 0.1}, {"p": 0.2, "q": 1}]
    assert [list(part) for part in rows.split(dicts, [1, 1])] == [
        [{"p": 0.1}],
        [{"p": 0.2, "q": 1}],
    ]


def test_a_single_request_gets_the_result_itself() -> None:
    result = [[1, 2.5]]
    assert rows.split(result, [1])[0] is result
    array = np.array([[1.0]])
    assert rows.split(array, [1])[0] is array


@pytest.mark.parametrize(
    ("result", "counts", "found"),
    [
        (np.zeros((3, 2)), [2, 2], "3"),
        (np.zeros((5, 2)), [2, 2], "5"),
        (np.zeros((1, 2)), [1, 1], "1"),
        ([[1], [2], [3]], [1, 1], "3"),
        (np.zeros((0, 2)), [1, 1], "0"),
        ([], [1, 1], "0"),
        (np.float64(1.5), [1, 1], "no"),
        (np.array(2), [1, 1], "no"),
        ({"a": [1, 2]}, [1, 1], "no"),
        ("two rows", [1, 1], "no"),
        (None, [1, 1], "no"),
        (3, [1, 2], "no"),
    ],
)
def test_a_result_without_one_row_per_input_row_is_an_internal_error(
    result: Any, counts: list[int], found: str
) -> None:
    with pytest.raises(InternalError) as info:
        rows.split(result, counts)
    error = info.value
    total = sum(counts)
    assert error.message.startswith(
        f"Batched predict returned {found} rows for the {total} rows of {len(counts)} requests"
    )
    assert "--max-batch-size" in error.message and "one row per input row" in error.message
    assert error.status_code == 500 and error.reason == INTERNAL_ERROR


# -- rows.groups -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "max_size", "expected"),
    [
        ([], 4, []),
        (["a", "a", "a"], 4, [[0, 1, 2]]),
        (["a"] * 5, 2, [[0, 1], [2, 3], [4]]),
        (["a", "b", "a", "b"], 8, [[0, 2], [1, 3]]),
        (["a", None, "a", None], 8, [[0, 2], [1], [3]]),
        ([None, None], 8, [[0], [1]]),
        (["a", "b", "a", "a", "b", "a"], 2, [[0, 2], [1, 4], [3, 5]]),
        (["a", "a", "a"], 1, [[0], [1], [2]]),
        ([("f8", (2,), ()), ("f8", (2,), ()), ("i8", (2,), ())], 8, [[0, 1], [2]]),
    ],
)
def test_groups_join_equal_keys_in_order_up_to_max_size(
    keys: list[Hashable | None], max_size: int, expected: list[list[int]]
) -> None:
    assert rows.groups(keys, max_size) == expected


def test_groups_cover_every_index_once_and_calls_are_ordered_by_first_request() -> None:
    keys: list[Hashable | None] = [("k", i % 3) if i % 5 else None for i in range(40)]
    calls = rows.groups(keys, 4)
    assert sorted(i for call in calls for i in call) == list(range(40))
    assert [call[0] for call in calls] == sorted(call[0] for call in calls)
    for call in calls:
        assert 1 <= len(call) <= 4 and call == sorted(call)
        assert len({keys[i] for i in call}) == 1
        assert keys[call[0]] is not None or len(call) == 1


# -- Batcher ---------------------------------------------------------------------------------


class Model:
    """call_rows for a Batcher: records each call's requests, answers value * 10 per request;
    `hold` (an Event) makes the next call wait until set, after `called` is set."""

    def __init__(self) -> None:
        self.calls: list[list[Message]] = []
        self.threads: set[str] = set()
        self.hold: threading.Event | None = None
        self.called = threading.Event()

    def __call__(self, requests: list[Message]) -> list[Any]:
        self.calls.append(list(requests))
        self.threads.add(threading.current_thread().name)
        self.called.set()
        hold, self.hold = self.hold, None
        if hold is not None:
            assert hold.wait(WAIT)
        return [
            request.value * 10 if request.kind == "data" else request.value for request in requests
        ]

    def sizes(self) -> list[int]:
        return [len(call) for call in self.calls]


def test_concurrent_submits_share_one_call_and_each_gets_its_own_rows() -> None:
    model = Model()
    batcher = Batcher(model, max_size=8, max_wait=LONG_BATCH)
    requests = [data([[float(i), float(r)] for r in range(1 + i % 3)]) for i in range(8)]
    started = time.monotonic()
    answers = in_threads(lambda i: batcher.submit(requests[i]), 8)
    assert time.monotonic() - started < LONG_BATCH / 2  # called when full, not at max_wait
    assert model.sizes() == [8]
    assert {id(r) for r in model.calls[0]} == {id(r) for r in requests}
    for request, answer in zip(requests, answers, strict=True):
        np.testing.assert_array_equal(answer, request.value * 10)
    assert model.threads == {"batcher"}  # predict is called on the batcher's thread only


def test_batches_hold_at_most_max_size_requests() -> None:
    model = Model()
    batcher = Batcher(model, max_size=4, max_wait=LONG_BATCH)
    requests = [data([[float(i)]]) for i in range(8)]
    answers = in_threads(lambda i: batcher.submit(requests[i]), 8)
    assert model.sizes() == [4, 4]
    assert sorted(float(a[0][0]) for a in answers) == [10.0 * i for i in range(8)]
    for request, answer in zip(requests, answers, strict=True):
        np.testing.assert_array_equal(answer, request.value * 10)


def test_a_lone_request_is_answered_after_about_max_wait() -> None:
    model = Model()
    batcher = Batcher(model, max_size=8, max_wait=0.15)
    batcher.submit(data([[0.0]]))  # the batcher thread is up: only the wait is measured below
    started = time.monotonic()
    answer = batcher.submit(data([[1.0, 2.0]]))
    elapsed = time.monotonic() - started
    np.testing.assert_array_equal(answer, [[10.0, 20.0]])
    assert 0.15 * 0.9 <= elapsed < 0.15 + 1.0, elapsed
    assert model.sizes() == [1, 1]


def test_max_wait_zero_calls_at_once() -> None:
    model = Model()
    batcher = Batcher(model, max_size=8, max_wait=0.0)
    started = time.monotonic()
    for i in range(20):
        np.testing.assert_array_equal(batcher.submit(data([[float(i)]])), [[10.0 * i]])
    assert time.monotonic() - started < 2.0
    assert model.sizes() == [1] * 20


def test_the_next_batch_gathers_while_the_model_runs_the_last_one() -> None:
    model = Model()
    batcher = Batcher(model, max_size=16, max_wait=0.01)
    model.hold = release = threading.Event()
    with ThreadPoolExecutor(6) as pool:
        first = pool.submit(batcher.submit, data([[0.0]]))
        assert model.called.wait(WAIT)
        later = [pool.submit(batcher.submit, data([[float(i)]])) for i in range(1, 6)]
        # The five wait in the batcher's queue while the first call runs.
        wait_until(lambda: batcher._queue.qsize() == 5, "five queued requests", WAIT)
        release.set()
        np.testing.assert_array_equal(first.result(WAIT), [[0.0]])
        for i, future in enumerate(later, 1):
            np.testing.assert_array_equal(future.result(WAIT), [[10.0 * i]])
    assert model.sizes() == [1, 5]


def test_requests_with_different_keys_are_called_apart_and_keyless_ones_alone() -> None:
    model = Model()
    batcher = Batcher(model, max_size=8, max_wait=LONG_BATCH)
    requests = [
        data([[1.0, 2.0]]),
        data([[1, 2]]),
        Message("strData", "a"),
        data([[3.0, 4.0]]),
        data([[3.0, 4.0]], ["x", "y"]),
        Message("jsonData", {"b": 1}),
        data([[5, 6]]),
        data([[7.0, 8.0], [9.0, 0.0]]),
    ]
    answers = in_threads(lambda i: batcher.submit(requests[i]), len(requests))
    for request, answer in zip(requests, answers, strict=True):
        if request.kind == "data":
            np.testing.assert_array_equal(answer, request.value * 10)
        else:
            assert answer == request.value
    assert sorted(model.sizes()) == [1, 1, 1, 2, 3]
    for call in model.calls:
        keys = {rows.batch_key(request) for request in call}
        assert len(keys) == 1
        assert None not in keys or len(call) == 1
    assert {len(call) for call in model.calls if call[0].kind != "data"} == {1}


def test_an_error_outcome_fails_only_its_own_request() -> None:
    error = BadDataError("not this one")

    def call_rows(requests: list[Message]) -> list[Any]:
        return [error if float(r.value[0][0]) == 1.0 else r.value for r in requests]

    batcher = Batcher(call_rows, max_size=3, max_wait=LONG_BATCH)
    requests = [data([[float(i)]]) for i in range(3)]
    answers = in_threads(lambda i: outcome_or_error(lambda: batcher.submit(requests[i])), 3)
    assert answers[1] is error
    np.testing.assert_array_equal(answers[0], [[0.0]])  # type: ignore[arg-type]
    np.testing.assert_array_equal(answers[2], [[2.0]])  # type: ignore[arg-type]


def test_an_exception_in_call_rows_fails_that_calls_requests_and_the_batcher_goes_on() -> None:
    calls: list[int] = []

    def call_rows(requests: list[Message]) -> list[Any]:
        calls.append(len(requests))
        if len(calls) == 1:
            raise ValueError("the model broke")
        return [r.value for r in requests]

    batcher = Batcher(call_rows, max_size=4, max_wait=LONG_BATCH)
    errors = in_threads(lambda i: outcome_or_error(lambda: batcher.submit(data([[1.0]]))), 4)
    assert calls == [4]
    for error in errors:
        assert isinstance(error, InternalError)
        assert error.message == "the model broke" and error.status_code == 500
        assert isinstance(error.__cause__, ValueError)
    # The batcher thread survived: later requests are answered.
    answers = in_threads(lambda i: batcher.submit(data([[float(i)]])), 4)
    assert calls == [4, 4]
    assert [float(a[0][0]) for a in answers] == [0.0, 1.0, 2.0, 3.0]


def test_an_exception_in_one_call_does_not_fail_the_calls_of_other_keys() -> None:
    release = threading.Event()
    busy = threading.Event()

    def call_rows(requests: list[Message]) -> list[Any]:
        if requests[0].kind == "strData":  # the first call holds the thread while the rest queue
            busy.set()
            assert release.wait(WAIT)
        elif requests[0].value.dtype.kind == "f":
            raise ValueError("floats break the model")
        return [r.value for r in requests]

    batcher = Batcher(call_rows, max_size=8, max_wait=0.01)
    requests = [data([[1.0]]), data([[2]]), data([[3.0]]), Message("strData", "alone")]
    with ThreadPoolExecutor(5) as pool:
        first = pool.submit(batcher.submit, Message("strData", "first"))
        assert busy.wait(WAIT)
        futures = []
        for count, request in enumerate(requests, 1):  # queued in this order: floats first
            futures.append(
                pool.submit(outcome_or_error, functools.partial(batcher.submit, request))
            )
            wait_until(
                lambda count=count: batcher._queue.qsize() == count, "a queued request", WAIT
            )
        release.set()
        assert first.result(WAIT) == "first"
        answers = [future.result(WAIT) for future in futures]
    assert isinstance(answers[0], InternalError) and isinstance(answers[2], InternalError)
    np.testing.assert_array_equal(answers[1], [[2]])  # type: ignore[arg-type]
    assert answers[3] == "alone"


def test_a_request_with_odd_names_does_not_fail_the_others_of_its_batch() -> None:
    model = Model()
    batcher = Batcher(model, max_size=3, max_wait=LONG_BATCH)
    requests = [data([[1.0]]), data([[2.0]], [{"odd": 1}]), data([[3.0]])]  # type: ignore[list-item]
    answers = in_threads(lambda i: outcome_or_error(lambda: batcher.submit(requests[i])), 3)
    np.testing.assert_array_equal(answers[0], [[10.0]])  # type: ignore[arg-type]
    np.testing.assert_array_equal(answers[2], [[30.0]])  # type: ignore[arg-type]


def _submit_with_deadline(batcher: Batcher, request: Message, until: float | None) -> Any:
    """submit() on a thread serving a request due at `until` (the thread-local deadline)."""
    request_deadline.set_current(until)
    try:
        return batcher.submit(request)
    finally:
        request_deadline.set_current(None)


def test_a_request_past_its_deadline_is_abandoned_and_never_called() -> None:
    model = Model()
    batcher = Batcher(model, max_size=8, max_wait=0.01)
    model.hold = release = threading.Event()
    late, fine = data([[2.0]]), data([[3.0]])
    with ThreadPoolExecutor(3) as pool:
        busy = pool.submit(batcher.submit, data([[1.0]]))
        assert model.called.wait(WAIT)
        started = time.monotonic()
        abandoned = pool.submit(_submit_with_deadline, batcher, late, started + 0.1)
        with pytest.raises(DeadlineExceededError) as info:
            abandoned.result(WAIT)
        assert 0.09 <= time.monotonic() - started < WAIT
        assert info.value.status_code == 504 and info.value.reason == TIMEOUT
        assert "waiting for its batch" in info.value.message
        other = pool.submit(_submit_with_deadline, batcher, fine, None)
        release.set()
        np.testing.assert_array_equal(busy.result(WAIT), [[10.0]])
        np.testing.assert_array_equal(other.result(WAIT), [[30.0]])
    called = [request for call in model.calls for request in call]
    assert all(request is not late for request in called)
    assert any(request is fine for request in called)


def test_a_request_whose_deadline_passed_already_is_refused_without_a_call() -> None:
    model = Model()
    batcher = Batcher(model, max_size=8, max_wait=0.05)
    with ThreadPoolExecutor(1) as pool:
        refused = pool.submit(_submit_with_deadline, batcher, data([[1.0]]), time.monotonic() - 1)
        with pytest.raises(DeadlineExceededError):
            refused.result(WAIT)
        later = pool.submit(_submit_with_deadline, batcher, data([[2.0]]), time.monotonic() + WAIT)
        np.testing.assert_array_equal(later.result(WAIT), [[20.0]])
    assert [[float(r.value[0][0]) for r in call] for call in model.calls] == [[2.0]]


# -- Gate: admission ------------------------------------------------------------------------


def held_runs(
    gate: Gate, count: int
) -> tuple[ThreadPoolExecutor, list[Future[str]], threading.Event]:
    """`count` requests admitted and running in `gate`, each blocked until the event is set."""
    release = threading.Event()
    inside = threading.Semaphore(0)

    def request(index: int) -> str:
        def call() -> str:
            inside.release()
            assert release.wait(WAIT)
            return f"done {index}"

        gate.enter()
        try:
            return gate.run(call)
        finally:
            gate.leave()

    pool = ThreadPoolExecutor(count)
    futures = [pool.submit(request, index) for index in range(count)]
    for _ in range(count):
        assert inside.acquire(timeout=WAIT), "a held request never started"
    return pool, futures, release


def test_admission_refuses_past_the_limit_and_admits_again_after_a_leave() -> None:
    gate = Gate(GatePlan(slots=3, limit=3, threads=7, timeout=0), "rest")
    pool, futures, release = held_runs(gate, 3)
    try:
        with pytest.raises(OverloadedError) as info:
            gate.enter()
        error = info.value
        assert error.retry_after == RETRY_AFTER_SECONDS == 1
        assert error.status_code == 503 and error.reason == OVERLOADED
        assert "3 requests already admitted" in error.message
        assert grpc_code_name(error.status_code, error.grpc_code) == "RESOURCE_EXHAUSTED"
        with pytest.raises(OverloadedError):
            gate.enter()  # still full: a refusal admits nobody
    finally:
        release.set()
        assert sorted(f.result(WAIT) for f in futures) == ["done 0", "done 1", "done 2"]
        pool.shutdown()
    for _ in range(3):
        gate.enter()  # the three left: three more are admitted
    with pytest.raises(OverloadedError):
        gate.enter()
    gate.leave()
    gate.enter()


def test_admission_is_exact_under_concurrency() -> None:
    gate = Gate(GatePlan(slots=5, limit=5, threads=9, timeout=0), "grpc")

    def try_enter(index: int) -> bool:
        try:
            gate.enter()
        except OverloadedError:
            return False
        return True

    for _ in range(5):  # the same, round after round
        admitted = in_threads(try_enter, 24)
        assert sum(admitted) == 5
        for _ in range(5):
            gate.leave()


def test_without_a_limit_every_request_is_admitted() -> None:
    gate = Gate(GatePlan(slots=1, limit=0, threads=1, timeout=2.0), "rest")
    for _ in range(100):
        gate.enter()
    gate.leave()


# -- Gate: slots, deadlines, clients gone ---------------------------------------------------


def test_slots_bound_how_many_calls_run_at_once() -> None:
    gate = Gate(GatePlan(slots=2, limit=0, threads=6, timeout=0), "rest")
    active = 0
    most = 0
    lock = threading.Lock()
    pair = threading.Barrier(2)  # two must be inside together, or this times out

    def call() -> None:
        nonlocal active, most
        with lock:
            active += 1
            most = max(most, active)
        pair.wait(WAIT)
        with lock:
            active -= 1

    in_threads(lambda i: gate.run(call), 6)
    assert most == 2


def test_waiting_past_the_deadline_is_a_timeout_without_calling() -> None:
    gate = Gate(GatePlan(slots=1, limit=4, threads=8, timeout=0), "grpc")
    pool, futures, release = held_runs(gate, 1)
    called = threading.Event()
    try:
        started = time.monotonic()
        with pytest.raises(DeadlineExceededError) as info:
            gate.run(called.set, deadline=started + 0.1)
        assert 0.09 <= time.monotonic() - started < WAIT
        assert "waiting for its turn" in info.value.message
        assert grpc_code_name(info.value.status_code, info.value.grpc_code) == "DEADLINE_EXCEEDED"
        with pytest.raises(DeadlineExceededError):
            gate.run(called.set, deadline=time.monotonic() - 1)  # past already
        assert not called.is_set()
    finally:
        release.set()
        assert futures[0].result(WAIT) == "done 0"
        pool.shutdown()
    assert gate.run(lambda: "ran", deadline=time.monotonic() + WAIT) == "ran"


def test_a_client_gone_after_waiting_is_not_run_and_frees_its_slot() -> None:
    gate = Gate(GatePlan(slots=1, limit=4, threads=8, timeout=0), "rest")
    pool, futures, release = held_runs(gate, 1)
    called = threading.Event()
    asked = threading.Event()

    def gone() -> bool:
        asked.set()
        return True

    with ThreadPoolExecutor(1) as waiter:
        waiting = waiter.submit(gate.run, called.set, None, gone)
        try:
            with pytest.raises(TimeoutError):
                waiting.result(0.05)  # still waiting for the slot
            assert not asked.is_set()  # asked only once the slot is free
        finally:
            release.set()
            assert futures[0].result(WAIT) == "done 0"
            pool.shutdown()
        with pytest.raises(ClientGoneError) as info:
            waiting.result(WAIT)
    assert asked.is_set() and not called.is_set()
    assert info.value.status_code == 499
    assert grpc_code_name(info.value.status_code, info.value.grpc_code) == "CANCELLED"
    # The slot was given back: the next request runs at once, without waiting for one.
    assert gate.run(lambda: "next", deadline=time.monotonic()) == "next"


def test_a_client_is_not_asked_whether_it_left_when_its_request_did_not_wait() -> None:
    gate = Gate(GatePlan(slots=1, limit=4, threads=8, timeout=0), "rest")
    assert gate.run(lambda: "ran", gone=lambda: True) == "ran"


def test_a_call_sees_the_request_deadline_on_its_thread() -> None:
    gate = Gate(GatePlan(slots=2, limit=8, threads=12, timeout=0), "grpc")
    until = time.monotonic() + 30
    try:
        assert gate.run(request_deadline.current, deadline=until) == until
        assert gate.run(request_deadline.current) is None
    finally:
        request_deadline.set_current(None)


def test_with_a_timeout_the_caller_answers_at_the_deadline_and_the_call_keeps_its_slot() -> None:
    gate = Gate(GatePlan(slots=1, limit=4, threads=8, timeout=0.2), "rest")
    gate.enter()  # starts the timed-call pool, as every request does first
    started_call = threading.Event()
    release = threading.Event()
    finished = threading.Event()
    seen: list[Any] = []

    def slow() -> str:
        started_call.set()
        seen.append((threading.current_thread().name, request_deadline.current()))
        release.wait(WAIT)
        finished.set()
        return "late"

    try:
        until = gate.deadline()
        assert until is not None
        with pytest.raises(DeadlineExceededError) as info:
            gate.run(slow, until)
        answered = time.monotonic()
        assert until - 0.01 <= answered < until + 1.0
        assert "0.2s (--request-timeout)" in info.value.message
        assert started_call.is_set() and not finished.is_set()  # still running
        ((thread_name, call_deadline),) = seen
        assert thread_name.startswith("timed-call") and call_deadline == until
        # Its slot is held until it returns: the next request waits and times out.
        other = threading.Event()
        with pytest.raises(DeadlineExceededError) as waited:
            gate.run(other.set, time.monotonic() + 0.05)
        assert "waiting for its turn" in waited.value.message and not other.is_set()
    finally:
        release.set()
    assert finished.wait(WAIT)
    wait_until(
        lambda: (
            outcome_or_error(lambda: gate.run(lambda: "free", time.monotonic() + 0.05)) == "free"
        ),
        "the slot to be released",
        WAIT,
    )
    assert gate.run(lambda: 42, gate.deadline()) == 42  # a timely call returns its result
    gate.leave()


def test_a_timed_call_that_raises_raises_to_the_caller_and_frees_its_slot() -> None:
    gate = Gate(GatePlan(slots=1, limit=0, threads=1, timeout=5.0), "rest")
    gate.enter()

    def broken() -> None:
        raise BadDataError("bad")

    with pytest.raises(BadDataError):
        gate.run(broken, gate.deadline())
    assert gate.run(lambda: "free", time.monotonic() + 1.0) == "free"


# -- Gate.deadline ----------------------------------------------------------------------------


def _deadline(timeout: float, client: float | None) -> tuple[float, float | None, float]:
    gate = Gate(GatePlan(slots=1, limit=0, threads=1, timeout=timeout), "grpc")
    before = time.monotonic()
    until = gate.deadline(client)
    return before, until, time.monotonic()


@pytest.mark.parametrize(
    ("timeout", "client", "offset"),
    [
        (2.0, None, 2.0),  # the request timeout's
        (2.0, 0.5, 0.5),  # the client's, sooner
        (2.0, 10.0, 2.0),  # the timeout's, sooner
        (2.0, 0.0, 0.0),
        (0.0, 3.0, 3.0),  # no timeout: the client's
        (2.0, NO_DEADLINE + 1, 2.0),  # a huge client deadline is none
        (2.0, 1e12, 2.0),
        (2.0, NO_DEADLINE, 2.0),
    ],
)
def test_deadline_is_the_sooner_of_the_timeout_and_the_client(
    timeout: float, client: float | None, offset: float
) -> None:
    before, until, after = _deadline(timeout, client)
    assert until is not None and before + offset <= until <= after + offset


@pytest.mark.parametrize("client", [None, NO_DEADLINE + 1, 1e12, float("inf")])
def test_no_timeout_and_no_real_client_deadline_is_no_deadline(client: float | None) -> None:
    assert _deadline(0.0, client)[1] is None


# -- plans -----------------------------------------------------------------------------------


def settings(*argv: str) -> Settings:
    return resolve(["Model", *argv], {}, lambda _path: {})


@pytest.mark.parametrize(
    ("argv", "batching", "expected"),
    [
        # one thread: nothing to admit (the backlog waits), only deadlines
        ([], False, GatePlan(1, 0, 1, 0.0)),
        (["--request-timeout", "1.5"], False, GatePlan(1, 0, 1, 1.5)),
        (["--threads", "8", "--single-threaded", "true"], False, GatePlan(1, 0, 1, 0.0)),
        (["--threads", "2"], False, GatePlan(2, 32, 36, 0.0)),  # at least 32 admitted
        (["--threads", "16"], False, GatePlan(16, 64, 68, 0.0)),  # 4 per request run at once
        (["--threads", "8", "--max-admitted", "2"], False, GatePlan(2, 2, 6, 0.0)),
        (["--threads", "8", "--max-admitted", "20"], False, GatePlan(8, 20, 24, 0.0)),
        (["--max-admitted", "3"], False, GatePlan(1, 0, 1, 0.0)),  # one thread: nothing to admit
        # batching: enough at once to fill a batch, even with one thread
        (["--max-batch-size", "16"], True, GatePlan(16, 64, 68, 0.0)),
        (["--threads", "32", "--max-batch-size", "16"], True, GatePlan(32, 128, 132, 0.0)),
        (["--max-batch-size", "16", "--max-admitted", "10"], True, GatePlan(10, 10, 14, 0.0)),
        # asked for but not made (no predict, or a raw one): as without batching
        (["--max-batch-size", "16"], False, GatePlan(1, 0, 1, 0.0)),
        (
            ["--threads", "4", "--max-batch-size", "8", "--request-timeout", "0.25"],
            True,
            GatePlan(8, 32, 36, 0.25),
        ),
    ],
)
def test_rest_plan(argv: list[str], batching: bool, expected: GatePlan) -> None:
    assert (ADMITTED_PER_SLOT, ADMITTED_AT_LEAST, REJECT_THREADS) == (4, 32, 4)  # figures below
    assert rest_plan(settings(*argv), batching) == expected


@pytest.mark.parametrize(
    ("argv", "batching", "expected"),
    [
        ([], False, GatePlan(1, 32, 36, 0.0)),  # one gRPC thread still admits a queue
        (["--grpc-threads", "10"], False, GatePlan(10, 40, 44, 0.0)),
        (["--grpc-threads", "10", "--max-admitted", "4"], False, GatePlan(4, 4, 8, 0.0)),
        (["--grpc-threads", "3", "--max-batch-size", "2"], True, GatePlan(3, 32, 36, 0.0)),
        (["--grpc-threads", "3", "--max-batch-size", "64"], True, GatePlan(64, 256, 260, 0.0)),
        (["--threads", "16"], False, GatePlan(1, 32, 36, 0.0)),  # REST threads are not gRPC's
        (["--request-timeout", "2"], False, GatePlan(1, 32, 36, 2.0)),
    ],
)
def test_grpc_plan(argv: list[str], batching: bool, expected: GatePlan) -> None:
    assert grpc_plan(settings(*argv), batching) == expected


def test_a_gate_is_made_only_when_there_is_something_to_control() -> None:
    assert make_gate(GatePlan(1, 0, 1, 0.0), "rest") is None
    limited = make_gate(GatePlan(2, 8, 12, 0.0), "grpc")
    assert limited is not None and limited.transport == "grpc" and limited.plan.limit == 8
    timed = make_gate(GatePlan(1, 0, 1, 3.0), "rest")
    assert timed is not None and timed.plan.timeout == 3.0


# -- error mapping ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (OverloadedError(5, 1), 503, "RESOURCE_EXHAUSTED"),
        (DeadlineExceededError("late"), 504, "DEADLINE_EXCEEDED"),
        (ClientGoneError(), 499, "CANCELLED"),
        (InternalError("x"), 500, "INTERNAL"),
        (BadDataError("x"), 400, "INVALID_ARGUMENT"),
    ],
)
def test_load_errors_map_to_their_statuses(error: SeldonError, status: int, code: str) -> None:
    assert error.status_code == status
    assert grpc_code_name(error.status_code, error.grpc_code) == code
    body = error.to_dict()["status"]
    assert body["code"] == -1 and body["status"] == 1 and body["info"] == error.message


def test_grpc_code_name_without_an_override() -> None:
    assert grpc_code_name(503) == "UNAVAILABLE"
    assert grpc_code_name(499) == "FAILED_PRECONDITION"
    assert grpc_code_name(418) == "FAILED_PRECONDITION"
    assert grpc_code_name(502) == "INTERNAL"
    assert grpc_code_name(503, "RESOURCE_EXHAUSTED") == "RESOURCE_EXHAUSTED"
