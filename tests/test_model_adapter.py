"""UserModel: the user object inspected once (hooks present, signatures) and called accordingly."""

from __future__ import annotations

import logging
import types
from typing import Any

import models
import numpy as np
import pytest

import seldon_server
from seldon_server import SeldonComponent, SeldonNotImplementedError, SeldonResponse
from seldon_server.model.adapter import HOOKS, UserModel


def test_public_names_are_importable() -> None:
    for name in seldon_server.__all__:
        assert getattr(seldon_server, name) is not None
    with pytest.raises(AttributeError):
        _ = seldon_server.NoSuchName  # type: ignore[attr-defined]


def test_plain_class_hooks() -> None:
    model = UserModel(models.TagsAndMetrics())
    assert model.has("predict") and model.has("tags") and model.has("metrics")
    assert not model.has("route") and not model.inherits("route")
    assert model.optional("tags", None) == {"b": "model", "c": "model", "n": 1}
    assert UserModel(models.Identity()).optional("tags", {"d": 1}) == {"d": 1}


def test_component_placeholders_are_not_hooks() -> None:
    model = UserModel(models.ComponentPredict())
    assert model.has("predict")
    for hook in ("predict_raw", "route", "aggregate", "tags", "metrics", "class_names"):
        assert not model.has(hook) and model.inherits(hook)
    assert model.optional("tags", "default") == "default"


def test_seldon_core_component_placeholders_are_recognised() -> None:
    """A class built on Seldon Core's own SeldonComponent (if installed) falls through too."""
    namespace: dict[str, Any] = {"__name__": "seldon_core.user_model"}
    exec(
        "class SeldonComponent:\n"
        "    def route(self, features, feature_names):\n"
        "        raise NotImplementedError\n",
        namespace,
    )
    base = namespace["SeldonComponent"]
    user_class = types.new_class(
        "User", (base,), exec_body=lambda ns: ns.update(predict=lambda s, X, n: X)
    )
    model = UserModel(user_class())
    assert model.has("predict") and not model.has("route") and model.inherits("route")


def test_hook_table_lists_every_hook_of_the_contract() -> None:
    expected = {
        "predict", "transform_input", "transform_output", "route", "aggregate", "send_feedback",
        "health_status", "health_status_raw", "metrics", "tags", "class_names", "feature_names",
        "init_metadata", "load", "custom_service",
    }  # fmt: skip
    for base in (
        "predict",
        "transform_input",
        "transform_output",
        "route",
        "aggregate",
        "send_feedback",
    ):
        expected |= {f"{base}_raw", f"{base}_rest", f"{base}_grpc"}
    assert set(HOOKS) == expected


class Signatures:
    def with_meta(self, X: Any, names: Any, meta: Any = None) -> Any:
        return ("with_meta", meta)

    def with_kwargs(self, X: Any, names: Any, **kwargs: Any) -> Any:
        return ("with_kwargs", kwargs)

    def without(self, X: Any, names: Any) -> Any:
        return ("without",)


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("with_meta", ("with_meta", {"puid": "p"})),
        ("with_kwargs", ("with_kwargs", {"meta": {"puid": "p"}})),
        ("without", ("without",)),
    ],
)
def test_meta_keyword_chosen_from_the_signature(method: str, expected: Any) -> None:
    class Model:
        pass

    Model.predict = getattr(Signatures, method)
    assert (
        UserModel(Model()).call_with_meta("predict", np.array([1]), [], {"puid": "p"}) == expected
    )


def test_builtin_callable_without_signature_gets_no_meta() -> None:
    class Model:
        predict = staticmethod(max)

    assert UserModel(Model()).call_with_meta("predict", 1, 2, {"puid": "p"}) == 2


def test_routing_keyword_from_the_signature() -> None:
    with_routing = models.Router()
    UserModel(with_routing).call_feedback([1], [], 1.0, [0], 3)
    assert with_routing.calls["send_feedback"][0][4] == 3
    without = models.FeedbackNoRouting()
    UserModel(without).call_feedback([1], [], 1.0, [0], 3)
    assert without.count("send_feedback") == 1


def test_class_names_variants() -> None:
    assert UserModel(models.Identity()).class_names(3) == ["t:0", "t:1", "t:2"]
    assert UserModel(models.ClassNamesMethod()).class_names(2) == ["a", "b"]
    assert UserModel(models.ClassNamesAttribute()).class_names(2) == ["x", "y"]
    assert UserModel(models.EmptyComponent()).class_names(1) == ["t:0"]

    class Declines:
        def class_names(self) -> Any:
            raise SeldonNotImplementedError("no")

    assert UserModel(Declines()).class_names(2) == ["t:0", "t:1"]


def test_load_runs_once_and_sets_ready() -> None:
    class Loads(models.Calls):
        def load(self) -> None:
            self._record("load")

    obj = Loads()
    model = UserModel(obj)
    assert not model.ready.is_set()
    model.load()
    assert obj.count("load") == 1 and model.ready.is_set()


def test_load_not_implemented_is_fine_and_other_errors_propagate() -> None:
    class NotImplementedLoad:
        def load(self) -> None:
            raise NotImplementedError

    model = UserModel(NotImplementedLoad())
    model.load()
    assert model.ready.is_set()

    class Broken:
        def load(self) -> None:
            raise AttributeError("missing file handle")

    broken = UserModel(Broken())
    with pytest.raises(AttributeError):
        broken.load()
    assert not broken.ready.is_set()


def test_deprecated_hooks_are_logged_once_at_load(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        UserModel(models.LegacyRest())
    messages = [r.getMessage() for r in caplog.records]
    assert "predict_rest is deprecated. Please use predict_raw" in messages
    assert "predict_grpc is deprecated. Please use predict_raw" in messages


def test_signature_is_inspected_once_not_per_call() -> None:
    inspected: list[str] = []

    class Counting:
        def __getattribute__(self, name: str) -> Any:
            inspected.append(name)
            return object.__getattribute__(self, name)

        def predict(self, X: Any, names: Any, meta: Any = None) -> Any:
            return X

    model = UserModel(Counting())
    inspected.clear()
    for _ in range(3):
        model.call_with_meta("predict", 1, [], None)
    assert inspected == ["predict"] * 3


def test_seldon_response_create() -> None:
    response = SeldonResponse([1], tags={"a": 1})
    assert SeldonResponse.create(response) is response
    plain = SeldonResponse.create([2])
    assert (plain.data, plain.tags, plain.metrics) == ([2], {}, [])


@pytest.mark.parametrize(
    ("hook", "args"),
    [
        ("predict", ([], [])),
        ("predict_raw", ({},)),
        ("transform_input", ([], [])),
        ("transform_output", ([], [])),
        ("route", ([], [])),
        ("aggregate", ([], [])),
        ("send_feedback", ([], [], 0, [], None)),
        ("health_status", ()),
        ("tags", ()),
        ("metrics", ()),
        ("class_names", ()),
        ("init_metadata", ()),
    ],
)
def test_component_placeholders_raise_not_implemented(hook: str, args: tuple[Any, ...]) -> None:
    with pytest.raises(SeldonNotImplementedError):
        getattr(SeldonComponent(), hook)(*args)
    assert SeldonComponent().load() is None
