"""Models for the Open Inference Protocol (V2) end-to-end tests.

Identity answers what it was given and says, in its response tags, what it received: so a test
sees both the round trip and the model's view of the request. With `block_load` its load() waits
until the test creates the file `release` in the marker directory.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from typing import Any

import numpy as np

from seldon_server import SeldonResponse

BLOCK_LIMIT_SECONDS = 60.0  # a blocked load gives up if the test never releases it


def describe(value: Any) -> str:
    """What a hook received, e.g. `ndarray int64 [2, 3]`, `list[str]`, or a dict of those."""
    if isinstance(value, np.ndarray):
        kinds = {type(item).__name__ for item in value.ravel()} if value.dtype == object else ()
        return " ".join([f"ndarray {value.dtype} {list(value.shape)}", *sorted(kinds)])
    if isinstance(value, dict):
        return json.dumps({key: describe(item) for key, item in value.items()})
    if isinstance(value, list):
        return f"list[{'|'.join(sorted({type(item).__name__ for item in value}))}]"
    return type(value).__name__


class Identity:
    def __init__(self, marker_dir: str = "", block_load: bool = False) -> None:
        self.marker_dir = marker_dir
        self.block_load = block_load

    def load(self) -> None:
        if not self.block_load:
            return
        open(os.path.join(self.marker_dir, f"load-{os.getpid()}-{uuid.uuid4().hex}"), "w").close()
        release = os.path.join(self.marker_dir, "release")
        deadline = time.monotonic() + BLOCK_LIMIT_SECONDS
        while not os.path.exists(release):
            if time.monotonic() > deadline:
                raise TimeoutError("the test never released load()")
            time.sleep(0.005)

    def predict(self, X: Any, names: list[str], meta: dict[str, Any] | None = None) -> Any:
        seen = (meta or {}).get("tags", {})
        tags = {"received": describe(X), "request_tags": json.dumps(seen, sort_keys=True)}
        return SeldonResponse(X, tags=tags)

    def tags(self) -> dict[str, Any]:
        return {"model": "identity"}


class Declared(Identity):
    """Identity with V2 tensor specs and a version in its metadata."""

    def init_metadata(self) -> dict[str, Any]:
        return {
            "versions": ["1"],
            "platform": "seldon-e2e",
            "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 3]}],
            "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 3]}],
        }


class Scale:
    """Multiplies a numeric array by `factor`; tags give its row count and the result's sum."""

    def __init__(self, marker_dir: str = "", factor: int = 3) -> None:
        self.factor = factor

    def predict(self, X: Any, names: list[str], meta: dict[str, Any] | None = None) -> Any:
        result = np.asarray(X) * self.factor
        return SeldonResponse(result, tags={"rows": len(result), "total": result.sum().item()})
