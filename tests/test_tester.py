"""seldon-microservice-tester: contract rules, and calls to real REST and gRPC servers."""

from __future__ import annotations

import importlib.util
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from werkzeug.serving import make_server

from seldon_server.dispatch import Dispatcher
from seldon_server.grpc.server import GrpcOptions, build_server
from seldon_server.model.adapter import UserModel
from seldon_server.rest.app import create_app
from seldon_server.tester import EXIT_FAILED_CALLS, EXIT_OK, EXIT_USAGE, build_message, main
from seldon_server.tester_contract import ContractError, load_contract, parse_contract

IRIS = Path(__file__).resolve().parent.parent / "examples" / "models" / "iris"


def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def continuous(name: str, dtype: str = "FLOAT", **extra: Any) -> dict[str, Any]:
    return {"name": name, "ftype": "continuous", "dtype": dtype, **extra}


def one_column(feature: dict[str, Any], rows: int = 5000) -> np.ndarray:
    return parse_contract({"features": [feature]}).batch(rows, rng())[:, 0]


# -- contract rules --------------------------------------------------------------------------


def test_finite_range_is_uniform_and_rounded_to_three_decimals() -> None:
    values = one_column(continuous("x", range=[-2, 3]))
    assert values.dtype == np.float64
    assert values.min() >= -2 and values.max() <= 3
    assert values.min() < -1.9 and values.max() > 2.9
    np.testing.assert_allclose(values * 1000, np.round(values * 1000), atol=1e-6)


def test_one_infinite_end_offsets_from_the_finite_one() -> None:
    above = one_column(continuous("x", range=[10, "inf"]))
    below = one_column(continuous("x", range=["inf", -10]))
    assert above.min() >= 10 and above.max() > 13
    assert below.max() <= -10 and below.min() < -13
    # lognormal offsets: the median offset is e**0 = 1
    assert abs(np.median(above - 10) - 1) < 0.1


@pytest.mark.parametrize("feature_range", [["inf", "inf"], None])
def test_no_finite_end_is_standard_normal(feature_range: list[str] | None) -> None:
    extra: dict[str, Any] = {} if feature_range is None else {"range": feature_range}
    values = one_column(continuous("x", **extra), rows=20000)
    assert abs(values.mean()) < 0.05
    assert abs(values.std() - 1) < 0.05
    assert values.min() < 0 < values.max()


def test_int_features_are_whole_numbers_sent_as_floats() -> None:
    values = one_column(continuous("n", "INT", range=[0, 4]))
    assert values.dtype == np.float64
    assert set(values.tolist()) == {0.0, 1.0, 2.0, 3.0, 4.0}


def test_categorical_features_choose_among_their_values() -> None:
    values = one_column({"name": "c", "ftype": "categorical", "values": ["a", "b", 3]}, rows=300)
    assert set(values.tolist()) == {"a", "b", 3}


def test_mixed_features_make_an_object_array() -> None:
    contract = parse_contract(
        {
            "features": [
                continuous("x", range=[0, 1]),
                {"name": "c", "ftype": "categorical", "values": ["red", "blue"]},
            ]
        }
    )
    batch = contract.batch(4, rng())
    assert batch.dtype == object
    assert batch.shape == (4, 2)
    assert all(isinstance(x, float) and row in ("red", "blue") for x, row in batch.tolist())


def test_repeat_unfolds_feature_and_target_names() -> None:
    contract = parse_contract(
        {
            "features": [continuous("f", range=[0, 1], repeat=3), continuous("g", range=[0, 1])],
            "targets": [{"name": "proba", "ftype": "continuous", "dtype": "FLOAT", "repeat": 2}],
        }
    )
    assert contract.feature_names == ["f1", "f2", "f3", "g"]
    assert contract.targets == ("proba:0", "proba:1")
    assert contract.batch(2, rng()).shape == (2, 4)


def test_shape_gives_a_feature_several_columns() -> None:
    contract = parse_contract({"features": [continuous("v", range=[0, 1], shape=[3])]})
    assert contract.batch(2, rng()).shape == (2, 3)
    image = parse_contract({"features": [continuous("img", range=[0, 1], shape=[2, 2])]})
    assert image.batch(1, rng()).shape == (1, 2, 2)
    clash = parse_contract(
        {"features": [continuous("img", shape=[2, 2]), continuous("x", shape=[1])]}
    )
    with pytest.raises(ContractError, match="cannot be joined"):
        clash.batch(1, rng())


@pytest.mark.parametrize(
    ("feature", "message"),
    [
        ({"name": "x", "ftype": "ordinal"}, "unknown ftype 'ordinal'"),
        ({"name": "x", "ftype": "continuous", "dtype": "DOUBLE"}, "unknown dtype 'DOUBLE'"),
        ({"name": "x", "ftype": "continuous"}, "unknown dtype None"),
        (continuous("x", range=[3, 1]), "minimum 3.0 is above its maximum 1.0"),
        (continuous("x", range=[0, "lots"]), 'range ends are numbers or "inf"'),
        (continuous("x", range=[0]), "range must be [min, max]"),
        (continuous("x", shape=[0]), "shape must be a list of positive integers"),
        (continuous("x", repeat=0), "repeat must be a positive integer"),
        ({"name": "c", "ftype": "categorical", "values": []}, "non-empty 'values'"),
        ({"ftype": "categorical", "values": [1]}, "needs a 'name'"),
    ],
)
def test_bad_features_are_named_in_the_error(feature: dict[str, Any], message: str) -> None:
    with pytest.raises(ContractError) as caught:
        parse_contract({"features": [feature]})
    assert message in str(caught.value)


def test_unreadable_contracts(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="cannot read contract"):
        load_contract(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(ContractError, match="not valid JSON"):
        load_contract(broken)
    with pytest.raises(ContractError, match="list of objects"):
        parse_contract({"features": "x"})


def test_messages_carry_names_and_ndarray_or_tensor() -> None:
    batch = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert build_message(batch, ["a", "b"], tensor=False) == {
        "data": {"names": ["a", "b"], "ndarray": [[1.0, 2.0], [3.0, 4.0]]}
    }
    assert build_message(batch, ["a", "b"], tensor=True)["data"]["tensor"] == {
        "shape": [2, 2],
        "values": [1.0, 2.0, 3.0, 4.0],
    }
    with pytest.raises(ContractError, match="--tensor needs numeric features"):
        build_message(np.array([["x"]], dtype=object), ["c"], tensor=True)


# -- the command line ------------------------------------------------------------------------

CONTRACT = {
    "features": [
        continuous("sepal", range=[4, 8]),
        continuous("count", "INT", range=[0, "inf"], repeat=2),
    ],
    "targets": [{"name": "class", "ftype": "continuous", "dtype": "FLOAT", "repeat": 3}],
}
NAMES = ["sepal", "count1", "count2"]


@pytest.fixture
def contract_file(tmp_path: Path) -> str:
    path = tmp_path / "contract.json"
    path.write_text(json.dumps(CONTRACT))
    return str(path)


def test_unknown_ftype_exits_2_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "contract.json"
    path.write_text(json.dumps({"features": [{"name": "x", "ftype": "weird"}]}))
    assert main([str(path), "127.0.0.1", "1"]) == EXIT_USAGE
    assert "error: feature 'x' has unknown ftype 'weird'" in capsys.readouterr().err


def test_bad_arguments_exit_2(contract_file: str) -> None:
    for argv in (["-b", "0"], ["--endpoint", "route"], ["--log-level", "WARNING"]):
        with pytest.raises(SystemExit) as caught:
            main([contract_file, "127.0.0.1", "9000", *argv])
        assert caught.value.code == EXIT_USAGE


def test_unreachable_server_fails_every_request(
    contract_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: connections are refused
        assert main([contract_file, "127.0.0.1", str(port), "-n", "2"]) == EXIT_FAILED_CALLS
    assert "0 ok, 2 failed" in capsys.readouterr().err


# -- against real servers --------------------------------------------------------------------


class RecordingModel:
    """Records what the tester sent; fails when told to."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, list[str]]] = []
        self.rewards: list[float] = []
        self.fail = False

    def predict(self, X: Any, features_names: list[str]) -> Any:
        if self.fail:
            raise RuntimeError("model failure")
        self.calls.append(("predict", np.asarray(X), features_names))
        return np.asarray(X)[:, :1]

    def transform_input(self, X: Any, features_names: list[str]) -> Any:
        self.calls.append(("transform_input", np.asarray(X), features_names))
        return X

    def send_feedback(
        self, features: Any, feature_names: list[str], reward: float, truth: Any
    ) -> None:
        self.calls.append(("send_feedback", np.asarray(features), feature_names))
        self.rewards.append(reward)


@pytest.fixture
def model() -> Iterator[tuple[RecordingModel, Dispatcher]]:
    recording = RecordingModel()
    user_model = UserModel(recording)
    user_model.load()
    yield recording, Dispatcher(user_model)


@contextmanager
def serve_rest(dispatcher: Dispatcher) -> Iterator[int]:
    """A real threaded HTTP server on a free port, for the dispatcher's Flask app."""
    server = make_server("127.0.0.1", 0, create_app(dispatcher), threaded=True)
    # A short poll interval keeps shutdown() quick.
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def rest_port(model: tuple[RecordingModel, Dispatcher]) -> Iterator[int]:
    with serve_rest(model[1]) as port:
        yield port


@pytest.fixture
def grpc_port(model: tuple[RecordingModel, Dispatcher]) -> Iterator[int]:
    server = build_server(model[1], GrpcOptions(address="127.0.0.1:0", threads=2))
    server.server.start()
    server.mark_serving()
    try:
        yield server.port
    finally:
        server.server.stop(None).wait(10)


@pytest.mark.parametrize("transport", ["rest", "grpc"])
def test_predict_sends_batches_with_feature_names(
    request: pytest.FixtureRequest,
    model: tuple[RecordingModel, Dispatcher],
    contract_file: str,
    transport: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = request.getfixturevalue(f"{transport}_port")
    flags = ["--grpc"] if transport == "grpc" else []
    argv = [contract_file, "127.0.0.1", str(port), "-n", "3", "-b", "4", "-p", *flags]
    assert main(argv) == EXIT_OK
    calls = model[0].calls
    assert [name for name, _, _ in calls] == ["predict"] * 3
    for _, features, names in calls:
        assert features.shape == (4, 3)
        assert names == NAMES
        assert ((features[:, 0] >= 4) & (features[:, 0] <= 8)).all()
        np.testing.assert_array_equal(features[:, 1:], np.round(features[:, 1:]))
    out = capsys.readouterr()
    assert out.out.count("REQUEST:") == 3 and out.out.count("RESPONSE:") == 3
    printed = json.loads(out.out.splitlines()[2])
    assert printed["data"]["names"] == NAMES
    assert "3 ok, 0 failed" in out.err


@pytest.mark.parametrize("transport", ["rest", "grpc"])
def test_transform_input_with_tensor(
    request: pytest.FixtureRequest,
    model: tuple[RecordingModel, Dispatcher],
    contract_file: str,
    transport: str,
) -> None:
    port = request.getfixturevalue(f"{transport}_port")
    flags = ["--grpc"] if transport == "grpc" else []
    argv = [contract_file, "127.0.0.1", str(port), "--endpoint", "transform-input", "-t", *flags]
    assert main(argv) == EXIT_OK
    [(name, features, names)] = model[0].calls
    assert name == "transform_input" and features.shape == (1, 3) and names == NAMES


@pytest.mark.parametrize("transport", ["rest", "grpc"])
def test_send_feedback_predicts_then_rewards(
    request: pytest.FixtureRequest,
    model: tuple[RecordingModel, Dispatcher],
    contract_file: str,
    transport: str,
) -> None:
    port = request.getfixturevalue(f"{transport}_port")
    flags = ["--grpc"] if transport == "grpc" else []
    argv = [contract_file, "127.0.0.1", str(port), "--endpoint", "send-feedback", "-n", "2"]
    assert main([*argv, *flags]) == EXIT_OK
    calls = model[0].calls
    assert [name for name, _, _ in calls] == ["predict", "send_feedback"] * 2
    for (_, predicted, _), (_, rewarded, feedback_names) in zip(
        calls[::2], calls[1::2], strict=True
    ):
        np.testing.assert_allclose(rewarded, predicted)
        assert feedback_names == []  # feedback requests are sent without names
    assert model[0].rewards == [1.0, 1.0]


@pytest.mark.parametrize("transport", ["rest", "grpc"])
def test_failing_calls_make_a_non_zero_exit(
    request: pytest.FixtureRequest,
    model: tuple[RecordingModel, Dispatcher],
    contract_file: str,
    transport: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    model[0].fail = True
    port = request.getfixturevalue(f"{transport}_port")
    flags = ["--grpc"] if transport == "grpc" else []
    assert (
        main([contract_file, "127.0.0.1", str(port), "-n", "2", "-p", *flags]) == EXIT_FAILED_CALLS
    )
    out = capsys.readouterr()
    assert out.out.count("FAILED:") == 2
    assert "model failure" in out.out
    assert "0 ok, 2 failed" in out.err


def test_iris_example_contract_drives_the_iris_model(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("tester_iris_model", IRIS / "IrisClassifier.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    user_model = UserModel(module.IrisClassifier())
    user_model.load()
    with serve_rest(Dispatcher(user_model)) as port:
        argv = [str(IRIS / "contract.json"), "127.0.0.1", str(port), "-n", "2", "-b", "5", "-p"]
        assert main(argv) == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    responses = [json.loads(line) for line in lines[4::5]]  # separator, label, body, label, body
    assert len(responses) == 2
    for response in responses:
        assert response["data"]["names"] == ["setosa", "versicolor", "virginica"]
        np.testing.assert_allclose(np.array(response["data"]["ndarray"]).sum(axis=1), 1.0)
