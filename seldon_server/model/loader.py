"""Find and instantiate the user's class from its interface name."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any


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
