"""lower_model: ModelSpec -> core graph plus the facts Model needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import _core
from ..errors import WeightsError
from ..io.spec import ModelSpec
from .registry import GraphBuilder, Shape, WeightStore
from .topology import BuildContext, build_top_level


@dataclass
class TensorInfo:
    """A model input or output: its name, shape (None = any size) and dtype."""

    name: str
    shape: Shape
    dtype: str

    def __repr__(self) -> str:
        return f"TensorInfo(name={self.name!r}, shape={self.shape}, dtype={self.dtype!r})"


@dataclass
class LoweredModel:
    graph: Any  # _core.Graph
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    output_keys: list[str] | None
    layers: list[dict[str, Any]]
    # Stateful layers' states: hidden graph inputs after the model's inputs,
    # and hidden graph outputs (their new values) after the model's outputs.
    states: list[StateInfo] = field(default_factory=list)
    # Per layer call: its ops (type, attrs, weights, shapes); see frontend/semantics.py.
    signatures: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)


@dataclass
class StateInfo:
    """One state a stateful layer carries across predict calls."""

    name: str
    shape: Shape  # (batch, units)


def lower_model(
    spec: ModelSpec, strict: bool = True, semantics: str | None = None, dry: bool = False
) -> LoweredModel:
    """Lower every layer of `spec` into a core graph.

    With `strict`, weights in the file that no layer used are an error, as in
    TF.js's strict loading. `semantics` ("tfjs", "keras2", "keras3") overrides
    the file's own (``spec.semantics``). `dry` builds no core graph, only the
    per-layer op descriptions (LoweredModel.signatures).
    """
    store = WeightStore(spec.weights, spec.source) if spec.keras_weights is None else None
    builder = GraphBuilder(dry=dry)
    ctx = BuildContext(
        builder=builder,
        semantics=semantics or spec.semantics,
        store=store,
        source=spec.source,
        ordered=spec.keras_weights,
    )
    built = build_top_level(spec.topology, ctx)
    if store is not None and strict:
        unused = store.unused()
        if unused:
            shown = ", ".join(unused[:8]) + (" ..." if len(unused) > 8 else "")
            raise WeightsError(
                f"{spec.source}: {len(unused)} weight(s) in the file match no layer variable: "
                f"{shown}"
            )
    if spec.keras_weights is not None and strict:
        unused = [
            (names[i] if names else "/".join(key) + f"/vars/{i}")
            for key, (names, arrays) in spec.keras_weights.items()
            for i in range(len(arrays))
            if id(arrays[i]) not in ctx.used_weights
        ]
        if unused:
            shown = ", ".join(unused[:8]) + (" ..." if len(unused) > 8 else "")
            raise WeightsError(
                f"{spec.source}: {len(unused)} weight(s) in the file were not used by any layer "
                f"(a layer's variables do not match its config): {shown}"
            )
    missing = [s.name for s in builder.states if s.output is None]
    if missing:
        raise RuntimeError(f"stateful lowering left states without new values: {missing}")
    user_ids = [t.id for t in built.inputs]
    if any(s.input.id < max(user_ids) for s in builder.states):
        raise RuntimeError("state inputs must come after the model inputs")
    builder.graph.set_outputs([t.id for t in built.outputs] + [s.output.id for s in builder.states])
    states = [StateInfo(s.name, (s.batch, *s.shape[1:])) for s in builder.states]
    inputs = [TensorInfo(n, t.shape, t.dtype) for n, t in zip(built.input_names, built.inputs)]
    names = _unique(built.output_names)
    outputs = [TensorInfo(n, t.shape, t.dtype) for n, t in zip(names, built.outputs)]
    return LoweredModel(
        builder.graph,
        inputs,
        outputs,
        built.output_keys,
        builder.layers,
        states,
        builder.signatures,
    )


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        k = seen.get(n, 0)
        seen[n] = k + 1
        out.append(n if k == 0 else f"{n}_{k}")
    return out


__all__ = ["LoweredModel", "TensorInfo", "_core", "lower_model"]
