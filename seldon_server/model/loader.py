"""Find the user's class from its interface name, type its parameters and instantiate it."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from seldon_server.errors import BadParameterError
from seldon_server.options import parse_bool

PARAMETER_TYPES = ("INT", "FLOAT", "DOUBLE", "STRING", "BOOL")


class UserModelImportError(Exception):
    """The interface name does not lead to an importable class."""


def split_interface_name(interface_name: str) -> tuple[str, str]:
    """`MyModel` -> module and class `MyModel`; `pkg.mod.MyModel` -> (`pkg.mod`, `MyModel`)."""
    if "." in interface_name:
        module_name, class_name = interface_name.rsplit(".", 1)
        return module_name, class_name
    return interface_name, interface_name


def import_user_class(interface_name: str, search_dir: str | None = None) -> type:
    """Import the class named by `interface_name`, with `search_dir` (default: cwd) on sys.path."""
    directory = search_dir or os.getcwd()
    if directory not in sys.path:
        sys.path.append(directory)
    module_name, class_name = split_interface_name(interface_name)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise UserModelImportError(
                f"cannot find module '{module_name}' for interface '{interface_name}' "
                f"(searched {directory} and sys.path)"
            ) from exc
        raise UserModelImportError(f"importing module '{module_name}' failed: {exc}") from exc
    except Exception as exc:  # user code at import time may raise anything
        raise UserModelImportError(f"importing module '{module_name}' failed: {exc!r}") from exc
    try:
        user_class = getattr(module, class_name)
    except AttributeError as exc:
        raise UserModelImportError(
            f"module '{module_name}' has no class '{class_name}' (interface '{interface_name}')"
        ) from exc
    if not callable(user_class):
        raise UserModelImportError(f"'{interface_name}' is not a class")
    return user_class


def instantiate(user_class: type, parameters: dict[str, Any]) -> Any:
    """`Class(**parameters)`, with constructor errors reported as start-up failures."""
    try:
        return user_class(**parameters)
    except Exception as exc:
        raise UserModelImportError(
            f"creating {user_class.__name__}(**{parameters!r}) failed: {exc!r}"
        ) from exc


def parse_parameters(entries: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Type `--parameters` entries (`{name, value, type}`) into constructor keyword arguments.

    Raises:
        BadParameterError: a value or type that does not convert, with the original's messages.
    """
    return dict(_typed_parameter(entry) for entry in entries)


def _typed_parameter(entry: Mapping[str, Any]) -> tuple[str, Any]:
    name, value, type_ = entry["name"], entry.get("value"), entry.get("type")
    convert = _PARAMETER_CONVERTERS.get(type_) if isinstance(type_, str) else None
    if convert is None:
        valid = ", ".join(PARAMETER_TYPES)
        raise BadParameterError(f"Bad model parameter type: {type_} valid are {valid}")
    try:
        if value is None:
            raise ValueError("no value")
        return name, convert(value)
    except (TypeError, ValueError):
        raise BadParameterError(
            f"Bad model parameter: {name} with value {value} can't be parsed as a {type_}"
        ) from None


def _parameter_int(value: Any) -> int:
    # Reject what int() would silently coerce: True -> 1, 2.5 -> 2.
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError("not an integer")
    return int(value)


def _parameter_bool(value: Any) -> bool:
    return value if isinstance(value, bool) else parse_bool(str(value))


_PARAMETER_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "INT": _parameter_int,
    "FLOAT": float,
    "DOUBLE": float,
    "STRING": str,
    "BOOL": _parameter_bool,
}
