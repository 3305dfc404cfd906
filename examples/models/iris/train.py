"""Train the Iris classifier (multinomial logistic regression, numpy only) and write weights.npz."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
SPECIES = ("setosa", "versicolor", "virginica")


def read_dataset(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Features (n, 4) in centimetres and integer labels (n,) indexing SPECIES."""
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    features = np.array([[float(row[name]) for name in FEATURES] for row in rows])
    labels = np.array([SPECIES.index(row["species"]) for row in rows])
    return features, labels


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def fit(
    features: np.ndarray,
    labels: np.ndarray,
    *,
    epochs: int = 3000,
    rate: float = 0.5,
    l2: float = 1e-3,
) -> tuple[np.ndarray, np.ndarray]:
    """Full-batch gradient descent on the mean cross-entropy; deterministic (zero start)."""
    one_hot = np.eye(len(SPECIES))[labels]
    weights = np.zeros((features.shape[1], len(SPECIES)))
    bias = np.zeros(len(SPECIES))
    for _ in range(epochs):
        error = (softmax(features @ weights + bias) - one_hot) / len(features)
        weights -= rate * (features.T @ error + l2 * weights)
        bias -= rate * error.sum(axis=0)
    return weights, bias


def accuracy(
    features: np.ndarray, labels: np.ndarray, weights: np.ndarray, bias: np.ndarray
) -> float:
    return float(np.mean(np.argmax(features @ weights + bias, axis=1) == labels))


def main() -> None:
    features, labels = read_dataset(HERE / "iris.csv")
    mean, scale = features.mean(axis=0), features.std(axis=0)
    standard = (features - mean) / scale
    held_out = np.arange(len(labels)) % 5 == 0  # every fifth row, so each species is represented
    weights, bias = fit(standard[~held_out], labels[~held_out])
    print(f"held-out accuracy: {accuracy(standard[held_out], labels[held_out], weights, bias):.3f}")
    weights, bias = fit(standard, labels)
    print(f"training accuracy (all rows): {accuracy(standard, labels, weights, bias):.3f}")
    np.savez(
        HERE / "weights.npz",
        mean=mean,
        scale=scale,
        weights=weights,
        bias=bias,
        classes=np.array(SPECIES),
        features=np.array(FEATURES),
    )
    print(f"wrote {HERE / 'weights.npz'}")


if __name__ == "__main__":
    main()
