"""lower_model: ModelSpec -> core graph plus the facts Model needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import _core
from ..errors import LayerNameError
from ..io.spec import ModelSpec
from ..io.weights import weight_source
from .registry import GraphBuilder, LayerRecord, Shape, Tensor
from .select import aliases, check_inputs_suffice, needed_records, needed_values, select
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
    # Every layer, nested model and input by path, in lowering order (those
    # the outputs need, for a submodel), and other names of some (TF.js's).
    records: dict[str, LayerRecord] = field(default_factory=dict)
    # Per layer call: its ops (type, attrs, weights, shapes); see frontend/semantics.py.
    signatures: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    # Other names of some layers (TF.js's), for a submodel's lookups.
    alias_of: dict[str, str] = field(default_factory=dict)


@dataclass
class StateInfo:
    """One state a stateful layer carries across predict calls."""

    name: str
    shape: Shape  # (batch, units)


def lower_model(
    spec: ModelSpec,
    strict: bool = True,
    outputs: str | list[str] | None = None,
    inputs: list[str] | None = None,
    semantics: str | None = None,
) -> LoweredModel:
    """Lower every layer of `spec` into a core graph.

    With `strict`, weights in the file that no layer used are an error, as in
    TF.js's strict loading. `outputs` and `inputs` name the tensors of a
    submodel (frontend/select.py): its graph returns those outputs (one name:
    a single output; a list: outputs keyed by name) and starts from those
    inputs (default: the model's). `semantics` ("tfjs", "keras2", "keras3")
    overrides the file's own (``spec.semantics``). The graph is built, not
    compiled: comparing lowerings needs only its op descriptions
    (LoweredModel.signatures).
    """
    weights = weight_source(spec)
    builder = GraphBuilder()
    ctx = BuildContext(
        builder=builder,
        semantics=semantics or spec.semantics,
        weights=weights,
        source=spec.source,
    )
    built = build_top_level(spec.topology, ctx)
    if strict:
        weights.check_all_used()
    missing = [s.name for s in builder.states if s.output is None]
    if missing:
        raise RuntimeError(f"stateful lowering left states without new values: {missing}")
    user_ids = [t.id for t in built.inputs]
    if any(s.input.id < max(user_ids) for s in builder.states):
        raise RuntimeError("state inputs must come after the model inputs")
    view = _View(
        names=_unique(built.output_names),
        out_tensors=built.outputs,
        out_keys=built.output_keys,
        in_names=built.input_names,
        in_tensors=built.inputs,
        records=builder.records,
        layers=builder.layers,
        alias_of=aliases(builder.records, ctx.flattened),
    )
    # Every state has its new value (checked above).
    state_ids = [s.output.id for s in builder.states if s.output is not None]
    if outputs is not None or inputs is not None:
        view = _select(view, builder, state_ids, outputs, inputs)
    # Outputs first: a cut rewires the outputs that are its tensor too.
    builder.graph.set_outputs([t.id for t in view.out_tensors] + state_ids)
    if inputs is not None:
        _cut_inputs(builder, view.in_names, view.in_tensors, {t.id for t in built.inputs})
    states = [StateInfo(s.name, (s.batch, *s.shape[1:])) for s in builder.states]
    in_infos = [TensorInfo(n, t.shape, t.dtype) for n, t in zip(view.in_names, view.in_tensors)]
    out_infos = [TensorInfo(n, t.shape, t.dtype) for n, t in zip(view.names, view.out_tensors)]
    return LoweredModel(
        builder.graph,
        in_infos,
        out_infos,
        view.out_keys,
        view.layers,
        states,
        view.records,
        builder.signatures,
        {a: p for a, p in view.alias_of.items() if p in view.records},
    )


@dataclass
class _View:
    """What a (sub)model shows: its outputs and inputs, and its layers."""

    names: list[str]
    out_tensors: list[Tensor]
    out_keys: list[str] | None
    in_names: list[str]
    in_tensors: list[Tensor]
    records: dict[str, LayerRecord]
    layers: list[dict[str, Any]]
    alias_of: dict[str, str]


def _select(
    full: _View,
    builder: GraphBuilder,
    state_ids: list[int],
    outputs: str | list[str] | None,
    inputs: list[str] | None,
) -> _View:
    """The submodel view: the named outputs and inputs, and only the layers
    the outputs need (frontend/select.py resolves the names)."""
    named = dict(zip(full.names, full.out_tensors))
    named.update(zip(full.out_keys or [], full.out_tensors))
    view = _View(**vars(full))
    if outputs is not None:
        wanted = [outputs] if isinstance(outputs, str) else outputs
        chosen = select(wanted, full.records, named, "outputs", full.alias_of)
        view.names, view.out_tensors = chosen.names, chosen.tensors
        view.out_keys = None if isinstance(outputs, str) else list(chosen.names)
    if inputs is not None:
        starts = select(inputs, full.records, named, "inputs", full.alias_of)
        view.in_names, view.in_tensors = starts.names, starts.tensors
        if len({t.id for t in view.in_tensors}) != len(view.in_tensors):
            raise LayerNameError(f"inputs {view.in_names}: two names give the same tensor")
    stop = {t.id for t in view.in_tensors}
    needed = needed_values(builder.edges, [t.id for t in view.out_tensors] + state_ids, stop)
    model_inputs = {t.id: n for n, t in zip(full.in_names, full.in_tensors)}
    check_inputs_suffice(needed, model_inputs, stop, view.names)
    view.records = needed_records(full.records, needed)
    kept = {r.name for r in view.records.values()}
    view.layers = [entry for entry in full.layers if entry["name"] in kept]
    return view


def _cut_inputs(
    builder: GraphBuilder, names: list[str], tensors: list[Tensor], model_inputs: set[int]
) -> None:
    """Make the graph start from `tensors`: a model input stays; any other
    tensor becomes a new graph input in its place (the ops before it that
    nothing else needs are dropped at compile)."""
    ids = [
        t.id if t.id in model_inputs else builder.graph.cut_at(t.id, n, list(t.shape), t.dtype)
        for n, t in zip(names, tensors)
    ]
    builder.graph.set_inputs(ids + [s.input.id for s in builder.states])


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        k = seen.get(n, 0)
        seen[n] = k + 1
        out.append(n if k == 0 else f"{n}_{k}")
    return out


__all__ = ["LoweredModel", "TensorInfo", "_core", "lower_model"]
