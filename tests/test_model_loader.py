"""interface_name resolution (plain and dotted, cwd on sys.path) and instantiation."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from seldon_server.errors import BadParameterError
from seldon_server.model.loader import (
    UserModelImportError,
    import_user_class,
    instantiate,
    parse_parameters,
    split_interface_name,
)


@pytest.fixture
def isolated_imports(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh module-name prefix; sys.path restored and the test's modules forgotten after."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    prefix = f"m{uuid.uuid4().hex[:8]}"
    yield prefix
    for name in [n for n in sys.modules if n.split(".")[0] == prefix]:
        del sys.modules[name]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("MyModel", ("MyModel", "MyModel")),
        ("mymodule.my_model.MyModel", ("mymodule.my_model", "MyModel")),
        ("pkg.Model", ("pkg", "Model")),
    ],
)
def test_split_at_the_last_dot(name: str, expected: tuple[str, str]) -> None:
    assert split_interface_name(name) == expected


def test_plain_name_imports_module_and_class_of_that_name(
    tmp_path: Path, isolated_imports: str
) -> None:
    name = isolated_imports
    (tmp_path / f"{name}.py").write_text(
        f"class {name}:\n    def predict(self, X, names):\n        return X\n"
    )
    user_class = import_user_class(name, str(tmp_path))
    assert user_class.__name__ == name
    assert str(tmp_path) in sys.path


def test_dotted_name_in_a_namespace_package(tmp_path: Path, isolated_imports: str) -> None:
    package = tmp_path / isolated_imports / "sub"
    package.mkdir(parents=True)
    (package / "my_model.py").write_text("class MyModel:\n    pass\n")
    user_class = import_user_class(f"{isolated_imports}.sub.my_model.MyModel", str(tmp_path))
    assert user_class.__name__ == "MyModel"


def test_cwd_is_the_default_search_dir(
    tmp_path: Path, isolated_imports: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / f"{isolated_imports}.py").write_text(f"class {isolated_imports}:\n    pass\n")
    monkeypatch.chdir(tmp_path)
    assert import_user_class(isolated_imports).__name__ == isolated_imports


@pytest.mark.parametrize(
    ("source", "interface", "message"),
    [
        (None, "{name}", "cannot find module '{name}'"),
        ("class Other:\n    pass\n", "{name}", "module '{name}' has no class '{name}'"),
        ("import no_such_dependency_xyz\n", "{name}", "importing module '{name}' failed"),
        ("raise RuntimeError('boom at import')\n", "{name}", "boom at import"),
        ("{name} = 3\n", "{name}", "'{name}' is not a class"),
    ],
)
def test_import_errors_are_readable(
    tmp_path: Path, isolated_imports: str, source: str | None, interface: str, message: str
) -> None:
    name = isolated_imports
    if source is not None:
        (tmp_path / f"{name}.py").write_text(source.format(name=name))
    with pytest.raises(UserModelImportError, match=message.format(name=name)):
        import_user_class(interface.format(name=name), str(tmp_path))


def test_instantiate_with_parameters() -> None:
    class WithParams:
        def __init__(self, alpha: float = 0.0, name: str = "") -> None:
            self.alpha, self.name = alpha, name

    obj = instantiate(WithParams, {"alpha": 0.5, "name": "x"})
    assert (obj.alpha, obj.name) == (0.5, "x")


def test_instantiate_errors_name_the_class() -> None:
    class Strict:
        def __init__(self) -> None:
            pass

    with pytest.raises(
        UserModelImportError, match=r"creating Strict\(\*\*\{'unexpected': 1\}\) failed"
    ):
        instantiate(Strict, {"unexpected": 1})

    class Failing:
        def __init__(self, **kwargs: Any) -> None:
            raise ValueError("no weights")

    with pytest.raises(UserModelImportError, match="no weights"):
        instantiate(Failing, {})


# --- parameters -------------------------------------------------------------------------------


def _entry(value: Any, type_: str, name: str = "p") -> list[dict[str, Any]]:
    return [{"name": name, "value": value, "type": type_}]


def test_parameters_are_typed() -> None:
    entries = [
        *_entry("3", "INT", "i"),
        *_entry("1.5", "FLOAT", "f"),
        *_entry("2", "DOUBLE", "d"),
        *_entry("hello", "STRING", "s"),
        *_entry("yes", "BOOL", "b"),
        *_entry(4, "INT", "n"),
        *_entry(False, "BOOL", "c"),
    ]
    params = parse_parameters(entries)
    assert params == {"i": 3, "f": 1.5, "d": 2.0, "s": "hello", "b": True, "n": 4, "c": False}
    assert isinstance(params["d"], float)


@pytest.mark.parametrize("raw", ["y", "yes", "t", "true", "on", "1", "TRUE"])
def test_bool_parameter_true(raw: str) -> None:
    assert parse_parameters(_entry(raw, "BOOL")) == {"p": True}


@pytest.mark.parametrize("raw", ["n", "no", "f", "false", "off", "0"])
def test_bool_parameter_false(raw: str) -> None:
    assert parse_parameters(_entry(raw, "BOOL")) == {"p": False}


@pytest.mark.parametrize(
    ("value", "type_"),
    [
        ("abc", "INT"),
        ("1.5", "INT"),
        (2.5, "INT"),
        (True, "INT"),
        ("x", "FLOAT"),
        ("maybe", "BOOL"),
    ],
)
def test_bad_parameter_value_message(value: Any, type_: str) -> None:
    with pytest.raises(BadParameterError) as info:
        parse_parameters(_entry(value, type_))
    assert info.value.message == (
        f"Bad model parameter: p with value {value} can't be parsed as a {type_}"
    )
    assert info.value.reason == "MICROSERVICE_BAD_PARAMETER"


def test_bad_parameter_type_message() -> None:
    with pytest.raises(BadParameterError) as info:
        parse_parameters(_entry("1", "LONG"))
    assert info.value.message == (
        "Bad model parameter type: LONG valid are INT, FLOAT, DOUBLE, STRING, BOOL"
    )
