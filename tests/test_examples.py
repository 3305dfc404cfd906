"""The example model folders: each loads in-process and answers sensibly over REST (and gRPC)."""

from __future__ import annotations

import ast
import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc
import numpy as np
import pytest
from flask.testing import FlaskClient

import seldon_server
from seldon_server.dispatch import Dispatcher
from seldon_server.grpc.server import GrpcOptions, build_server
from seldon_server.model.adapter import UserModel
from seldon_server.proto import prediction_pb2, prediction_pb2_grpc
from seldon_server.rest.app import create_app

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "models"
# folder -> (MODEL_NAME, SERVICE_TYPE)
FOLDERS = {
    "identity": ("IdentityModel", "MODEL"),
    "iris": ("IrisClassifier", "MODEL"),
    "transformer": ("FeatureScaler", "TRANSFORMER"),
    "router": ("EpsilonGreedyRouter", "ROUTER"),
    "combiner": ("MeanCombiner", "COMBINER"),
    "outlier": ("ZScoreOutlierDetector", "OUTLIER_DETECTOR"),
    "custom_metrics": ("MetricsModel", "MODEL"),
    "raw": ("WordCounter", "MODEL"),
}


class RecordingMetrics:
    """A MetricsSink that keeps what the dispatcher records."""

    def __init__(self) -> None:
        self.records: list[tuple[str, list[dict[str, Any]]]] = []
        self.rewards: list[float] = []

    def record(self, method: str, metrics: list[dict[str, Any]]) -> None:
        if metrics:
            self.records.append((method, metrics))

    def record_feedback(self, reward: float) -> None:
        self.rewards.append(reward)

    def observe_request(self, method: str, code: int | str, seconds: float) -> None:
        pass


def import_example(folder: str, module: str) -> ModuleType:
    """Import an example module from its file, without putting its folder on sys.path."""
    spec = importlib.util.spec_from_file_location(
        f"example_{folder}_{module}", EXAMPLES / folder / f"{module}.py"
    )
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def build_dispatcher(
    folder: str, metrics: RecordingMetrics | None = None, **params: Any
) -> Dispatcher:
    name = FOLDERS[folder][0]
    model = UserModel(getattr(import_example(folder, name), name)(**params))
    model.load()
    return Dispatcher(model, metrics=metrics)


def client(folder: str, **params: Any) -> FlaskClient:
    return create_app(build_dispatcher(folder, **params)).test_client()


def post(
    test_client: FlaskClient, path: str, body: dict[str, Any], expect: int = 200
) -> dict[str, Any]:
    response = test_client.post(path, json=body)
    assert response.status_code == expect, response.get_data(as_text=True)
    return json.loads(response.get_data())


def ndarray(rows: list[list[float]], names: list[str] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"ndarray": rows}
    if names is not None:
        data["names"] = names
    return {"data": data}


# -- every folder ----------------------------------------------------------------------------


def read_environment(folder: str) -> dict[str, str]:
    lines = (EXAMPLES / folder / ".s2i" / "environment").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))


@pytest.mark.parametrize("folder", sorted(FOLDERS))
def test_folder_is_an_s2i_source(folder: str) -> None:
    name, service_type = FOLDERS[folder]
    environment = read_environment(folder)
    assert environment == {"MODEL_NAME": name, "SERVICE_TYPE": service_type, "PERSISTENCE": "0"}
    assert (EXAMPLES / folder / f"{name}.py").is_file()
    readme = (EXAMPLES / folder / "README.md").read_text()
    assert f"seldon-microservice {name}" in readme
    assert "curl" in readme


# What each model imports from the server: public names only, and none at all is a choice too.
SERVER_IMPORTS = {
    "identity": set(),
    "iris": {"SeldonMicroserviceException"},
    "transformer": {"SeldonMicroserviceException"},
    "router": set(),
    "combiner": {"SeldonMicroserviceException"},
    "outlier": {"SeldonMicroserviceException", "SeldonResponse"},
    "custom_metrics": {
        "SeldonMicroserviceException",
        "SeldonResponse",
        "create_counter",
        "create_gauge",
        "create_timer",
    },
    "raw": set(),
}
SERVER_PACKAGES = {"seldon_server", "seldon_core"}


def server_imports(source: str) -> set[str]:
    """Every module or name imported from the server packages, wherever the import statement is."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name.split(".")[0] in SERVER_PACKAGES}


def test_every_example_folder_is_tested() -> None:
    folders = {path.name for path in EXAMPLES.iterdir() if path.is_dir()}
    assert folders == set(FOLDERS) == set(SERVER_IMPORTS)


@pytest.mark.parametrize("folder", sorted(FOLDERS))
def test_models_import_only_the_public_api(folder: str) -> None:
    source = (EXAMPLES / folder / f"{FOLDERS[folder][0]}.py").read_text()
    assert SERVER_IMPORTS[folder] <= set(seldon_server.__all__)
    assert server_imports(source) == {f"seldon_server.{name}" for name in SERVER_IMPORTS[folder]}


def test_the_import_check_sees_every_kind_of_import() -> None:
    source = (
        "import seldon_server.dispatch\n"
        "def f():\n    from seldon_core.utils import x\n"
        "from seldon_server import SeldonResponse as R\n"
        "import numpy\n"
    )
    assert server_imports(source) == {
        "seldon_server.dispatch",
        "seldon_core.utils.x",
        "seldon_server.SeldonResponse",
    }


# -- identity --------------------------------------------------------------------------------


def test_identity_echoes_its_input_and_takes_feedback() -> None:
    identity = client("identity")
    body = post(identity, "/api/v1.0/predictions", ndarray([[1, 2.5, 3]]))
    assert body == {"data": {"names": ["t:0", "t:1", "t:2"], "ndarray": [[1, 2.5, 3]]}, "meta": {}}
    feedback = {"request": ndarray([[1]]), "truth": ndarray([[1]]), "reward": 1.0}
    assert post(identity, "/api/v1.0/feedback", feedback) == {"data": {"ndarray": []}, "meta": {}}


# -- iris ------------------------------------------------------------------------------------

# Rows 1, 51, 101 and 150 of the data set, one per species plus a harder virginica.
KNOWN_IRIS = [
    ([5.1, 3.5, 1.4, 0.2], "setosa"),
    ([7.0, 3.2, 4.7, 1.4], "versicolor"),
    ([6.3, 3.3, 6.0, 2.5], "virginica"),
    ([5.9, 3.0, 5.1, 1.8], "virginica"),
]


def test_iris_classifies_known_samples() -> None:
    body = post(client("iris"), "/api/v1.0/predictions", ndarray([row for row, _ in KNOWN_IRIS]))
    names = body["data"]["names"]
    assert names == ["setosa", "versicolor", "virginica"]
    probabilities = np.array(body["data"]["ndarray"])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    assert [names[i] for i in probabilities.argmax(axis=1)] == [label for _, label in KNOWN_IRIS]


def test_iris_answers_tensor_with_tensor_and_form_json() -> None:
    message = {"data": {"tensor": {"shape": [1, 4], "values": KNOWN_IRIS[0][0]}}}
    response = client("iris").post("/predict", data={"json": json.dumps(message)})
    assert response.status_code == 200
    tensor = json.loads(response.get_data())["data"]["tensor"]
    assert tensor["shape"] == [1, 3]
    assert np.argmax(tensor["values"]) == 0


def test_iris_rejects_the_wrong_number_of_columns() -> None:
    body = post(client("iris"), "/api/v1.0/predictions", ndarray([[1.0, 2.0]]), expect=400)
    assert "expected rows of 4 values" in body["status"]["info"]
    assert body["status"]["reason"] == "MICROSERVICE_BAD_DATA"


def test_iris_rejects_text_with_a_client_error() -> None:
    body = post(
        client("iris"), "/api/v1.0/predictions", ndarray([["a", "b", "c", "d"]]), expect=400
    )
    assert "expected numbers" in body["status"]["info"]


def test_iris_weights_are_what_train_py_produces() -> None:
    train = import_example("iris", "train")
    features, labels = train.read_dataset(EXAMPLES / "iris" / "iris.csv")
    assert features.shape == (150, 4)
    assert np.bincount(labels).tolist() == [50, 50, 50]
    saved = np.load(EXAMPLES / "iris" / "weights.npz", allow_pickle=False)
    standard = (features - saved["mean"]) / saved["scale"]
    weights, bias = train.fit(standard, labels)
    np.testing.assert_allclose(weights, saved["weights"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(bias, saved["bias"], rtol=1e-9, atol=1e-12)
    assert train.accuracy(standard, labels, weights, bias) > 0.95


# -- transformer -----------------------------------------------------------------------------


def test_transformer_scales_each_column_to_unit_range() -> None:
    rows = [[4.3, 2.0, 1.0, 0.1], [7.9, 4.4, 6.9, 2.5], [6.1, 3.2, 3.95, 1.3]]
    body = post(client("transformer"), "/transform-input", ndarray(rows))
    np.testing.assert_allclose(
        body["data"]["ndarray"], np.array([[0.0] * 4, [1.0] * 4, [0.5] * 4]), atol=1e-12
    )


def test_transformer_takes_its_bounds_as_parameters() -> None:
    test_client = client("transformer", minimums="0,10", maximums="2,20")
    body = post(test_client, "/transform-input", ndarray([[1.0, 15.0]]))
    assert body["data"]["ndarray"] == [[0.5, 0.5]]
    with pytest.raises(ValueError, match="one value per column"):
        build_dispatcher("transformer", minimums="0,1", maximums="1")


# -- router ----------------------------------------------------------------------------------


def route(test_client: FlaskClient) -> int:
    body = post(test_client, "/route", ndarray([[1.0, 2.0]]))
    return int(body["data"]["ndarray"][0][0])


def reward(test_client: FlaskClient, branch: int, value: float) -> None:
    feedback = {
        "request": ndarray([[1.0, 2.0]]),
        "response": {"meta": {"routing": {"0": branch}}, **ndarray([[0.0]])},
        "reward": value,
    }
    post(test_client, "/send-feedback", feedback)


def test_router_follows_rewards_when_greedy() -> None:
    test_client = client("router", epsilon=0.0)
    assert route(test_client) == 0  # untried branches look equally good: the first wins
    reward(test_client, 0, 0.0)
    assert route(test_client) == 1
    reward(test_client, 1, 1.0)
    assert [route(test_client) for _ in range(5)] == [1] * 5
    body = post(test_client, "/route", ndarray([[1.0]]))
    assert body["meta"]["tags"]["branch_mean_rewards"] == [0.0, 1.0]


def test_router_explores_with_epsilon() -> None:
    test_client = client("router", epsilon=1.0, seed=7)
    assert {route(test_client) for _ in range(40)} == {0, 1}


def test_router_ignores_feedback_for_unknown_branches() -> None:
    test_client = client("router", epsilon=0.0)
    reward(test_client, 5, 1.0)
    body = post(test_client, "/route", ndarray([[1.0]]))
    assert body["meta"]["tags"]["branch_mean_rewards"] == [1.0, 1.0]


# -- combiner --------------------------------------------------------------------------------


def test_combiner_averages_children() -> None:
    messages = {
        "seldonMessages": [ndarray([[1.0, 2.0]]), ndarray([[3.0, 6.0]]), ndarray([[2.0, 1.0]])]
    }
    body = post(client("combiner"), "/aggregate", messages)
    assert body["data"]["ndarray"] == [[2.0, 3.0]]


def test_combiner_refuses_mismatched_shapes() -> None:
    messages = {"seldonMessages": [ndarray([[1.0, 2.0]]), ndarray([[3.0]])]}
    body = post(client("combiner"), "/aggregate", messages, expect=400)
    assert "different shapes" in body["status"]["info"]


# -- outlier detector ------------------------------------------------------------------------


def test_outlier_detector_tags_scores_and_passes_data_through() -> None:
    rows = [[5.8, 3.0, 3.8, 1.2], [5.8, 3.0, 3.8, 9.0]]
    body = post(client("outlier"), "/transform-input", ndarray(rows, ["a", "b", "c", "d"]))
    assert body["data"]["ndarray"] == rows
    tags = body["meta"]["tags"]
    assert tags["is_outlier"] == [False, True]
    assert tags["outlier_score"][0] < 0.2 < 10 < tags["outlier_score"][1]
    assert tags["outlier_detector"] == "zscore" and tags["outlier_threshold"] == 3.0


def test_outlier_tags_belong_to_their_own_response() -> None:
    test_client = client("outlier", threshold=1.0)
    first = post(test_client, "/transform-input", ndarray([[9.0, 3.0, 3.8, 1.2]]))
    second = post(test_client, "/transform-input", ndarray([[5.8, 3.0, 3.8, 1.2]]))
    assert first["meta"]["tags"]["is_outlier"] == [True]
    assert second["meta"]["tags"]["is_outlier"] == [False]


# -- custom metrics --------------------------------------------------------------------------


def test_custom_metrics_reach_the_sink_and_the_response() -> None:
    sink = RecordingMetrics()
    test_client = create_app(build_dispatcher("custom_metrics", sink, version="v7")).test_client()
    body = post(test_client, "/api/v1.0/predictions", ndarray([[1.0, 3.0], [5.0, 7.0]]))
    assert body["data"]["ndarray"] == [[2.0, 6.0], [10.0, 14.0]]
    assert body["meta"]["tags"] == {"model_version": "v7", "rows": 2}
    keys = [(m["key"], m["type"]) for m in body["meta"]["metrics"]]
    assert keys == [
        ("example_calls_total", "COUNTER"),
        ("example_rows_total", "COUNTER"),
        ("example_last_mean", "GAUGE"),
        ("example_predict_time", "TIMER"),
    ]
    by_key = {m["key"]: m for m in body["meta"]["metrics"]}
    assert by_key["example_rows_total"]["value"] == 2
    assert by_key["example_last_mean"]["value"] == 4.0
    assert by_key["example_calls_total"]["tags"] == {"version": "v7"}
    recorded = {
        m["key"] for method, metrics in sink.records for m in metrics if method == "predict"
    }
    assert recorded == set(by_key)


# -- raw -------------------------------------------------------------------------------------


def test_raw_model_over_rest() -> None:
    test_client = client("raw")
    body = post(test_client, "/api/v1.0/predictions", {"strData": "the quick brown fox"})
    assert body["jsonData"] == {"words": 4, "characters": 19}
    body = post(test_client, "/predict", {"jsonData": {"text": "hello world"}})
    assert body["jsonData"] == {"words": 2, "characters": 11}
    body = post(test_client, "/predict", ndarray([[1.0]]), expect=400)
    assert body["status"]["info"] == "send strData or jsonData.text"


@pytest.fixture
def raw_stub() -> Iterator[Any]:
    sink = RecordingMetrics()
    dispatcher = build_dispatcher("raw", sink)
    server = build_server(dispatcher, GrpcOptions(address="127.0.0.1:0", threads=2))
    server.server.start()
    server.mark_serving()
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        yield prediction_pb2_grpc.ModelStub(channel), sink
    finally:
        channel.close()
        server.server.stop(None).wait(5)


def test_raw_model_over_grpc(raw_stub: Any) -> None:
    stub, sink = raw_stub
    reply = stub.Predict(prediction_pb2.SeldonMessage(strData="one two three"), timeout=10)
    assert isinstance(reply, prediction_pb2.SeldonMessage)
    assert dict(reply.jsonData.struct_value.fields.items())["words"].number_value == 3
    # The protobuf JSON mapping drops the default enum value (COUNTER); the recorder assumes it.
    [(method, [metric])] = sink.records
    assert method == "predict"
    assert metric["key"] == "example_words_total" and metric["value"] == 3.0
    assert metric.get("type", "COUNTER") == "COUNTER"
