"""Post-processing of model outputs: classes, scores, labels, thresholds, targets.

Every function here is vectorized numpy (no Python loop per row) and works on
any output of any model: the classes (or features) are the **last axis**, and
every leading axis is a batch axis, so a ``(batch, classes)`` classifier
output, a ``(batch, steps, classes)`` sequence output and a single
``(classes,)`` row all work. For a multi-output model, pass the output you
mean: ``top_k(outs[1], 3)`` or ``top_k(outs["probs"], 3)``.

Ties are broken the same way everywhere: among equal scores the **lower class
index wins** (it comes first). A NaN score ranks above every number, as in
``numpy.argmax``, so a broken output is visible instead of silently ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple, Union

import numpy as np

from .errors import InputShapeError, InputValueError

ArrayLike = Union[np.ndarray, Sequence[Any], float]

__all__ = [
    "Denormalize",
    "TopK",
    "argmax",
    "decode_multilabel",
    "sample",
    "threshold",
    "top_k",
]


def _scores(probs: Any, name: str = "probs") -> np.ndarray:
    p = np.asarray(probs)
    if p.ndim == 0:
        raise InputShapeError(f"{name}: expected an array with a class axis, received a scalar")
    if p.dtype.kind not in "biuf":
        raise InputValueError(f"{name}: expected numbers, received an array of dtype {p.dtype}")
    return p


def _rank_order(p: np.ndarray) -> np.ndarray:
    """Class indices per row, best first; ties keep the lower index first."""
    key = -p.astype(np.float64, copy=False) if p.dtype.kind != "f" else -p
    if p.dtype.kind == "f":
        nan = np.isnan(p)
        if nan.any():
            key = np.where(nan, -np.inf, key)  # NaN ranks first, as numpy.argmax
    # A stable sort of the negated scores keeps equal scores in index order.
    return np.argsort(key, axis=-1, kind="stable")


def _label_array(labels: Sequence[Any], num_classes: int) -> np.ndarray:
    names = np.asarray([str(x) for x in labels], dtype=object)
    if names.ndim != 1 or len(names) != num_classes:
        raise InputShapeError(
            f"{len(names)} labels given for an output with {num_classes} classes "
            f"(last axis); they must match one to one"
        )
    return names


def argmax(probs: ArrayLike, axis: int = -1) -> np.ndarray:
    """Index of the best score along `axis` (default: the class axis).

    Ties: the lowest index. NaN counts as the best score (numpy's rule).

    Parameters
    ----------
    probs:
        Scores of any shape, e.g. ``(batch, classes)``.
    axis:
        The class axis.

    Returns
    -------
    numpy.ndarray of int64 with `axis` removed (a numpy integer for one row).

    >>> argmax(np.array([[0.1, 0.7, 0.2], [0.4, 0.2, 0.4]]))
    array([1, 0])
    """
    p = _scores(probs)
    return np.argmax(p, axis=axis)


class TopK(NamedTuple):
    """The k best classes per row, best first.

    ``indices`` and ``scores`` have the shape of the scores with the class axis
    cut to k; ``labels`` is the matching nested list of label names when
    labels were given, else None.
    """

    indices: np.ndarray
    scores: np.ndarray
    labels: list[Any] | None


def top_k(probs: ArrayLike, k: int = 5, labels: Sequence[Any] | None = None) -> TopK:
    """The `k` highest scores of each row (last axis), best first.

    Ties: the lower class index comes first. NaN ranks above every number.

    Parameters
    ----------
    probs:
        Scores, shape ``(..., classes)``: a batch, a sequence, or one row.
    k:
        How many classes to keep per row (1 to the number of classes).
    labels:
        One name per class, in output order (e.g. ``model.labels``).

    Returns
    -------
    TopK(indices, scores, labels)
        indices (int64) and scores of shape ``(..., k)``; labels as nested
        lists of the same shape, or None.

    Raises
    ------
    InputValueError
        `k` is out of range.
    InputShapeError
        The number of labels differs from the number of classes.

    >>> r = top_k(np.array([[0.1, 0.7, 0.2], [0.5, 0.25, 0.25]]), k=2, labels=["a", "b", "c"])
    >>> r.indices
    array([[1, 2],
           [0, 1]])
    >>> r.labels
    [['b', 'c'], ['a', 'b']]
    >>> top_k([0.2, 0.8], k=1).scores
    array([0.8])
    """
    p = _scores(probs)
    num_classes = p.shape[-1]
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= num_classes:
        raise InputValueError(
            f"top_k: k must be an integer between 1 and {num_classes} (the number of classes), "
            f"received {k!r}"
        )
    names = _label_array(labels, num_classes) if labels is not None else None
    order = _rank_order(p)[..., :k]
    scores = np.take_along_axis(p, order, axis=-1)
    return TopK(order, scores, names[order].tolist() if names is not None else None)


def threshold(probs: ArrayLike, threshold: ArrayLike = 0.5) -> np.ndarray:
    """Positive classes: ``probs > threshold``, elementwise (bool array, same shape).

    For a binary classifier with one sigmoid unit (``(batch, 1)``) this is the
    predicted class; for a multi-label classifier (one sigmoid per class) it
    marks every class present. `threshold` may be one number or one per class
    (broadcast along the last axis). A score exactly at the threshold is
    negative, as in Keras's ``binary_accuracy``; NaN is negative. For a model
    whose last layer outputs logits, use ``threshold=0.0``.

    Raises
    ------
    InputShapeError
        The thresholds do not broadcast against the scores.

    >>> threshold(np.array([[0.2], [0.5], [0.9]]))
    array([[False],
           [False],
           [ True]])
    >>> threshold(np.array([[0.6, 0.3, 0.8]]), [0.5, 0.2, 0.9])
    array([[ True,  True, False]])
    """
    p = _scores(probs)
    t = _thresholds(threshold, p.shape)
    return p > t


def _thresholds(value: ArrayLike, shape: tuple[int, ...]) -> np.ndarray:
    t = np.asarray(value, dtype=np.float64)
    if np.isnan(t).any():
        raise InputValueError("threshold: NaN is not a threshold")
    try:
        return np.broadcast_to(t, shape)
    except ValueError:
        raise InputShapeError(
            f"threshold: shape {t.shape} does not broadcast against scores of shape {shape} "
            "(give one number, or one per class)"
        ) from None


def decode_multilabel(
    probs: ArrayLike,
    labels: Sequence[Any] | None = None,
    threshold: ArrayLike = 0.5,
    with_scores: bool = False,
) -> list[Any]:
    """Per row, the classes whose score is above `threshold`, best first.

    Parameters
    ----------
    probs:
        Scores of a multi-label output (one sigmoid per class), ``(..., classes)``.
    labels:
        One name per class; without them the class indices are returned.
    threshold:
        One number or one per class; a score equal to it is negative.
    with_scores:
        Return ``(label, score)`` pairs instead of bare labels.

    Returns
    -------
    list
        One list per row (nested like the leading axes; a single list for a
        1-D input), ordered by descending score, ties by lower index.

    >>> p = np.array([[0.9, 0.1, 0.7], [0.2, 0.3, 0.1]])
    >>> decode_multilabel(p, ["cat", "dog", "sofa"])
    [['cat', 'sofa'], []]
    >>> decode_multilabel(p[0], threshold=[0.95, 0.5, 0.5], with_scores=True)
    [(2, 0.7)]
    """
    p = _scores(probs)
    num_classes = p.shape[-1]
    names = _label_array(labels, num_classes) if labels is not None else None
    t = _thresholds(threshold, p.shape)
    order = _rank_order(p)
    ranked = np.take_along_axis(p, order, axis=-1)
    keep = ranked > np.take_along_axis(t, order, axis=-1)
    rows = keep.reshape(-1, num_classes)
    counts = rows.sum(axis=1)
    chosen = order.reshape(-1, num_classes)[rows]  # row-major: row by row, best first
    values: Any = names[chosen] if names is not None else chosen
    values = values.tolist()
    if with_scores:
        values = list(zip(values, ranked.reshape(-1, num_classes)[rows].tolist()))
    # Cut the flat selection into rows (one slice per row, no per-element work).
    ends = np.cumsum(counts).tolist()
    starts = [0, *ends[:-1]]
    out: list[Any] = [values[a:b] for a, b in zip(starts, ends)]
    return out[0] if p.ndim == 1 else _nest(out, p.shape[:-1])


def _nest(flat: list[Any], dims: tuple[int, ...]) -> list[Any]:
    """Nest a flat list of rows into lists shaped like the leading axes `dims`."""
    if len(dims) <= 1:
        return flat
    step = int(np.prod(dims[1:]))
    return [_nest(flat[i * step : (i + 1) * step], dims[1:]) for i in range(dims[0])]


class Denormalize:
    """Map a regression model's normalized outputs back to target units.

    ``Denormalize(mean, std)(y) == y * std + mean``: the inverse of the
    standardization ``(target - mean) / std`` the model was trained on.
    ``Denormalize.from_min_max(lo, hi)`` inverts min-max scaling to [0, 1]
    (or to `feature_range`). `mean`/`std` (or `lo`/`hi`) are numbers or one
    value per output feature (broadcast along the last axis). Arithmetic is in
    float64 so that large offsets (prices, years) keep their digits; the
    result has numpy's promoted dtype (float64 for float32 outputs).
    :meth:`normalize` is the forward map. Instances pickle.

    >>> d = Denormalize(mean=[100.0, 5.0], std=[20.0, 0.5])
    >>> d(np.array([[0.0, 1.0], [1.5, -2.0]], dtype=np.float32))
    array([[100. ,   5.5],
           [130. ,   4. ]])
    >>> Denormalize.from_min_max(10.0, 30.0)(np.array([0.0, 0.25, 1.0]))
    array([10., 15., 30.])
    >>> d.normalize(np.array([[130.0, 4.0]]))
    array([[ 1.5, -2. ]])
    """

    __slots__ = ("offset", "scale")

    def __init__(self, mean: ArrayLike = 0.0, std: ArrayLike = 1.0) -> None:
        offset = np.asarray(mean, dtype=np.float64)
        scale = np.asarray(std, dtype=np.float64)
        for what, v in (("mean", offset), ("std", scale)):
            if v.ndim > 1:
                raise InputShapeError(
                    f"Denormalize: {what} must be a number or one value per feature, "
                    f"received shape {v.shape}"
                )
            if not np.all(np.isfinite(v)):
                raise InputValueError(f"Denormalize: {what} must be finite, received {v.tolist()}")
        try:
            np.broadcast_shapes(offset.shape, scale.shape)
        except ValueError:
            raise InputShapeError(
                f"Denormalize: mean has {offset.size} values and std {scale.size}; "
                "give the same number (one per feature) or a single number"
            ) from None
        self.offset = offset
        self.scale = scale

    @classmethod
    def from_min_max(
        cls,
        minimum: ArrayLike,
        maximum: ArrayLike,
        feature_range: tuple[float, float] = (0.0, 1.0),
    ) -> Denormalize:
        """Invert min-max scaling: the model outputs `feature_range` for [minimum, maximum].

        >>> Denormalize.from_min_max([0.0, -1.0], [10.0, 1.0], feature_range=(-1, 1))(
        ...     np.array([[-1.0, 0.5]]))
        array([[0. , 0.5]])
        """
        lo = np.asarray(minimum, dtype=np.float64)
        hi = np.asarray(maximum, dtype=np.float64)
        a, b = (float(v) for v in feature_range)
        if not b > a:
            raise InputValueError(
                f"Denormalize: feature_range must be increasing, received {feature_range}"
            )
        scale = (hi - lo) / (b - a)
        return cls(mean=lo - a * scale, std=scale)

    def __call__(self, y: ArrayLike) -> np.ndarray:
        """Denormalize `y`: ``y * std + mean`` (per feature on the last axis)."""
        arr = self._check(y, "Denormalize")
        return arr * self.scale + self.offset

    def normalize(self, target: ArrayLike) -> np.ndarray:
        """The forward map ``(target - mean) / std``, e.g. to compare with model outputs."""
        arr = self._check(target, "Denormalize.normalize")
        return (arr - self.offset) / self.scale

    def _check(self, value: ArrayLike, what: str) -> np.ndarray:
        arr = np.asarray(value)
        if arr.dtype.kind not in "biuf":
            raise InputValueError(
                f"{what}: expected numbers, received an array of dtype {arr.dtype}"
            )
        n = max(self.offset.size, self.scale.size) if (self.offset.ndim or self.scale.ndim) else 1
        if n != 1 and (arr.ndim == 0 or arr.shape[-1] != n):
            raise InputShapeError(
                f"{what}: {n} per-feature values, but the array has shape {arr.shape} "
                f"(the last axis must have {n})"
            )
        return arr

    def __getstate__(self) -> dict[str, np.ndarray]:
        return {"offset": self.offset, "scale": self.scale}

    def __setstate__(self, state: dict[str, np.ndarray]) -> None:
        self.offset = state["offset"]
        self.scale = state["scale"]

    def __repr__(self) -> str:
        return f"Denormalize(mean={self.offset.tolist()}, std={self.scale.tolist()})"


def sample(
    probs: ArrayLike,
    temperature: float = 1.0,
    rng: np.random.Generator | int | None = None,
) -> Any:
    """Draw one class per row from probabilities, for sequence generation.

    `probs` holds non-negative scores over the last axis (a softmax output):
    ``(classes,)`` gives an ``int``; ``(batch, classes)`` (the last step) or
    ``(batch, steps, classes)`` (every step) give an int64 array of the
    leading shape. Each row is renormalized first.

    `temperature` reshapes the distribution as ``p ** (1 / temperature)``
    (renormalized): below 1 it sharpens it, above 1 flattens it; 0 means
    greedy (the most likely class, the lower index on ties).

    `rng` is a ``numpy.random.Generator`` (or a seed for one); with a seeded
    generator the draws are reproducible. One uniform number is drawn per row
    in row-major order, so a row's class depends only on its probabilities
    and on that number.

    >>> rng = np.random.default_rng(0)
    >>> sample(np.array([0.1, 0.0, 0.9]), temperature=0.5, rng=rng)
    2
    """
    p = _scores(probs).astype(np.float64)
    t = float(temperature)
    if not np.isfinite(t) or t < 0:
        raise InputValueError(f"temperature must be a finite number >= 0, received {temperature!r}")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise InputValueError("probs: expected finite, non-negative scores")
    total = p.sum(axis=-1, keepdims=True)
    if np.any(total <= 0):
        raise InputValueError("probs: a row has no positive score to sample from")
    if t == 0:
        idx = np.argmax(p, axis=-1)
    else:
        # p ** (1/t) in the log domain, scaled by the row maximum so that small
        # temperatures neither overflow nor underflow to an all-zero row.
        with np.errstate(divide="ignore"):
            logp = np.log(p / total) / t
        w = np.exp(logp - logp.max(axis=-1, keepdims=True))
        cdf = np.cumsum(w, axis=-1)
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        u = gen.random(p.shape[:-1])[..., None] * cdf[..., -1:]
        idx = np.minimum((cdf <= u).sum(axis=-1), p.shape[-1] - 1)
        # A zero-weight class is never drawn: (cdf <= u) counts past it only
        # when u reaches the next positive weight.
    idx = np.asarray(idx, dtype=np.int64)
    return int(idx) if idx.ndim == 0 else idx
