"""A router that picks between its children epsilon-greedily, learning from feedback rewards."""

from __future__ import annotations

import random
import threading
from typing import Any


class EpsilonGreedyRouter:
    """Sends each request to the child with the best mean reward, or a random one with
    probability `epsilon`; `send_feedback` credits the reward to the child that served it.

    State lives in the process: with several REST workers each learns on its own.
    """

    def __init__(self, n_branches: int = 2, epsilon: float = 0.1, seed: int | None = None) -> None:
        if n_branches < 1 or not 0.0 <= epsilon <= 1.0:
            raise ValueError("need n_branches >= 1 and 0 <= epsilon <= 1")
        self.epsilon = epsilon
        self.rewards = [0.0] * n_branches
        self.counts = [0] * n_branches
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def route(self, X: Any, features_names: list[str], meta: dict[str, Any] | None = None) -> int:
        with self._lock:
            if self._random.random() < self.epsilon:
                return self._random.randrange(len(self.counts))
            return max(range(len(self.counts)), key=self._mean_reward)

    def send_feedback(
        self,
        features: Any,
        feature_names: list[str],
        reward: float,
        truth: Any,
        routing: Any = None,
    ) -> list[Any]:
        if routing is None or not 0 <= routing < len(self.counts):
            return []  # feedback that did not pass through this router teaches nothing
        with self._lock:
            self.counts[routing] += 1
            self.rewards[routing] += reward
        return []

    def tags(self) -> dict[str, Any]:
        with self._lock:
            return {"branch_mean_rewards": [self._mean_reward(b) for b in range(len(self.counts))]}

    def _mean_reward(self, branch: int) -> float:
        # An untried branch looks perfect, so each child is tried before exploitation settles.
        return self.rewards[branch] / self.counts[branch] if self.counts[branch] else 1.0
