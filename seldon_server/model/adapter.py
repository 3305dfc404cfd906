"""The user object, inspected once: which hooks it has and how each must be called."""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable
from typing import Any

from seldon_server.codecs.message import RAW_CAPABLE_HOOKS
from seldon_server.errors import SeldonNotImplementedError
from seldon_server.model.component import SeldonComponent

logger = logging.getLogger(__name__)

# Hooks that take (X, feature_names) and, if their signature allows it, meta=.
META_HOOKS = ("predict", "transform_input", "transform_output", "route")
HOOKS = (
    *RAW_CAPABLE_HOOKS,
    "health_status",
    "health_status_raw",
    "metrics",
    "tags",
    "class_names",
    "feature_names",
    "init_metadata",
    "load",
    "custom_service",
    *(f"{hook}_{form}" for hook in RAW_CAPABLE_HOOKS for form in ("raw", "rest", "grpc")),
)


# The default column names per width: read-only lists, built once.
_DEFAULT_NAMES: dict[int, list[str]] = {}


def _is_component_default(obj: Any, name: str) -> bool:
    """A hook inherited unchanged from a SeldonComponent base (ours or Seldon Core's).

    Looked up on the instance first, as attribute access does: a hook or attribute assigned in
    `__init__` (`self.class_names = [...]`) overrides the class's placeholder.
    """
    attr = inspect.getattr_static(obj, name, None)
    if attr is None:
        return False
    if attr is getattr(SeldonComponent, name, object()):
        return True
    qualname = getattr(attr, "__qualname__", "")
    module = getattr(attr, "__module__", "")
    return qualname == f"SeldonComponent.{name}" and module == "seldon_core.user_model"


def _accepts_keyword(func: Callable[..., Any], keyword: str) -> bool:
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == keyword or p.kind is p.VAR_KEYWORD for p in params)


class UserModel:
    """A user object with its hook table and call conventions, computed at load."""

    def __init__(self, obj: Any) -> None:
        self.obj = obj
        self.ready = threading.Event()
        self._warned: set[str] = set()
        self._inspect()

    def _inspect(self) -> None:
        """Build the hook table from the instance (then its class), as attribute access sees it.

        Run at construction and again after load(), which may assign hooks or attributes.
        """
        obj = self.obj
        self.defaults = frozenset(h for h in HOOKS if _is_component_default(obj, h))
        self.present = frozenset(
            h for h in HOOKS if h not in self.defaults and getattr(obj, h, None) is not None
        )
        self._raw_variants = frozenset(
            name.rsplit("_", 1)[0]
            for name in self.present
            if name.endswith(("_raw", "_rest", "_grpc"))
        )
        self._meta_keyword = {
            h: _accepts_keyword(getattr(obj, h), "meta") for h in META_HOOKS if h in self.present
        }
        self._routing_keyword = "send_feedback" in self.present and _accepts_keyword(
            obj.send_feedback, "routing"
        )
        # The deprecated attribute form (a list, not a method) is read per reply, as the original.
        self._class_names_attribute = "class_names" in self.present and not callable(
            obj.class_names
        )
        self._warn_deprecated()

    def _warn_deprecated(self) -> None:
        """One line per deprecated hook form, the first time it is seen."""
        for name in sorted(self.present - self._warned):
            if name.endswith(("_rest", "_grpc")):
                logger.warning("%s is deprecated. Please use %s_raw", name, name.rsplit("_", 1)[0])
        if self._class_names_attribute and "class_names" not in self._warned:
            logger.info("class_names attribute is deprecated. Please define a class_names method")
        self._warned |= self.present

    def has(self, hook: str) -> bool:
        return hook in self.present

    def has_raw_variant(self, hook: str) -> bool:
        """Whether <hook>_raw, _rest or _grpc exists (checked before any name is built)."""
        return hook in self._raw_variants

    def inherits(self, hook: str) -> bool:
        """True when the hook is SeldonComponent's placeholder, which only raises."""
        return hook in self.defaults

    def call(self, hook: str, *args: Any) -> Any:
        return getattr(self.obj, hook)(*args)

    def call_with_meta(self, hook: str, features: Any, names: list[str], meta: Any) -> Any:
        func = getattr(self.obj, hook)
        if self._meta_keyword.get(hook):
            return func(features, names, meta=meta)
        return func(features, names)

    def call_feedback(
        self, features: Any, names: list[str], reward: float, truth: Any, routing: Any
    ) -> Any:
        if self._routing_keyword:
            return self.obj.send_feedback(features, names, reward, truth, routing=routing)
        return self.obj.send_feedback(features, names, reward, truth)

    def optional(self, hook: str, default: Any) -> Any:
        """Result of a no-argument hook, or `default` when absent or not implemented."""
        if hook not in self.present:
            return default
        try:
            return getattr(self.obj, hook)()
        except SeldonNotImplementedError:
            return default

    def class_names(self, ncols: int) -> list[str]:
        """class_names() (or the deprecated attribute), else t:0..t:n-1."""
        if self._class_names_attribute:
            return list(self.obj.class_names)
        if "class_names" in self.present:
            try:
                return list(self.obj.class_names())
            except SeldonNotImplementedError:
                pass
        names = _DEFAULT_NAMES.get(ncols)
        if names is None:
            names = _DEFAULT_NAMES.setdefault(ncols, [f"t:{i}" for i in range(ncols)])
        return names

    def load(self) -> None:
        """Run the user's load() once; NotImplementedError means there is nothing to load."""
        if "load" in self.present:
            try:
                self.obj.load()
            except NotImplementedError:
                logger.info("load() is not implemented; continuing")
            self._inspect()
        self.ready.set()
