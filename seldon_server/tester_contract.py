"""Reading a tester `contract.json` and generating random request batches from its features."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

FeatureType = Literal["continuous", "categorical"]
DataType = Literal["FLOAT", "INT"]
FEATURE_TYPES: tuple[FeatureType, ...] = ("continuous", "categorical")
DATA_TYPES: tuple[DataType, ...] = ("FLOAT", "INT")
DECIMALS = 3


class ContractError(Exception):
    """The contract cannot be read or describes something the tester cannot generate."""


@dataclass(frozen=True, slots=True)
class Feature:
    """One column group of the request: a continuous range or a set of categorical values."""

    name: str
    ftype: FeatureType
    dtype: DataType = "FLOAT"
    low: float = -math.inf
    high: float = math.inf
    values: tuple[Any, ...] = ()
    shape: tuple[int, ...] = (1,)

    def generate(self, rows: int, rng: np.random.Generator) -> np.ndarray:
        """A (rows, *shape) block: float64 for continuous features, object for categorical."""
        size = (rows, *self.shape)
        if self.ftype == "categorical":
            choices = np.empty(len(self.values), dtype=object)
            choices[:] = self.values
            return choices[rng.integers(len(self.values), size=size)]
        block = np.around(_continuous(self.low, self.high, size, rng), DECIMALS)
        # INT features are whole numbers but stay floats, as the original tester sends them.
        return np.round(block) if self.dtype == "INT" else block


@dataclass(frozen=True, slots=True)
class Contract:
    """The unfolded features (after `repeat`) and target names; targets are not generated."""

    features: tuple[Feature, ...]
    targets: tuple[str, ...] = ()

    @property
    def feature_names(self) -> list[str]:
        return [feature.name for feature in self.features]

    def batch(self, rows: int, rng: np.random.Generator) -> np.ndarray:
        """`rows` random rows; an object array as soon as one feature is categorical."""
        if not self.features:
            raise ContractError("the contract has no features to generate")
        blocks = [feature.generate(rows, rng) for feature in self.features]
        if any(feature.ftype == "categorical" for feature in self.features):
            blocks = [block.astype(object) for block in blocks]
        try:
            return np.concatenate(blocks, axis=1)
        except ValueError as exc:
            shapes = ", ".join(f"{f.name}: {list(f.shape)}" for f in self.features)
            raise ContractError(f"feature shapes cannot be joined column-wise ({shapes})") from exc


def _continuous(
    low: float, high: float, size: tuple[int, ...], rng: np.random.Generator
) -> np.ndarray:
    """Uniform in a finite range, a lognormal offset from a single finite end, else N(0, 1)."""
    if math.isinf(low) and math.isinf(high):
        return rng.standard_normal(size)
    if math.isinf(low):
        return high - rng.lognormal(size=size)
    if math.isinf(high):
        return low + rng.lognormal(size=size)
    return rng.uniform(low, high, size)


def load_contract(path: str | Path) -> Contract:
    """Read and check a contract file."""
    try:
        document = json.loads(Path(path).read_text())
    except OSError as exc:
        raise ContractError(f"cannot read contract {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise ContractError(f"contract {path} is not valid JSON: {exc}") from exc
    return parse_contract(document)


def parse_contract(document: Any) -> Contract:
    """`{"features": [...], "targets": [...]}` -> Contract, with `repeat` unfolded."""
    if not isinstance(document, dict):
        raise ContractError("a contract is a JSON object with a 'features' list")
    features: list[Feature] = []
    for entry in _entries(document, "features"):
        feature = _feature(entry)
        features.extend(replace(feature, name=name) for name in _feature_names(feature.name, entry))
    targets = tuple(
        name
        for entry in _entries(document, "targets")
        for name in _target_names(_name(entry), entry)
    )
    return Contract(tuple(features), targets)


def _entries(document: dict[str, Any], key: str) -> list[dict[str, Any]]:
    entries = document.get(key, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ContractError(f"'{key}' must be a list of objects")
    return entries


def _name(entry: dict[str, Any]) -> str:
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise ContractError(f"every feature and target needs a 'name': {entry}")
    return name


def _repeat(entry: dict[str, Any]) -> int | None:
    repeat = entry.get("repeat")
    if repeat is None:
        return None
    if not isinstance(repeat, int) or isinstance(repeat, bool) or repeat < 1:
        raise ContractError(f"'{_name(entry)}': repeat must be a positive integer, got {repeat!r}")
    return repeat


def _feature_names(name: str, entry: dict[str, Any]) -> list[str]:
    """A repeated feature `x` becomes `x1`..`xn` (1-based)."""
    repeat = _repeat(entry)
    return [name] if repeat is None else [f"{name}{i}" for i in range(1, repeat + 1)]


def _target_names(name: str, entry: dict[str, Any]) -> list[str]:
    """A repeated target `y` becomes `y:0`..`y:{n-1}`."""
    repeat = _repeat(entry)
    return [name] if repeat is None else [f"{name}:{i}" for i in range(repeat)]


def _feature(entry: dict[str, Any]) -> Feature:
    name = _name(entry)
    ftype = entry.get("ftype")
    shape = _shape(name, entry.get("shape", [1]))
    if ftype == "categorical":
        values = entry.get("values")
        if not isinstance(values, list) or not values:
            raise ContractError(f"categorical feature '{name}' needs a non-empty 'values' list")
        return Feature(name, "categorical", values=tuple(values), shape=shape)
    if ftype != "continuous":
        raise ContractError(
            f"feature '{name}' has unknown ftype {ftype!r}; expected one of {list(FEATURE_TYPES)}"
        )
    dtype = entry.get("dtype")
    if dtype not in DATA_TYPES:
        raise ContractError(
            f"feature '{name}' has unknown dtype {dtype!r}; expected one of {list(DATA_TYPES)}"
        )
    low, high = _range(name, entry.get("range", ["inf", "inf"]))
    return Feature(name, "continuous", dtype, low, high, shape=shape)


def _range(name: str, bounds: Any) -> tuple[float, float]:
    """`[min, max]`; the string "inf" at either end means unbounded on that side."""
    if not isinstance(bounds, Sequence) or isinstance(bounds, str) or len(bounds) != 2:
        raise ContractError(f"feature '{name}': range must be [min, max], got {bounds!r}")
    low, high = (_bound(name, bound, sign) for bound, sign in zip(bounds, (-1, 1), strict=True))
    if low > high:
        raise ContractError(f"feature '{name}': range minimum {low} is above its maximum {high}")
    return low, high


def _bound(name: str, bound: Any, sign: int) -> float:
    if isinstance(bound, str) and bound.strip().lower().lstrip("+-") in ("inf", "infinity"):
        return sign * math.inf
    if isinstance(bound, int | float) and not isinstance(bound, bool):
        return sign * math.inf if math.isinf(bound) else float(bound)
    raise ContractError(f"feature '{name}': range ends are numbers or \"inf\", got {bound!r}")


def _shape(name: str, shape: Any) -> tuple[int, ...]:
    if (
        not isinstance(shape, list)
        or not shape
        or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape)
    ):
        raise ContractError(f"feature '{name}': shape must be a list of positive integers")
    return tuple(shape)
