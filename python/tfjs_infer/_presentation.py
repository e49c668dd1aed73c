"""The presentation of :class:`~tfjs_infer.Model`: its inputs and outputs,
labels, metadata, name, semantics, the summary table and the repr (the
layer table and weights: inspect.py)."""

from __future__ import annotations

from typing import Any, Callable

from ._device import layer_devices
from ._model_base import ModelBase
from ._precision import precision_line
from ._summary import summary_text
from .frontend.lower import TensorInfo
from .frontend.registry import fmt_shape
from .frontend.semantics import Semantics


class Presenting(ModelBase):
    """The description properties and summary of :class:`~tfjs_infer.Model`."""

    @property
    def inputs(self) -> list[TensorInfo]:
        """The model inputs: name, shape (None = batch or any size), dtype."""
        return list(self._inputs)

    @property
    def outputs(self) -> list[TensorInfo]:
        """The model outputs: name, shape (None = batch or any size), dtype."""
        return list(self._outputs)

    @property
    def device(self) -> str:
        """Where the model runs: ``"cpu"`` or ``"cuda:N"`` (``load_model(device=...)``).
        On a device, ops it lacks run on the CPU (:meth:`summary` shows which)."""
        return str(self._options["device"])

    @property
    def metadata(self) -> dict[str, Any]:
        """The model's metadata: metadata.json beside it (Teachable Machine:
        ``imageSize``, ``grayscale``, ``packageName``...), and model.json's
        ``userDefinedMetadata`` under the key ``"user_defined"``.
        """
        meta = dict(self._spec.metadata)
        if self._spec.user_defined_metadata:
            meta.setdefault("user_defined", self._spec.user_defined_metadata)
        return meta

    @property
    def source(self) -> str:
        """Where the model was loaded from (a path or URL; ``<bytes>`` for memory)."""
        return self._spec.source

    @property
    def semantics(self) -> Semantics:
        """Whose numbers this model gives (``.chosen``: "tfjs", "keras2" or
        "keras3"), what was asked for, why, and the layers where TF.js 4.22 and
        Keras differ on this file (see ``load_model(semantics=...)``)."""
        return self._semantics

    @property
    def name(self) -> str:
        """The model's name from its config (``sequential_1``, ...)."""
        config = self._spec.topology.get("config")
        name = config.get("name") if isinstance(config, dict) else None
        return str(name) if name else "model"

    def summary(
        self, print_fn: Callable[[str], Any] | None = print, line_length: int | None = None
    ) -> str:
        """A Keras-style table of the layers: name (class), output shape, parameters.

        Layers of nested models are indented under their model. The footer
        gives the total, trainable and non-trainable parameter counts (with
        their float32 size) and the model's inputs and outputs.

        Parameters
        ----------
        print_fn:
            Called with the whole text (default ``print``); None to only return it.
        line_length:
            Total width of the table (default: as wide as the content needs).

        Returns
        -------
        str
            The summary text.
        """
        devices = None
        if self.device != "cpu":  # a "Device" column: where each layer runs
            devices = layer_devices(self._layers, self._core.ops(), self._core.placement)
        text = summary_text(
            self.name,
            self._layers,
            self._inputs,
            self._outputs,
            self._semantics,
            self.labels,
            line_length,
            precision_line(self._core),
            devices=devices,
            device_name=str(self._core.device),
        )
        if print_fn is not None:
            print_fn(text)
        return text

    def count_params(self) -> int:
        """The number of parameters (weights) of the model."""
        return sum(layer["params"] for layer in self._layers)

    def __repr__(self) -> str:
        ins = ", ".join(f"{t.name}{fmt_shape(t.shape)}" for t in self._inputs)
        outs = ", ".join(f"{t.name}{fmt_shape(t.shape)}" for t in self._outputs)
        where = f"device={self.device}, " if self.device != "cpu" else ""
        return (
            f"<tfjs_infer.Model {ins} -> {outs}, {where}isa={self.isa}, threads={self.num_threads}>"
        )
