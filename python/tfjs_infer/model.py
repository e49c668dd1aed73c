"""Model: a loaded, compiled model. Its parts live beside it: the predict
path in _predict.py, the description and summary in _presentation.py, the
layer table, weights and submodels in inspect.py, the shared state in
_model_base.py; loading from files in _loading.py."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _batching, _core
from ._arguments import check_num_threads
from ._device import core_device_arguments, device_arguments
from ._precision import PrecisionMixin, check_precision, warn_if_fallback
from ._predict import Inputs, Predicting
from ._presentation import Presenting
from ._sizes import check_declared_sizes
from ._version import __version__
from .errors import InvalidModelError
from .frontend.registry import fmt_shape
from .frontend.semantics import lower_with_semantics
from .inspect import Inspectable
from .io import ModelSpec

_PICKLE_FORMAT = 1


class Model(Predicting, Presenting, Inspectable, PrecisionMixin):
    """A compiled model: call :meth:`predict` with numpy arrays.

    Immutable after loading: many threads may call :meth:`predict` on one
    Model at once (the core releases the GIL and gives each call its own
    workspace). A Model pickles with its weights (for Dask, Ray, Spark
    workers); unpickling recompiles it for the receiving machine's CPU.

    Models with stateful RNN layers are the exception to immutability: they
    carry their states from batch to batch and from call to call (as TF.js
    and Keras do) until :meth:`reset_states`. Their ``predict`` calls are
    serialized by a lock, in whatever order the threads arrive.
    """

    def __init__(
        self,
        spec: ModelSpec,
        *,
        num_threads: int | None = None,
        isa: str | None = None,
        strict: bool = True,
        outputs: str | Sequence[str] | None = None,
        inputs: Sequence[str] | None = None,
        semantics: str = "auto",
        precision: str = "fp32",
        device: str = "cpu",
        allow_tf32: bool = False,
        cublas: bool = False,
        _quiet: bool = False,
    ) -> None:
        self._spec = spec
        num_threads = check_num_threads(num_threads)
        device_options = device_arguments(device, allow_tf32, cublas)
        # Models made again from these options (unpickled, submodels) do not
        # repeat the load's semantics warning: "_quiet".
        self._options = {
            "num_threads": num_threads,
            "isa": isa,
            "strict": strict,
            "semantics": semantics,
            "precision": check_precision(precision),
            **device_options,
            "_quiet": True,
        }
        if outputs is not None or inputs is not None:  # a submodel (inspect.py)
            self._options.update(outputs=outputs, inputs=inputs)
        lowered, self._semantics = lower_with_semantics(
            spec, semantics, strict, quiet=_quiet, outputs=outputs, inputs=inputs
        )
        check_declared_sizes(lowered, spec.topology, spec.source)  # before the warm-up allocates
        self._inputs = lowered.inputs
        self._outputs = lowered.outputs
        self._output_keys = lowered.output_keys
        self._layers = lowered.layers
        self._records, self._alias_of = lowered.records, lowered.alias_of
        self._core = _core.CompiledModel(
            lowered.graph,
            isa=isa or "",
            num_threads=num_threads or 0,
            consume=True,
            precision=precision,
            **core_device_arguments(device_options),
        )
        warn_if_fallback(precision, self._core)
        self._states = lowered.states
        self._memory_budget = _batching.budget_from_env()
        self._rows_cache: dict[tuple[Any, ...], int] = {}
        self._state_values: list[np.ndarray] = []
        self._state_lock = threading.Lock()
        self.reset_states()
        self._check_labels()
        self._init_fast_path()

    def _check_labels(self) -> None:
        labels = self._spec.labels
        if not labels or "outputs" in self._options:  # a feature extractor has no classes
            return
        sizes = [t.shape[-1] for t in self._outputs if t.shape]
        if len(labels) not in sizes and any(d is not None for d in sizes):
            warnings.warn(
                f"{self.source}: {len(labels)} labels were found but no output has "
                f"{len(labels)} classes (outputs: "
                + ", ".join(f"{t.name} {fmt_shape(t.shape)}" for t in self._outputs)
                + ")",
                stacklevel=3,
            )

    # -- pickling ---------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        # The spec is pure data (topology, weight arrays, semantics, metadata):
        # the receiving side needs no file. Paths stay behind.
        spec = self._spec
        data = {f: getattr(spec, f) for f in spec.__dataclass_fields__ if f != "folder"}
        with self._state_lock:
            states = [v.copy() for v in self._state_values]
        return {
            "format": _PICKLE_FORMAT,
            "spec": data,
            "options": dict(self._options),
            "states": states,
            "memory_budget": self._memory_budget,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        if state.get("format") != _PICKLE_FORMAT:
            raise InvalidModelError(
                f"this pickled Model has format {state.get('format')!r}; this tfjs_infer "
                f"({__version__}) reads format {_PICKLE_FORMAT}"
            )
        options = dict(state["options"])
        # The load already warned about the semantics; workers stay quiet.
        Model.__init__(self, ModelSpec(**state["spec"]), **options)
        saved = state.get("states") or []
        if "memory_budget" in state:
            self.memory_budget = state["memory_budget"]
        if len(saved) == len(self._state_values) and all(
            a.shape == b.shape for a, b in zip(saved, self._state_values)
        ):
            self._state_values = [np.ascontiguousarray(a, dtype=np.float32) for a in saved]


__all__ = ["Inputs", "Model"]
