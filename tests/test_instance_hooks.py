"""Every hook and attribute is found whether the class defines it or the instance assigns it.

The original looks hooks up on the instance (attribute access), so `self.class_names = [...]` or
`self.predict = ...` set in `__init__` (or in `load()`) take effect, for plain classes and for
SeldonComponent subclasses whose placeholders they override.
"""

from __future__ import annotations

import logging
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from seldon_server import SeldonComponent
from seldon_server.model.adapter import UserModel
from seldon_server.proto import prediction_pb2 as pb

ARRAY = {"data": {"ndarray": [[1, 2]]}}
METRIC = {"type": "COUNTER", "key": "instance_hook_calls", "value": 1}


def _predict(self: Any, X: Any, names: Any) -> Any:
    return np.asarray(X) * 2


def _plus_one(self: Any, X: Any, names: Any) -> Any:
    return np.asarray(X) + 1


def _route(self: Any, X: Any, names: Any) -> int:
    return 1


def _aggregate(self: Any, features: Any, names: Any) -> Any:
    return np.asarray(features[0]) + np.asarray(features[1])


def _send_feedback(self: Any, features: Any, names: Any, reward: Any, truth: Any) -> Any:
    return [[reward * 10]]


def _health(self: Any) -> Any:
    return {"healthy": "yes"}


def _health_raw(self: Any) -> Any:
    return {"jsonData": {"raw": "health"}}


def _metrics(self: Any) -> Any:
    return [METRIC]


def _tags(self: Any) -> Any:
    return {"from": "tags"}


def _class_names(self: Any) -> Any:
    return ["m0", "m1"]


def _predict_raw(self: Any, msg: Any) -> Any:
    return {"jsonData": {"raw": "predict"}}


def _predict_rest(self: Any, msg: Any) -> Any:
    return {"jsonData": {"legacy": "rest"}}


def _init_metadata(self: Any) -> Any:
    return {"name": "assigned"}


def _load(self: Any) -> None:
    self.loaded = True


def _custom_service(self: Any) -> None:
    """Never called here: only its presence matters."""


@dataclass(frozen=True)
class HookCase:
    hook: str
    value: Any  # a function taking self, or a plain attribute value
    check: Callable[[Any, Any], None]  # (REST test client, user object)


def _post(client: Any, path: str, body: Any) -> Any:
    response = client.post(path, json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _predicts(client: Any, obj: Any) -> None:
    assert _post(client, "/predict", ARRAY)["data"]["ndarray"] == [[2, 4]]


def _transforms(path: str) -> Callable[[Any, Any], None]:
    def check(client: Any, obj: Any) -> None:
        assert _post(client, path, ARRAY)["data"]["ndarray"] == [[2, 3]]

    return check


def _routes(client: Any, obj: Any) -> None:
    assert _post(client, "/route", ARRAY)["data"]["ndarray"] == [[1]]


def _aggregates(client: Any, obj: Any) -> None:
    body = {"seldonMessages": [ARRAY, ARRAY]}
    assert _post(client, "/aggregate", body)["data"]["ndarray"] == [[2, 4]]


def _feeds_back(client: Any, obj: Any) -> None:
    body = {"request": ARRAY, "reward": 0.5}
    assert _post(client, "/send-feedback", body)["data"]["ndarray"] == [[5.0]]


def _health_status(client: Any, obj: Any) -> None:
    reply = client.get("/health/status").get_json()
    assert reply["jsonData"] == {"healthy": "yes"}


def _health_status_raw(client: Any, obj: Any) -> None:
    assert client.get("/health/status").get_json() == {"jsonData": {"raw": "health"}}


def _has_metrics(client: Any, obj: Any) -> None:
    assert _post(client, "/predict", ARRAY)["meta"]["metrics"] == [METRIC]


def _has_tags(client: Any, obj: Any) -> None:
    assert _post(client, "/predict", ARRAY)["meta"]["tags"] == {"from": "tags"}


def _named(expected: list[str]) -> Callable[[Any, Any], None]:
    def check(client: Any, obj: Any) -> None:
        assert _post(client, "/predict", ARRAY)["data"]["names"] == expected

    return check


def _raw_predict(client: Any, obj: Any) -> None:
    assert _post(client, "/predict", ARRAY) == {"jsonData": {"raw": "predict"}}


def _legacy_rest(client: Any, obj: Any) -> None:
    assert _post(client, "/predict", ARRAY) == {"jsonData": {"legacy": "rest"}}


def _init_metadata_found(client: Any, obj: Any) -> None:
    assert UserModel(obj).optional("init_metadata", None) == {"name": "assigned"}


def _loaded(client: Any, obj: Any) -> None:
    assert obj.loaded is True


def _custom_service_found(client: Any, obj: Any) -> None:
    assert UserModel(obj).has("custom_service")


CASES = (
    HookCase("predict", _predict, _predicts),
    HookCase("transform_input", _plus_one, _transforms("/transform-input")),
    HookCase("transform_output", _plus_one, _transforms("/transform-output")),
    HookCase("route", _route, _routes),
    HookCase("aggregate", _aggregate, _aggregates),
    HookCase("send_feedback", _send_feedback, _feeds_back),
    HookCase("health_status", _health, _health_status),
    HookCase("health_status_raw", _health_raw, _health_status_raw),
    HookCase("metrics", _metrics, _has_metrics),
    HookCase("tags", _tags, _has_tags),
    HookCase("class_names", _class_names, _named(["m0", "m1"])),
    HookCase("class_names", ["a0", "a1"], _named(["a0", "a1"])),  # the deprecated attribute
    HookCase("predict_raw", _predict_raw, _raw_predict),
    HookCase("predict_rest", _predict_rest, _legacy_rest),
    HookCase("init_metadata", _init_metadata, _init_metadata_found),
    HookCase("load", _load, _loaded),
    HookCase("custom_service", _custom_service, _custom_service_found),
)


class _Plain:
    pass


class _Component(SeldonComponent):
    pass


def _base_predict(self: Any, X: Any, names: Any) -> Any:
    return X


def build(base: type, case: HookCase, where: str) -> Any:
    """A `base` subclass whose `case.hook` is defined on the class or assigned by `__init__`."""
    namespace: dict[str, Any] = {}
    if case.hook != "predict" and not case.hook.startswith("predict_"):
        namespace["predict"] = _base_predict  # so the REST check has something to call
    if where == "class":
        namespace[case.hook] = case.value

    def __init__(self: Any) -> None:  # noqa: N807 - the class's constructor
        base.__init__(self)
        if where == "instance":
            value = case.value
            if isinstance(value, types.FunctionType):
                value = types.MethodType(value, self)
            setattr(self, case.hook, value)

    namespace["__init__"] = __init__
    return type(f"{base.__name__}_{case.hook}_{where}", (base,), namespace)()


@pytest.mark.parametrize("where", ["class", "instance"])
@pytest.mark.parametrize("base", [_Plain, _Component], ids=["plain", "component"])
@pytest.mark.parametrize("case", CASES, ids=[f"{c.hook}-{type(c.value).__name__}" for c in CASES])
def test_hook_found_on_class_and_instance(
    case: HookCase, base: type, where: str, rest: Callable[..., Any]
) -> None:
    obj = build(base, case, where)
    assert UserModel(obj).has(case.hook)
    case.check(rest(obj), obj)


@pytest.mark.parametrize("base", [_Plain, _Component], ids=["plain", "component"])
def test_class_names_attribute_over_grpc(base: type, grpc_server: Any) -> None:
    obj = build(base, HookCase("class_names", ["a0", "a1"], _named([])), "instance")
    request = pb.SeldonMessage()
    request.data.ndarray.append([1.0, 2.0])
    reply = grpc_server(obj).model.Predict(request)
    assert list(reply.data.names) == ["a0", "a1"]


def test_class_names_attribute_set_in_load_is_seen(rest: Callable[..., Any]) -> None:
    class SetsNamesInLoad(SeldonComponent):
        def load(self) -> None:
            self.class_names = ["late0", "late1"]

        def predict(self, X: Any, names: Any) -> Any:
            return X

    _named(["late0", "late1"])(rest(SetsNamesInLoad()), None)


def test_class_names_attribute_logs_deprecation_once(caplog: pytest.LogCaptureFixture) -> None:
    obj = build(_Component, HookCase("class_names", ["a0", "a1"], _named([])), "instance")
    with caplog.at_level(logging.INFO, logger="seldon_server.model.adapter"):
        model = UserModel(obj)
        model.load()
        assert model.class_names(2) == ["a0", "a1"]
    deprecations = [r for r in caplog.records if "class_names attribute is deprecated" in r.message]
    assert len(deprecations) == 1


def test_component_placeholders_still_fall_through(rest: Callable[..., Any]) -> None:
    """Nothing assigned: the SeldonComponent placeholders stay absent."""
    obj = build(_Component, HookCase("predict", _predict, _predicts), "class")
    model = UserModel(obj)
    for hook in ("class_names", "tags", "metrics", "route", "predict_raw"):
        assert not model.has(hook) and model.inherits(hook)
    assert _post(rest(obj), "/predict", ARRAY)["data"]["names"] == ["t:0", "t:1"]
