"""A combiner that averages its children's outputs element-wise."""

from __future__ import annotations

from typing import Any

import numpy as np


class MeanCombiner:
    """Takes one array per child (all the same shape) and returns their element-wise mean."""

    def aggregate(self, features_list: list[Any], feature_names_list: list[list[str]]) -> Any:
        arrays = [np.asarray(features, dtype=np.float64) for features in features_list]
        shapes = {array.shape for array in arrays}
        if len(shapes) != 1:
            raise ValueError(f"children returned different shapes: {sorted(shapes)}")
        return np.mean(np.stack(arrays), axis=0)
