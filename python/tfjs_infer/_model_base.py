"""The state shared by the parts of :class:`~tfjs_infer.Model`: what
model.py's ``__init__`` sets, declared once so that the predict path
(_predict.py), the presentation (_presentation.py) and the inspection
(inspect.py) can each be read and type-checked on their own, plus what
several of them read (threads, instruction set, labels, states).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from . import _core
from ._arguments import check_num_threads
from .frontend.lower import StateInfo, TensorInfo
from .frontend.registry import LayerRecord
from .frontend.semantics import Semantics
from .io import ModelSpec


class ModelBase:
    """The attributes of a loaded Model (set by ``Model.__init__``)."""

    _spec: ModelSpec
    _options: dict[str, Any]  # the load's options, to make the model again
    _semantics: Semantics
    _inputs: list[TensorInfo]
    _outputs: list[TensorInfo]
    _output_keys: list[str] | None  # a dict of outputs by these names, or None
    _layers: list[dict[str, Any]]  # per layer: name, class, shapes, params
    _records: dict[str, LayerRecord]
    _alias_of: dict[str, str]
    _core: _core.CompiledModel
    _states: list[StateInfo]  # stateful RNN states, carried between calls
    _state_values: list[np.ndarray]
    _state_lock: threading.Lock

    @property
    def num_threads(self) -> int:
        """Threads the core uses per predict call."""
        return int(self._core.num_threads)

    @num_threads.setter
    def num_threads(self, n: int | None) -> None:
        count = check_num_threads(n)
        self._core.num_threads = count or 0
        self._options["num_threads"] = count

    @property
    def isa(self) -> str:
        """The instruction set the kernels of this model use."""
        return str(self._core.isa)

    @property
    def labels(self) -> list[str] | None:
        """Class names in output order, or None.

        From, in this order: ``userDefinedMetadata`` in model.json (``labels``),
        Teachable Machine's ``metadata.json`` beside the model (``labels``, or
        ``wordLabels`` for audio models), ``labels.txt`` beside the model
        (``"<index> <label>"`` lines, Teachable Machine's Keras export).
        """
        return None if self._spec.labels is None else list(self._spec.labels)

    @property
    def stateful(self) -> bool:
        """True when the model has stateful RNN layers (see :meth:`reset_states`)."""
        return bool(self._states)

    def reset_states(self) -> None:
        """Zero the states of the model's stateful RNN layers (no-op without any).

        Stateful layers carry their final states into the next batch and the
        next ``predict`` call, as TF.js's ``resetStates()`` and Keras's
        ``reset_states()`` define; such a model runs on batches of exactly
        the batch size its input declares.
        """
        with self._state_lock:
            self._state_values = [np.zeros(s.shape, np.float32) for s in self._states]
