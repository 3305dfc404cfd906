"""seldon-server: a Seldon Core v1 compatible model server and batch processor."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = [
    "SeldonComponent",
    "SeldonMicroserviceException",
    "SeldonNotImplementedError",
    "SeldonResponse",
    "__version__",
    "create_counter",
    "create_gauge",
    "create_timer",
]

# Resolved lazily so `import seldon_server.batch` (and `seldon_server.proto`) stay light.
_EXPORTS = {
    "SeldonComponent": "seldon_server.model.component",
    "SeldonResponse": "seldon_server.model.component",
    "SeldonMicroserviceException": "seldon_server.errors",
    "SeldonNotImplementedError": "seldon_server.errors",
    "create_counter": "seldon_server.custom_metrics",
    "create_gauge": "seldon_server.custom_metrics",
    "create_timer": "seldon_server.custom_metrics",
}


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'seldon_server' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module_name), name)
