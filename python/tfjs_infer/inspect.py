"""Inspection and extraction: the layer table, a layer's stored weights,
intermediate outputs and submodels (feature extractors).

The :class:`~tfjs_infer.Model` methods ``layers``, ``get_layer``,
``get_weights`` and ``submodel`` are thin wrappers around the functions
here (``predict(x, outputs=...)`` runs cached submodels: _predict.py).

Layer names: a layer's own name; ``"outer/inner"`` for a layer inside a
nested model (each level of nesting adds its model's name, as in
``"sequential_1/dense_Dense1"``); ``"name:i"`` for output ``i`` of a layer
with several outputs (an RNN with ``return_state``, or a shared layer called
more than once: its calls' outputs in call order; so are the layers of a
nested model called more than once). The model's output names are accepted
too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Callable, TypeVar, cast

import numpy as np

from ._model_base import ModelBase
from .errors import LayerNameError, TfjsInferError
from .frontend.registry import LayerRecord, Shape
from .frontend.select import canonical, resolve

M = TypeVar("M", bound=ModelBase)


@dataclass(frozen=True)
class LayerInfo:
    """One layer of a model, as ``summary()`` prints it.

    Attributes
    ----------
    name:
        Its path: the layer's name, ``"outer/inner"`` inside nested models.
    class_name:
        The Keras class (``"Conv2D"``, ``"InputLayer"``, ``"Sequential"``...).
    output_shapes:
        One shape per output (None = batch or any size); a layer called
        several times lists the outputs of every call.
    params:
        Parameters the layer holds (a nested model: those of its layers).
    non_trainable_params:
        Of which non-trainable (BatchNorm statistics, frozen layers).
    inbound:
        The layers whose outputs it reads (of its first call), in order.
    """

    name: str
    class_name: str
    output_shapes: tuple[Shape, ...]
    params: int
    non_trainable_params: int
    inbound: tuple[str, ...]

    @property
    def output_shape(self) -> Shape:
        """The shape of its only output (see ``output_shapes`` for several)."""
        if len(self.output_shapes) != 1:
            raise TfjsInferError(
                f"layer '{self.name}' has {len(self.output_shapes)} outputs; see output_shapes"
            )
        return self.output_shapes[0]

    @property
    def output_names(self) -> list[str]:
        """The names that address its outputs in ``predict(outputs=...)``."""
        if len(self.output_shapes) == 1:
            return [self.name]
        return [f"{self.name}:{i}" for i in range(len(self.output_shapes))]


def layer_table(records: dict[str, LayerRecord]) -> list[LayerInfo]:
    """The LayerInfo of every record, in lowering (topological) order."""
    producers: dict[int, list[str]] = {}  # value id -> the layers that gave it, in order
    out = []
    for path, rec in records.items():
        # A nested model's record comes after its layers, and its inner
        # InputLayer gives the tensor the model reads: skip its own layers.
        inside = path + "/"
        inbound: list[str] = []
        for t in rec.inputs:
            src = next(
                (p for p in reversed(producers.get(t.id, [])) if not p.startswith(inside)), None
            )
            if src is not None and src not in inbound:
                inbound.append(src)
        params, frozen = rec.params, rec.non_trainable
        if _is_model(rec):
            inner = [r for p, r in records.items() if p.startswith(inside)]
            params = sum(r.params for r in inner)
            frozen = sum(r.non_trainable for r in inner)
        shapes = tuple(t.shape for t in rec.outputs)
        out.append(LayerInfo(path, rec.class_name, shapes, params, frozen, tuple(inbound)))
        for t in rec.outputs:
            producers.setdefault(t.id, []).append(path)
    return out


def _is_model(rec: LayerRecord) -> bool:
    return rec.class_name in ("Sequential", "Model", "Functional")


def get_layer(model: ModelBase, name: str) -> LayerInfo:
    """The LayerInfo of layer `name` (a path for nested layers)."""
    records = model._records
    name = name if name in records else canonical(name, model._alias_of)
    if name not in records:
        # resolve() raises the error that lists close matches.
        resolve(name, records, {})
        raise LayerNameError(f"'{name}' is an output of a layer, not a layer name")
    for info in layer_table(records):
        if info.name == name:
            return info
    raise LayerNameError(f"the model has no layer '{name}'")  # unreachable: records agree


def get_weights(model: ModelBase, name: str) -> dict[str, np.ndarray]:
    """The weights of layer `name` as the file stores them (dequantized),
    by their name in the file, in the file's order. A nested model gives
    those of all its layers."""
    records = model._records
    name = name if name in records else canonical(name, model._alias_of)
    if name not in records:
        resolve(name, records, {})
        raise LayerNameError(f"'{name}' is an output of a layer, not a layer name")
    inside = name + "/"
    taken: dict[str, np.ndarray] = {}
    for path, rec in records.items():
        if path == name or path.startswith(inside):
            for key, arr in rec.weights.items():
                taken.setdefault(key, arr)
    rank = _file_order(model)
    keys = sorted(taken, key=lambda k: (rank.get(k, len(rank)), _vars_index(k)))
    out = {}
    for k in keys:
        arr = taken[k].view()
        arr.flags.writeable = False  # shared with the compiled model: read-only
        out[k] = arr
    return out


def _file_order(model: ModelBase) -> dict[str, int]:
    spec = model._spec
    if spec.keras_weights is None:
        return {n: i for i, n in enumerate(spec.weights)}
    names = [n for names, _ in spec.keras_weights.values() if names for n in names]
    return {n: i for i, n in enumerate(names)}


def _vars_index(key: str) -> tuple[str, int]:
    """.keras weights ("vars/3", "cell/vars/0"): by sub-object, then index."""
    head, _, tail = key.rpartition("/")
    return (head, int(tail)) if tail.isdigit() else (key, 0)


def submodel(model: M, outputs: str | Sequence[str], inputs: Sequence[str] | None = None) -> M:
    """A new model of `model`'s class computing the tensors named in `outputs`
    (see the module docstring), from `inputs` (default: the model's inputs)."""
    options = dict(model._options)
    options["outputs"] = names_arg(outputs, "outputs")
    if inputs is not None:
        names = names_arg(inputs, "inputs")
        options["inputs"] = [names] if isinstance(names, str) else names
    # The model's own class (Model): its __init__ takes the spec and the options.
    make = cast("Callable[..., M]", type(model))
    return make(model._spec, **options)


def names_arg(value: Any, what: str) -> str | list[str]:
    """A layer name or a list of them, checked to be strings."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(n, str) for n in value):
        return list(value)
    raise LayerNameError(
        f"{what} must be a layer name or a list of layer names, received {value!r}"
    )


class Inspectable(ModelBase):
    """The inspection methods of :class:`~tfjs_infer.Model`."""

    @property
    def layers(self) -> list[LayerInfo]:
        """Every layer in topological order: name (``"outer/inner"`` inside
        nested models), class, output shapes, parameters, inbound layers."""
        return layer_table(self._records)

    def get_layer(self, name: str) -> LayerInfo:
        """The :class:`LayerInfo` of layer `name`; unknown names raise
        :class:`~tfjs_infer.LayerNameError` listing close matches."""
        return get_layer(self, name)

    def get_weights(self, name: str) -> dict[str, np.ndarray]:
        """Layer `name`'s weights as the file stores them (read-only arrays,
        by their name in the file, in the file's order; a nested model: all
        of its layers')."""
        return get_weights(self, name)

    def submodel(self: M, outputs: str | Sequence[str], inputs: Sequence[str] | None = None) -> M:
        """A new Model returning the outputs of the named layers (a dict by
        name; one name: a bare array), computing only what they need, from
        `inputs` (layer names; default: the model's inputs). It shares this
        model's loaded weight arrays (its compiled ops pack their own copy of
        the weights they use, as a loaded model does) and is a full Model
        (batching, threads, pickle).

        >>> embed = model.submodel("global_average_pooling2d")  # doctest: +SKIP
        """
        return submodel(self, outputs, inputs)


__all__ = [
    "Inspectable",
    "LayerInfo",
    "get_layer",
    "get_weights",
    "layer_table",
    "names_arg",
    "submodel",
]
