"""The predict path of :class:`~tfjs_infer.Model`: input matching, batch
splitting (fixed or from the memory budget), the fast path for one
ready array, stateful models, labels, per-op profiling, and predict with
``outputs=`` through cached submodels."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, Union

import numpy as np

from . import _batching
from ._inputs import check_finite as _check_finite
from ._inputs import prepare_inputs
from ._model_base import ModelBase
from ._progress import Progress
from .errors import (
    DeviceError,
    InputShapeError,
    InputValueError,
    InvalidArgumentError,
    TfjsInferError,
)
from .inspect import names_arg, submodel
from .postprocess import top_k

ArrayLike = Union[np.ndarray, Sequence[Any]]
Inputs = Union[ArrayLike, Sequence[ArrayLike], Mapping[str, ArrayLike]]

# Submodels kept per model for predict(outputs=...): each holds its own
# packed weights (the file's arrays are shared), about the model's size.
_CACHE_SIZE = 4
_cache_lock = threading.Lock()


class Predicting(ModelBase):
    """The prediction methods of :class:`~tfjs_infer.Model`."""

    _memory_budget: int
    _rows_cache: dict[tuple[Any, ...], int]
    _fast_tail: tuple[int, ...] | None
    _fast_rows: int
    _fast_rank: int
    _fast_dtype: np.dtype
    _fast_bare: bool

    def _init_fast_path(self) -> None:
        """Precompute what predict's fast path compares (single input, known row shape)."""
        self._fast_tail = None
        self._fast_rows = 0  # predict's default rows per call on the fast path
        # Stateful models always take the slow path, which feeds their states.
        if (
            len(self._inputs) == 1
            and all(d is not None for d in self._inputs[0].shape[1:])
            and not self._states
        ):
            spec = self._inputs[0]
            self._fast_tail = tuple(spec.shape[1:])
            self._fast_rank = len(spec.shape)
            self._fast_dtype = np.dtype(spec.dtype)
            self._fast_rows = self._rows_for_budget([(1, *self._fast_tail)], self._memory_budget)
        self._fast_bare = self._output_keys is None and len(self._outputs) == 1
        # Warm up at load with batch-1 calls on zeros through predict, so the
        # first real call finds code, branch predictors and weights hot (a
        # second call where it is cheap: one does not train them all).
        if all(d is not None for t in self._inputs for d in t.shape[1:]):
            rows = int(self._states[0].shape[0]) if self._states else 1  # stateful: fixed batch
            zeros = [np.zeros((rows, *t.shape[1:]), t.dtype) for t in self._inputs]
            start = time.perf_counter()
            self.predict(zeros[0] if len(zeros) == 1 else zeros)
            if time.perf_counter() - start < 2e-3:
                self.predict(zeros[0] if len(zeros) == 1 else zeros)
            self.reset_states()  # stateful RNNs start from zero state

    def _run_stateful(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        """One core call that feeds the states and keeps their new values."""
        n = len(self._outputs)
        outs = self._core.run([*arrays, *self._state_values])
        self._state_values = [np.ascontiguousarray(v) for v in outs[n:]]
        return list(outs[:n])

    def _predict_stateful(
        self, arrays: list[np.ndarray], batch_size: int | None, progress: Progress | None = None
    ) -> list[np.ndarray]:
        fixed = int(self._states[0].shape[0])
        if batch_size is not None and int(batch_size) != fixed:
            raise InvalidArgumentError(
                f"this model has stateful RNN layers built for batches of {fixed} rows; "
                f"batch_size must be {fixed} (or None), received {batch_size}"
            )
        n = arrays[0].shape[0]
        if n % fixed:
            raise InputShapeError(
                f"this model has stateful RNN layers built for batches of {fixed} rows; "
                f"the input has {n} rows, which is not a multiple of {fixed}",
                name=self._inputs[0].name,
            )
        if n == 0:  # empty outputs, states untouched
            empty = self._core.run([*arrays, *(v[:0] for v in self._state_values)])
            return list(empty[: len(self._outputs)])
        parts = []
        with self._state_lock:
            for step, start in enumerate(range(0, n, fixed)):
                parts.append(self._run_stateful([a[start : start + fixed] for a in arrays]))
                if progress is not None:
                    progress.update(step + 1)
        return [np.concatenate([p[j] for p in parts]) for j in range(len(self._outputs))]

    # -- prediction -------------------------------------------------------------
    def predict(
        self,
        x: Inputs,
        batch_size: int | None = None,
        verbose: int | str = 0,
        outputs: str | Sequence[str] | None = None,
        *,
        memory_budget: int | str | None = None,
        check_finite: bool = False,
    ) -> Any:
        """Run the model on `x` in batches, like Keras/TF.js ``predict``.

        Parameters
        ----------
        x:
            One array (single-input models), a list in input order, or a dict
            by input name. float64 and integer arrays are cast as Keras would.
        batch_size:
            Rows per core call. Default (None): chosen from the model's
            memory plan so that one call's activations and outputs stay
            within `memory_budget` and, where that is faster, the caches
            (see :meth:`auto_batch_size`); fewer with a progress bar so it
            moves. Results never depend on it: every row's output is
            bitwise the same in any batch.
        verbose:
            0 silent (default); 1 (or ``"auto"``) a Keras-style progress bar on
            stderr when it is a terminal; 2 one line when done. The environment
            variable ``TFJS_INFER_PROGRESS=always`` draws the bar even when
            stderr is not a terminal, ``never`` silences it.
        outputs:
            Layer names whose outputs to return instead (``"outer/inner"``
            inside nested models, ``"name:i"`` for one of several outputs):
            a dict by the names asked (one name: its array). See
            :meth:`submodel`.
        memory_budget:
            Bytes (an int, or text such as ``"256M"``, ``"1G"``) for the
            default batch size; default :attr:`memory_budget`. Ignored when
            `batch_size` is given.
        check_finite:
            When True, an input holding NaN or +-inf (after the cast to the
            model's dtype) raises InputValueError naming the input and the
            first bad index, instead of propagating through the model as
            TF.js and Keras propagate it.

        Returns
        -------
        numpy.ndarray, or a list (dict) of them for multi-output models.

        Raises
        ------
        InputShapeError, InputDtypeError
            An input does not fit the model; the message names it and gives
            the expected and received shapes.
        InputValueError
            `batch_size`, `verbose` or `memory_budget` is not a valid value.
            ``check_finite=True`` and an input holds NaN or +-inf.
        """
        if outputs is not None:
            return predict_outputs(
                self,
                x,
                outputs,
                batch_size=batch_size,
                verbose=verbose,
                memory_budget=memory_budget,
            )
        budget = (
            self._memory_budget
            if memory_budget is None
            else _batching.parse_memory_budget(memory_budget)
        )
        if batch_size is not None:
            if (
                not isinstance(batch_size, (int, np.integer))
                or isinstance(batch_size, bool)
                or batch_size < 1
            ):
                raise InputValueError(
                    f"batch_size must be a positive integer or None, received {batch_size!r}"
                )
            bs = int(batch_size)
        elif memory_budget is None:
            bs = self._fast_rows  # 0 where the fast path does not apply
        elif self._fast_tail is not None:
            bs = self._rows_for_budget([(1, *self._fast_tail)], budget)
        else:
            bs = 0
        # Fast path: one array of the model's dtype and row shape in one batch
        # goes to the core as is (read in place, never copied).
        if type(x) is np.ndarray and self._fits_fast_path(x) and x.shape[0] <= bs and not verbose:
            if check_finite:
                _check_finite(self._inputs, [x])
            return self._core.run1(x) if self._fast_bare else self._structure(self._core.run([x]))
        arrays = self._prepare_inputs(x)
        if check_finite:
            _check_finite(self._inputs, arrays)
        n = arrays[0].shape[0]
        for info, a in zip(self._inputs, arrays):
            if a.shape[0] != n:
                raise InputShapeError(
                    f"input '{info.name}' has {a.shape[0]} rows but input "
                    f"'{self._inputs[0].name}' has {n}",
                    name=info.name,
                )
        starts: Sequence[int]
        if self._states:
            starts = range(0, n, int(self._states[0].shape[0]))
        elif batch_size is None:
            rows = self._default_rows(arrays, budget, verbose)
            bs, starts = _batching.split_calls(n, rows)
        else:
            starts = range(0, n, bs)
        progress = Progress(max(1, len(starts)), verbose) if verbose else None
        if self._states:
            outs = self._predict_stateful(arrays, batch_size, progress)
        elif n <= bs:
            outs = self._core.run(arrays)
        elif batch_size is None:
            outs = self._predict_equal_calls(arrays, starts, bs, progress)
        else:
            parts: list[list[np.ndarray]] = []
            for step, start in enumerate(starts):
                parts.append(self._core.run([a[start : start + bs] for a in arrays]))
                if progress is not None:
                    progress.update(step + 1)
            outs = [np.concatenate([p[j] for p in parts]) for j in range(len(self._outputs))]
        if progress is not None:
            progress.close()
        return self._structure(outs)

    def _predict_equal_calls(
        self, arrays: list[np.ndarray], starts: Sequence[int], rows: int, progress: Progress | None
    ) -> list[np.ndarray]:
        """Calls of `rows` rows each at `starts` (the last may overlap the one
        before: same values), the core writing straight into the outputs."""
        n = arrays[0].shape[0]
        types = self._core.output_types([[rows, *a.shape[1:]] for a in arrays])
        outs = [np.empty((n, *shape[1:]), np.dtype(dtype)) for shape, dtype in types]
        for step, start in enumerate(starts):
            stop = start + rows
            self._core.run_into([a[start:stop] for a in arrays], [o[start:stop] for o in outs])
            if progress is not None:
                progress.update(step + 1)
        return outs

    # -- automatic batch size ------------------------------------------------------
    @property
    def memory_budget(self) -> int:
        """Bytes that one core call of ``predict(x)`` may use for activations,
        scratch and outputs when no `batch_size` is given.

        Default: ``TFJS_INFER_MEMORY_BUDGET`` when the model was loaded (bytes,
        or text such as ``"256M"``), else 256 MiB. Settable, also with text.
        """
        return self._memory_budget

    @memory_budget.setter
    def memory_budget(self, value: int | str) -> None:
        self._memory_budget = _batching.parse_memory_budget(value)
        if self._fast_tail is not None:
            self._fast_rows = self._rows_for_budget([(1, *self._fast_tail)], self._memory_budget)

    def auto_batch_size(self, x: Inputs, memory_budget: int | str | None = None) -> int:
        """Rows per core call that ``predict(x)`` uses without `batch_size`
        (before capping by the rows of `x` or for a progress bar).

        Only the shapes of `x` beyond the batch axis matter (one row is
        enough). A call's memory is the core's planned workspace (activations
        and scratch) plus the call's outputs; the rows per call are the most
        that fit `memory_budget` (default :attr:`memory_budget`; at least 1),
        and no more than fit 4 MiB (the cores' caches) unless that is under
        32 rows: larger calls measure no faster. Stateful models: their
        fixed batch size.

        >>> import tfjs_infer as ti
        >>> model = ti.load_model(ti.examples.digits_path())
        >>> model.auto_batch_size(ti.examples.digits_samples()[0][:1], "1M") > 1000
        True
        """
        if self._states:
            return int(self._states[0].shape[0])
        budget = (
            self._memory_budget
            if memory_budget is None
            else _batching.parse_memory_budget(memory_budget)
        )
        return self._default_rows(self._prepare_inputs(x), budget, 0)

    def _default_rows(self, arrays: list[np.ndarray], budget: int, verbose: int | str) -> int:
        rows = self._rows_for_budget([a.shape for a in arrays], budget)
        return _batching.progress_rows(rows, arrays[0].shape[0]) if verbose else rows

    def _rows_for_budget(self, shapes: Sequence[tuple[int, ...]], budget: int) -> int:
        """The most rows per call whose workspace and outputs fit `budget`, for
        inputs shaped like `shapes` past the batch axis (cached)."""
        tails = tuple(tuple(s[1:]) for s in shapes)
        key = (tails, budget)
        rows = self._rows_cache.get(key)
        if rows is None:
            # The inputs' own shapes first: a shape error names what was received.
            outs = self._core.output_types([list(s) for s in shapes])
            out_row_bytes = sum(4 * math.prod(s[1:]) for s, _ in outs)

            def need(r: int) -> int:
                shapes = [[r, *t] for t in tails]
                return int(self._core.workspace_bytes(shapes)) + r * out_row_bytes

            rows = _batching.rows_per_call(need, budget)
            if len(self._rows_cache) >= 64:
                self._rows_cache.clear()
            self._rows_cache[key] = rows
        return rows

    def predict_labels(
        self,
        x: Inputs,
        k: int = 1,
        *,
        output: int | str | None = None,
        labels: Sequence[str] | None = None,
        batch_size: int | None = None,
        verbose: int | str = 0,
    ) -> list[Any]:
        """The `k` most likely class names of each row, best first.

        Parameters
        ----------
        x:
            The inputs, as for :meth:`predict`.
        k:
            1 gives one label per row; more gives a list of `k` labels per row.
        output:
            For multi-output models: the output's name or index (default: the
            one whose class count matches the labels).
        labels:
            Class names to use instead of :attr:`labels`. Without either, the
            class indices are returned as strings ("0", "1", ...).
        batch_size, verbose:
            As for :meth:`predict`.

        Returns
        -------
        list
            ``["cat", "dog", ...]`` for k=1, ``[["cat", "cow"], ...]`` for k>1.
            Use :func:`tfjs_infer.top_k` on :meth:`predict`'s output for scores.

        Ties between equal scores go to the lower class index.

        >>> import tfjs_infer as ti
        >>> model = ti.load_model(ti.examples.digits_path())
        >>> x, y = ti.examples.digits_samples()
        >>> model.predict_labels(x[:3]), y[:3].tolist()
        (['0', '7', '0'], [0, 7, 0])
        """
        j = self._output_index(output, labels)
        probs = self.predict(x, batch_size=batch_size, verbose=verbose)
        if isinstance(probs, dict):
            probs = list(probs.values())
        if isinstance(probs, list):
            probs = probs[j]
        names = labels if labels is not None else self.labels
        if names is None:
            names = [str(i) for i in range(probs.shape[-1])]
        best = top_k(probs, k=k, labels=names).labels
        assert best is not None
        return [row[0] for row in best] if k == 1 else best

    def _output_index(self, output: int | str | None, labels: Sequence[str] | None) -> int:
        outs = self._outputs
        if output is None:
            if len(outs) == 1:
                return 0
            names = labels if labels is not None else self.labels
            if names is not None:
                fits = [i for i, t in enumerate(outs) if t.shape and t.shape[-1] == len(names)]
                if len(fits) == 1:
                    return fits[0]
            raise InputShapeError(
                "the model has several outputs ("
                + ", ".join(t.name for t in outs)
                + "): choose one with output=<name or index>"
            )
        if isinstance(output, str):
            keys = self._output_keys or [t.name for t in outs]
            if output not in keys:
                raise InputShapeError(f"no output named '{output}'; the outputs are {keys}")
            return keys.index(output)
        if not -len(outs) <= int(output) < len(outs):
            raise InputShapeError(f"output index {output} is out of range for {len(outs)} outputs")
        return int(output) % len(outs)

    def predict_on_batch(self, x: Inputs) -> Any:
        """Run the model on `x` as one batch (one core call, no splitting).

        Same inputs and outputs as :meth:`predict`; also available as ``model(x)``.
        """
        if self._states:
            return self._structure(self._predict_stateful(self._prepare_inputs(x), None))
        if type(x) is np.ndarray and self._fits_fast_path(x):
            return self._core.run1(x) if self._fast_bare else self._structure(self._core.run([x]))
        return self._structure(self._core.run(self._prepare_inputs(x)))

    __call__ = predict_on_batch

    def profile(self, x: Inputs, rounds: int = 20) -> list[dict[str, Any]]:
        """Per-op timing of one batch: where the time of a call goes.

        Runs `x` as one batch `rounds` times (after one untimed call) and
        returns, per op of the compiled graph in execution order, a dict
        with ``name`` (the layer it computes; an op fused from several
        layers, such as a MobileNet block or a conv with its BatchNorm and
        activation, carries the name of its last layer), ``type`` (the op),
        ``us`` (median wall time in microseconds) and ``share`` (of the
        summed medians). The list is shorter than the model's layers where
        layers were fused.

        >>> rows = model.profile(x)  # doctest: +SKIP
        >>> max(rows, key=lambda r: r["us"])["name"]  # doctest: +SKIP
        'block_16_project'
        """
        if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
            raise InputValueError(f"rounds must be a positive int, received {rounds!r}")
        if self._states:
            raise TfjsInferError("profile() does not run stateful models (their states would move)")
        if self._options["device"] != "cpu":
            raise DeviceError(
                f"profile() times each op on the CPU engine; this model runs on "
                f"{self._options['device']}: load it with device='cpu' to profile it"
            )
        arrays = self._prepare_inputs(x)
        self._core.run(arrays)
        times = self._core.profile(arrays, rounds)
        total = sum(times) or 1.0
        return [
            {"name": name, "type": op_type, "us": us, "share": us / total}
            for (name, op_type, _, _), us in zip(self._core.ops(), times)
        ]

    def _fits_fast_path(self, x: np.ndarray) -> bool:
        """Whether `x` can go to the core unchanged (see _init_fast_path)."""
        return (
            self._fast_tail is not None
            and x.dtype is self._fast_dtype
            and x.ndim == self._fast_rank
            and x.shape[1:] == self._fast_tail
            and x.flags.c_contiguous
            and x.flags.aligned
        )

    def _structure(self, outs: list[np.ndarray]) -> Any:
        if self._output_keys is not None:
            return dict(zip(self._output_keys, outs))
        return outs[0] if len(outs) == 1 else list(outs)

    def _prepare_inputs(self, x: Inputs) -> list[np.ndarray]:
        """Match inputs to the model's, cast dtypes and validate shapes."""
        return prepare_inputs(self._inputs, x, self._semantics.chosen != "tfjs")


def predict_outputs(model: Predicting, x: Any, outputs: str | Sequence[str], **options: Any) -> Any:
    """``model.predict(x, outputs=..., **options)``: through a cached
    submodel. A stateful model's states are used and updated as by a plain
    predict."""
    names = names_arg(outputs, "outputs")
    key = names if isinstance(names, str) else tuple(names)
    sub = _cached_submodel(model, key)
    if sub.num_threads != model.num_threads:  # set on the model after caching
        sub.num_threads = model.num_threads
    if not model.stateful:
        return sub.predict(x, **options)
    with model._state_lock:
        sub._state_values = list(model._state_values)
        try:
            return sub.predict(x, **options)
        finally:
            model._state_values = list(sub._state_values)


def _cached_submodel(model: Predicting, key: str | tuple[str, ...]) -> Predicting:
    with _cache_lock:
        cache = model.__dict__.setdefault("_submodel_cache", OrderedDict())
        sub = cache.get(key)
        if sub is not None:
            cache.move_to_end(key)
            return sub
    sub = submodel(model, key if isinstance(key, str) else list(key))
    with _cache_lock:
        cache[key] = sub
        while len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)
    return sub
