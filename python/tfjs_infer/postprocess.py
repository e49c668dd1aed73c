"""Post-processing of model outputs (vectorized numpy)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np


def argmax(probs: np.ndarray, axis: int = -1) -> np.ndarray:
    """Index of the largest score along `axis` (ties: the lowest index).

    >>> argmax(np.array([[0.1, 0.7, 0.2]]))
    array([1])
    """
    return np.argmax(np.asarray(probs), axis=axis)


class TopK(NamedTuple):
    """The k best classes per row: indices, scores, and labels when given."""

    indices: np.ndarray
    scores: np.ndarray
    labels: list[list[str]] | None


def top_k(probs: np.ndarray, k: int = 5, labels: Sequence[str] | None = None) -> TopK:
    """The `k` highest scores of each row, best first (ties: the lower index first).

    >>> r = top_k(np.array([[0.1, 0.7, 0.2]]), k=2, labels=["a", "b", "c"])
    >>> r.indices.tolist(), r.labels
    ([[1, 2]], [['b', 'c']])
    """
    p = np.asarray(probs)
    if p.ndim == 1:
        p = p[None, :]
    if not 1 <= k <= p.shape[-1]:
        raise ValueError(f"k must be between 1 and {p.shape[-1]}, received {k}")
    # Stable sort of negated scores keeps the lower index first among ties.
    order = np.argsort(-p, axis=-1, kind="stable")[..., :k]
    scores = np.take_along_axis(p, order, axis=-1)
    names = None
    if labels is not None:
        if len(labels) != p.shape[-1]:
            raise ValueError(f"{len(labels)} labels given for {p.shape[-1]} classes")
        names = [[str(labels[i]) for i in row] for row in order.reshape(-1, k)]
    return TopK(order, scores, names)
