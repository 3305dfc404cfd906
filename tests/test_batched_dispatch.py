"""The dispatcher with adaptive batching: concurrent predicts share calls, each its own reply."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import models
import numpy as np
import pytest

from seldon_server import SeldonMicroserviceException, SeldonResponse, create_counter, create_gauge
from seldon_server.codecs import json as json_codec
from seldon_server.codecs.message import Message, Raw
from seldon_server.dispatch import Dispatcher, Outcome
from seldon_server.errors import BadDataError, InternalError, SeldonError
from seldon_server.serving.services import make_batcher
from seldon_server.settings import resolve

WAIT = 10.0
REST = json_codec.REST_CODEC


def batching(dispatcher: Dispatcher, max_size: int, max_ms: float = 5000) -> Dispatcher:
    """The dispatcher with the batcher the serving layer makes for these settings."""
    argv = ["Model", "--max-batch-size", str(max_size), "--max-batch-time", str(max_ms)]
    dispatcher.batcher = make_batcher(dispatcher, resolve(argv, {}, lambda _path: {}))
    assert dispatcher.batcher is not None
    return dispatcher


def in_threads(func: Callable[[int], Any], count: int) -> list[Any]:
    """func(0..count-1) on threads started together; each result, or the exception it raised."""
    start = threading.Barrier(count)

    def run(index: int) -> Any:
        start.wait(WAIT)
        try:
            return func(index)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count), timeout=WAIT))


def reply_json(result: Any) -> dict[str, Any]:
    assert isinstance(result, Message), result
    return json.loads(json_codec.render(result))


def rendered(result: Any) -> bytes | str:
    """A reply's bytes, or an error's class, status and message, to compare answers."""
    if isinstance(result, SeldonError):
        return f"{type(result).__name__} {result.status_code} {result.message}"
    if isinstance(result, Raw):
        return json_codec.render_reply(result)
    return json_codec.render(result)


class RowModel(models.Calls):
    """Doubles its rows; each answer is tagged with its call's row count and carries one runtime
    metric a call; static metrics() and tags() too."""

    def predict(self, X: Any, names: list[str], meta: dict[str, Any] | None = None) -> Any:
        self._record("predict", X.copy(), list(names), meta, threading.current_thread().name)
        if not isinstance(X, np.ndarray) or X.dtype.kind not in "biuf":
            return X
        tags = {"call_rows": int(X.shape[0])}
        return SeldonResponse(X * 2, tags=tags, metrics=[create_counter("calls", 1)])

    def metrics(self) -> list[dict[str, Any]]:
        return [create_gauge("static_gauge", 7)]

    def tags(self) -> dict[str, Any]:
        return {"model": "rows"}


class Doubler(models.Calls):
    """Doubles numeric rows, echoes anything else; nothing depends on the call's other rows."""

    def predict(self, X: Any, names: list[str]) -> Any:
        self._record("predict", X.copy() if isinstance(X, np.ndarray) else X, list(names))
        if isinstance(X, np.ndarray) and X.dtype.kind in "biuf":
            return X * 2
        return X


class Raises(models.Calls):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def predict(self, X: Any, names: list[str]) -> Any:
        self._record("predict", X)
        raise self.error


class OneRowShort(models.Calls):
    def predict(self, X: Any, names: list[str]) -> Any:
        self._record("predict", X)
        return X[1:]


class ListRows:
    """Returns a list with one entry per row, built by `row` from each input row."""

    def __init__(self, row: Callable[[np.ndarray], Any]) -> None:
        self.row = row

    def predict(self, X: Any, names: list[str]) -> Any:
        return [self.row(r) for r in X]


def client_body(i: int) -> dict[str, Any]:
    """Client i's rows (1 to 3 of them, unlike anyone else's); even clients send tensors."""
    values = [[float(i), float(r)] for r in range(1 + i % 3)]
    if i % 2:
        data: dict[str, Any] = {"ndarray": values}
    else:
        flat = [v for row in values for v in row]
        data = {"tensor": {"shape": [len(values), 2], "values": flat}}
    return {"data": data, "meta": {"puid": f"p{i}", "tags": {"client": i}}}


# -- concurrent predicts through the batcher --------------------------------------------------


def test_concurrent_predicts_share_one_call_and_get_their_own_rows_meta_and_encoding(
    dispatcher: Callable[..., Dispatcher],
) -> None:
    model, sink = RowModel(), models.RecordingMetrics()
    d = batching(dispatcher(model, metrics=sink), max_size=8)
    replies = in_threads(lambda i: reply_json(d.predict(client_body(i), REST)), 8)
    total = sum(1 + i % 3 for i in range(8))
    assert model.count("predict") == 1  # all eight in one call
    ((X, names, meta, thread),) = model.calls["predict"]
    assert X.shape == (total, 2) and names == [] and meta == {} and thread == "batcher"
    for i, reply in enumerate(replies):
        expected = [[2.0 * i, 2.0 * r] for r in range(1 + i % 3)]
        if i % 2:
            assert reply["data"] == {"names": ["t:0", "t:1"], "ndarray": expected}
        else:
            flat = [v for row in expected for v in row]
            assert reply["data"] == {
                "names": ["t:0", "t:1"],
                "tensor": {"shape": [len(expected), 2], "values": flat},
            }
        assert reply["meta"]["puid"] == f"p{i}"
        # its own tags, the model's, and the call's runtime tags: in every request's answer
        assert reply["meta"]["tags"] == {"client": i, "model": "rows", "call_rows": total}
        keys = sorted(metric["key"] for metric in reply["meta"]["metrics"])
        assert keys == ["calls", "static_gauge"]
    # custom metrics are recorded once per call, not once per request
    assert sorted(metric["key"] for _, metrics in sink.records for metric in metrics) == [
        "calls",
        "static_gauge",
    ]
    assert {method for method, _ in sink.records} == {"predict"}


def test_without_batching_the_same_requests_make_a_call_each(
    dispatcher: Callable[..., Dispatcher],
) -> None:
    model, sink = RowModel(), models.RecordingMetrics()
    d = dispatcher(model, metrics=sink)
    make_batcher(d, resolve(["Model"], {}, lambda _path: {}))  # off by default
    replies = in_threads(lambda i: reply_json(d.predict(client_body(i), REST)), 8)
    assert model.count("predict") == 8 and len(sink.records) == 16
    assert [reply["meta"]["tags"]["call_rows"] for reply in replies] == [
        1 + i % 3 for i in range(8)
    ]


def test_a_lone_request_is_called_with_its_own_meta_and_answered_as_without_batching(
    dispatcher: Callable[..., Dispatcher],
) -> None:
    body = {"data": {"ndarray": [[1.0, 2.0]], "names": ["a", "b"]}, "meta": {"puid": "x"}}
    alone_model, plain_model = RowModel(), RowModel()
    batched = batching(dispatcher(alone_model), max_size=8, max_ms=1)
    plain = dispatcher(plain_model)
    assert rendered(batched.predict(body, REST)) == rendered(plain.predict(body, REST))
    ((X, names, meta, thread),) = alone_model.calls["predict"]
    assert names == ["a", "b"] and meta == {"puid": "x"} and thread == "batcher"
    assert plain_model.calls["predict"][0][2] == {"puid": "x"}


def test_a_batch_call_gets_the_shared_names_and_an_empty_meta(
    dispatcher: Callable[..., Dispatcher],
) -> None:
    model = models.IdentityWithMeta()
    d = batching(dispatcher(model), max_size=3)

    def predict(i: int) -> Any:
        body = {"data": {"names": ["a"], "ndarray": [[float(i)]]}, "meta": {"puid": f"p{i}"}}
        return reply_json(d.predict(body, REST))

    replies = in_threads(predict, 3)
    ((X, names, meta),) = model.calls["predict"]
    assert sorted(X[:, 0].tolist()) == [0.0, 1.0, 2.0]
    assert names == ["a"] and meta == {}
    for i, reply in enumerate(replies):
        assert reply["data"]["ndarray"] == [[float(i)]] and reply["meta"]["puid"] == f"p{i}"


def test_incompatible_requests_are_called_apart(dispatcher: Callable[..., Dispatcher]) -> None:
    model = Doubler()
    d = batching(dispatcher(model), max_size=6)
    bodies = [
        {"data": {"ndarray": [[1.0, 2.0]]}},
        {"data": {"ndarray": [[1, 2]]}},  # ints
        {"data": {"ndarray": [[3.0, 4.0, 5.0]]}},  # three columns
        {"data": {"names": ["a", "b"], "ndarray": [[6.0, 7.0]]}},
        {"strData": "text"},
        {"data": {"tensor": {"shape": [1, 2], "values": [8.0, 9.0]}}},  # joins the first
    ]
    replies = in_threads(lambda i: reply_json(d.predict(bodies[i], REST)), len(bodies))
    assert sorted(
        len(call[0]) if isinstance(call[0], np.ndarray) else 0 for call in model.calls["predict"]
    ) == [0, 1, 1, 1, 2]
    assert replies[0]["data"]["ndarray"] == [[2.0, 4.0]]
    assert replies[1]["data"]["ndarray"] == [[2, 4]]  # ints stay ints
    assert replies[2]["data"]["ndarray"] == [[6.0, 8.0, 10.0]]
    assert replies[3]["data"] == {"names": ["t:0", "t:1"], "ndarray": [[12.0, 14.0]]}
    assert replies[4] == {"strData": "text", "meta": {}}
    assert replies[5]["data"]["tensor"] == {"shape": [1, 2], "values": [16.0, 18.0]}


def test_a_raising_model_fails_every_request_of_its_call_alike(
    dispatcher: Callable[..., Dispatcher],
) -> None:
    model = Raises(ValueError("the model broke"))
    d = batching(dispatcher(model), max_size=4)
    errors = in_threads(lambda i: d.predict({"data": {"ndarray": [[float(i)]]}}, REST), 4)
    assert model.count("predict") == 1
    for error in errors:
        assert isinstance(error, InternalError) and error.status_code == 500
        assert error.message == "the model broke"
        assert isinstance(error.__cause__, ValueError)


def test_a_seldon_exception_keeps_its_status_for_every_request(
    dispatcher: Callable[..., Dispatcher],
) -> None:
    model = Raises(SeldonMicroserviceException("nope", status_code=422, reason="MY_REASON"))
    d = batching(dispatcher(model), max_size=3)
    errors = in_threads(lambda i: d.predict({"data": {"ndarray": [[float(i)]]}}, REST), 3)
    assert model.count("predict") == 1
    for error in errors:
        assert isinstance(error, SeldonMicroserviceException)
        assert (error.status_code, error.reason, error.message) == (422, "MY_REASON", "nope")


def test_a_result_without_a_row_per_input_row_fails_its_call(
    dispatcher: Callable[..., Dispatcher],
) -> None:
    model = OneRowShort()
    d = batching(dispatcher(model), max_size=2)
    errors = in_threads(lambda i: d.predict({"data": {"ndarray": [[1.0], [2.0]]}}, REST), 2)
    for error in errors:
        assert isinstance(error, InternalError)
        assert "returned 3 rows for the 4 rows of 2 requests" in error.message
    # alone, the same model is answered as it is: there is nothing to split
    single = batching(dispatcher(OneRowShort()), max_size=2, max_ms=1)
    reply = reply_json(single.predict({"data": {"ndarray": [[1.0], [2.0]]}}, REST))
    assert reply["data"]["ndarray"] == [[2.0]]


def test_only_predict_is_batched(dispatcher: Callable[..., Dispatcher]) -> None:
    class Threads:
        def __init__(self) -> None:
            self.seen: list[str] = []

        def predict(self, X: Any, names: list[str]) -> Any:
            self.seen.append(threading.current_thread().name)
            return X

        def transform_input(self, X: Any, names: list[str]) -> Any:
            self.seen.append(threading.current_thread().name)
            return X

        def transform_output(self, X: Any, names: list[str]) -> Any:
            self.seen.append(threading.current_thread().name)
            return X

    model = Threads()
    d = batching(dispatcher(model), max_size=8, max_ms=1)
    body = {"data": {"ndarray": [[1.0]]}}
    here = threading.current_thread().name
    d.transform_input(body, REST)
    d.transform_output(body, REST)
    d.predict(body, REST)
    assert model.seen == [here, here, "batcher"]


# -- make_batcher ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", ["0", "1"])
def test_no_batcher_when_batching_is_off(dispatcher: Callable[..., Dispatcher], size: str) -> None:
    settings = resolve(["Model", "--max-batch-size", size], {}, lambda _path: {})
    assert make_batcher(dispatcher(models.Identity()), settings) is None


def test_the_batcher_follows_the_settings(dispatcher: Callable[..., Dispatcher]) -> None:
    d = dispatcher(models.Identity())
    argv = ["Model", "--max-batch-size", "12", "--max-batch-time", "25"]
    batcher = make_batcher(d, resolve(argv, {}, lambda _path: {}))
    assert batcher is not None
    assert batcher.max_size == 12 and batcher.max_wait == pytest.approx(0.025)
    assert batcher.call_rows == d.predict_rows
    env = {"SELDON_MAX_BATCH_SIZE": "4", "SELDON_MAX_BATCH_TIME": "0"}
    from_env = make_batcher(d, resolve(["Model"], env, lambda _path: {}))
    assert from_env is not None and from_env.max_size == 4 and from_env.max_wait == 0


class PredictAndRest:
    """predict with the deprecated predict_rest beside it."""

    def predict(self, X: Any, names: list[str]) -> Any:
        return X

    def predict_rest(self, request: Any) -> Any:
        return request


@pytest.mark.parametrize(
    "model", [models.ComponentRaisesNotImplemented(), PredictAndRest()], ids=["raw", "rest"]
)
def test_no_batcher_for_a_model_with_a_raw_predict_hook(
    dispatcher: Callable[..., Dispatcher], model: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings = resolve(["Model", "--max-batch-size", "8"], {}, lambda _path: {})
    with caplog.at_level(logging.WARNING, "seldon_server.serving.services"):
        assert make_batcher(dispatcher(model), settings) is None
    assert "--max-batch-size ignored: the model has no predict, or a raw one" in caplog.text


@pytest.mark.parametrize("model", [models.NoPredict(), models.EmptyComponent()])
def test_no_batcher_for_a_model_without_predict(
    dispatcher: Callable[..., Dispatcher], model: Any
) -> None:
    settings = resolve(["Model", "--max-batch-size", "8"], {}, lambda _path: {})
    assert make_batcher(dispatcher(model), settings) is None


# -- predict_rows and predict_many ------------------------------------------------------------


def test_predict_rows_answers_one_outcome_per_request(
    dispatcher: Callable[..., Dispatcher],
) -> None:
    model = RowModel()
    d = dispatcher(model)
    requests = [REST.decode({"data": {"ndarray": [[float(i)] * 2] * (i + 1)}}) for i in range(3)]
    outcomes = d.predict_rows(requests)
    assert model.count("predict") == 1
    for i, outcome in enumerate(outcomes):
        assert isinstance(outcome, Outcome)
        np.testing.assert_array_equal(outcome.data, np.full((i + 1, 2), 2.0 * i))
        assert outcome.tags == {"call_rows": 6}
        assert [m["key"] for m in outcome.metrics] == ["static_gauge", "calls"]


MIXED: list[Any] = [
    {"data": {"ndarray": [[1.0, 2.0]]}},  # 0: floats, joined with 2 (then 7 in a second call)
    "not a message",  # 1: undecodable
    {"data": {"ndarray": [[3.0, 4.0], [5.0, 6.0]]}, "meta": {"puid": "two", "tags": {"t": 1}}},
    {"data": {"ndarray": [[1, 2]]}},  # 3: ints, alone
    {"strData": "hello"},  # 4: no rows, alone
    {"data": {"names": ["a", "b"], "ndarray": [[7.0, 8.0]]}},  # 5: names, alone
    {"data": {"tensor": "broken"}},  # 6: undecodable
    {"data": {"tensor": {"shape": [1, 2], "values": [9.0, 10.0]}}},  # 7: floats again
    {"meta": {"puid": "x"}},  # 8: no payload at all
]


def test_predict_many_mixes_good_undecodable_and_incompatible_requests(
    dispatcher: Callable[..., Dispatcher],
) -> None:
    model = Doubler()
    d = dispatcher(model)
    answers = d.predict_many(MIXED, REST, 2)
    assert len(answers) == len(MIXED)
    for index in (1, 6, 8):
        assert isinstance(answers[index], BadDataError), index
    assert "Invalid request data type" in answers[1].message  # type: ignore[union-attr]
    calls = [call[0] for call in model.calls["predict"]]
    assert [c.tolist() if isinstance(c, np.ndarray) else c for c in calls] == [
        [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]],
        [[1, 2]],
        "hello",
        [[7.0, 8.0]],
        [[9.0, 10.0]],
    ]
    # every answer is what predicting the request alone answers
    plain = dispatcher(Doubler())
    for native, answer in zip(MIXED, answers, strict=True):
        try:
            alone: Any = plain.predict(native, REST)
        except SeldonError as exc:
            alone = exc
        assert rendered(answer) == rendered(alone)
    two = reply_json(answers[2])
    assert two["meta"] == {"puid": "two", "tags": {"t": 1}}
    assert two["data"]["ndarray"] == [[6.0, 8.0], [10.0, 12.0]]


def test_predict_many_calls_hold_at_most_max_size_requests(
    dispatcher: Callable[..., Dispatcher],
) -> None:
    model = Doubler()
    d = dispatcher(model)
    natives = [{"data": {"ndarray": [[float(i)]]}} for i in range(10)]
    answers = d.predict_many(natives, REST, 3)
    assert [len(call[0]) for call in model.calls["predict"]] == [3, 3, 3, 1]
    assert [reply_json(a)["data"]["ndarray"] for a in answers] == [[[2.0 * i]] for i in range(10)]


def test_predict_many_fails_only_the_call_that_raised(
    dispatcher: Callable[..., Dispatcher],
) -> None:
    class FailsOnFloats:
        def predict(self, X: Any, names: list[str]) -> Any:
            if X.dtype.kind == "f":
                raise ValueError("no floats")
            return X

    d = dispatcher(FailsOnFloats())
    natives = [{"data": {"ndarray": [[1.0]]}}, {"data": {"ndarray": [[2]]}}] * 2
    answers = d.predict_many(natives, REST, 8)
    assert [type(a).__name__ for a in answers] == ["InternalError", "Message"] * 2
    assert answers[0] is answers[2]  # one call, one error
    assert reply_json(answers[3])["data"]["ndarray"] == [[2]]


@pytest.mark.parametrize("model", [models.NoPredict(), models.EmptyComponent()])
def test_predict_many_without_predict_answers_as_predict_does(
    dispatcher: Callable[..., Dispatcher], model: Any
) -> None:
    d = dispatcher(model)
    natives = [{"data": {"ndarray": [[float(i), 1.0]]}} for i in range(3)]
    answers = d.predict_many(natives, REST, 8)
    for native, answer in zip(natives, answers, strict=True):
        assert rendered(answer) == rendered(d.predict(native, REST))
        assert reply_json(answer)["data"]["ndarray"] == []


def test_predict_many_with_a_raw_hook_calls_it_once_per_request(
    dispatcher: Callable[..., Dispatcher],
) -> None:
    model = models.RawPredict()
    d = dispatcher(model)
    natives = [{"data": {"ndarray": [[float(i)]]}} for i in range(3)]
    answers = d.predict_many(natives, REST, 8)
    assert model.count("predict_raw") == 3
    assert all(isinstance(answer, Raw) for answer in answers)
    assert [answer.value["data"] for answer in answers] == [n["data"] for n in natives]  # type: ignore[union-attr]


def test_predict_many_before_load_is_not_ready(dispatcher: Callable[..., Dispatcher]) -> None:
    d = dispatcher(models.Identity(), load=False)
    with pytest.raises(SeldonError) as info:
        d.predict_many([{"data": {"ndarray": [[1.0]]}}], REST, 8)
    assert info.value.status_code == 503


# -- list results: a batched answer should be the one the request gets alone -------------------


@pytest.mark.parametrize(
    "row",
    [
        pytest.param(lambda r: [int(r[0]), int(r[1])], id="ints"),
        pytest.param(lambda r: float(r[0]), id="one-float-per-row"),
        pytest.param(lambda r: f"label-{r[0]:g}", id="strings"),
        pytest.param(lambda r: {"p": float(r[0])}, id="dicts"),
        pytest.param(
            lambda r: ["cat", float(r[0])],
            id="label-and-score",
        ),
        pytest.param(
            lambda r: [int(r[0]), 0.5],
            id="int-and-float",
        ),
        pytest.param(
            lambda r: [bool(r[0]), 1],
            id="bool-and-int",
        ),
        pytest.param(
            lambda r: list(range(int(r[0]) + 1)),
            id="ragged",
        ),
    ],
)
def test_a_list_result_is_answered_as_the_request_alone_gets_it(
    dispatcher: Callable[..., Dispatcher], row: Callable[[np.ndarray], Any]
) -> None:
    d = dispatcher(ListRows(row))
    natives = [{"data": {"ndarray": [[float(i), 2.0]]}} for i in range(3)]
    answers = d.predict_many(natives, REST, 8)
    for native, answer in zip(natives, answers, strict=True):
        assert rendered(answer) == rendered(d.predict(native, REST))


# -- data.names that a JSON client may send ---------------------------------------------------


@pytest.mark.parametrize("names", [None, 5, [{"x": 1}]], ids=["null", "number", "object"])
def test_odd_names_are_answered_as_without_batching(
    dispatcher: Callable[..., Dispatcher], names: Any
) -> None:
    body = {"data": {"names": names, "ndarray": [[1.0, 2.0]]}}
    expected = rendered(dispatcher(models.Identity()).predict(body, REST))
    d = batching(dispatcher(models.Identity()), max_size=4, max_ms=1)
    assert rendered(d.predict(body, REST)) == expected
    good = {"data": {"ndarray": [[3.0, 4.0]]}}
    answers = d.predict_many([good, body, good], REST, 8)
    assert rendered(answers[1]) == expected
