"""A combiner that averages its children's outputs element-wise."""

from __future__ import annotations

from typing import Any

import numpy as np

from seldon_server import SeldonMicroserviceException


class MeanCombiner:
    """Takes one array per child (all the same shape) and returns their element-wise mean."""

    def aggregate(self, features_list: list[Any], feature_names_list: list[list[str]]) -> Any:
        arrays = [_as_floats(features) for features in features_list]
        shapes = {array.shape for array in arrays}
        if len(shapes) != 1:
            raise SeldonMicroserviceException(
                f"children returned different shapes: {sorted(shapes)}", status_code=400
            )
        return np.mean(np.stack(arrays), axis=0)


def _as_floats(values: Any) -> np.ndarray:
    """The request payload as floats; anything else is the client's mistake (HTTP 400)."""
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SeldonMicroserviceException(f"expected numbers: {exc}", status_code=400) from exc
