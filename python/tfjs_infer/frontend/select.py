"""Choosing a model's tensors by layer name: the outputs and inputs of
submodels (``Model.submodel``, ``predict(outputs=...)``, ``load_model(outputs=...)``).

Names: a layer's name (``"block_3_add"``); ``"outer/inner"`` for a layer
inside a nested model (each nesting level adds its model's name); and
``"name:i"`` for output ``i`` of a layer with several outputs (an LSTM with
``return_state``, or a layer called more than once, its calls' outputs in
call order). The model's own output names and keys are accepted as they are.
TF.js flattens a nested model that is the first layer of a Sequential; its
layers also answer to the names TF.js gives them, without that model's prefix
(see aliases()).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import LayerNameError
from .registry import LayerRecord, Tensor


@dataclass
class Selection:
    """Named tensors picked from a lowered model."""

    names: list[str]
    tensors: list[Tensor]


def aliases(records: dict[str, LayerRecord], flattened: set[str]) -> dict[str, str]:
    """Other names of layers inside models that TF.js flattens (the first
    layer of a Sequential, itself a model): their paths without the
    flattened models' prefixes, as TF.js names them. Only names that no
    layer has already and that stay unique."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for path in records:
        prefix = max((f for f in flattened if path.startswith(f + "/")), key=len, default=None)
        if prefix is None:
            continue
        alias = path[len(prefix) + 1 :]
        if alias in records or alias in taken:
            out.pop(alias, None)  # ambiguous: no alias
        else:
            out[alias] = path
        taken.add(alias)
    return out


def canonical(name: str, alias_of: dict[str, str]) -> str:
    """`name`, or the path its alias stands for (``name:i`` too)."""
    if name in alias_of:
        return alias_of[name]
    base, sep, index = name.rpartition(":")
    if sep and index.isdigit() and base in alias_of:
        return f"{alias_of[base]}:{index}"
    return name


def resolve(
    name: str,
    records: dict[str, LayerRecord],
    model_outputs: dict[str, Tensor],
    alias_of: dict[str, str] | None = None,
) -> Tensor:
    """The tensor that `name` designates (see the module docstring)."""
    if not isinstance(name, str):
        raise LayerNameError(f"a layer name must be a string, received {name!r}")
    if name in model_outputs:
        return model_outputs[name]
    if alias_of and name not in records:
        name = canonical(name, alias_of)
    record = records.get(name)
    if record is not None:
        if len(record.outputs) != 1:
            choices = ", ".join(f"'{name}:{i}'" for i in range(len(record.outputs)))
            raise LayerNameError(
                f"layer '{name}' ({record.class_name}) has {len(record.outputs)} outputs; "
                f"ask for one of {choices}"
            )
        return record.outputs[0]
    base, sep, index = name.rpartition(":")
    if sep and index.isdigit() and base in records:
        outs = records[base].outputs
        if int(index) < len(outs):
            return outs[int(index)]
        raise LayerNameError(
            f"layer '{base}' has {len(outs)} output(s); '{name}' asks for output {index}"
        )
    raise LayerNameError(_unknown_message(name, records, model_outputs))


def _unknown_message(
    name: str, records: dict[str, LayerRecord], model_outputs: dict[str, Tensor]
) -> str:
    known = list(records) + [n for n in model_outputs if n not in records]
    close = difflib.get_close_matches(name, known, n=5, cutoff=0.6)
    close += [p for p in known if name and name.lower() in p.lower() and p not in close]
    # A nested layer asked for by its own name: suggest its full path.
    leaf = name.rpartition("/")[2]
    close += [p for p in records if p.rpartition("/")[2] == leaf and p not in close]
    message = f"the model has no layer '{name}'"
    if close:
        message += "; close matches: " + ", ".join(f"'{c}'" for c in close[:8])
    else:
        message += f" ({len(records)} layers, see Model.layers)"
    if "/" not in name and any("/" in p for p in records):
        message += " (layers inside a nested model are named 'outer/inner')"
    return message


def select(
    names: Sequence[str],
    records: dict[str, LayerRecord],
    model_outputs: dict[str, Tensor],
    what: str,
    alias_of: dict[str, str] | None = None,
) -> Selection:
    """Resolve a list of names (no duplicates) to tensors."""
    if isinstance(names, str) or not isinstance(names, Sequence):
        raise LayerNameError(f"{what} must be a list of layer names, received {names!r}")
    if not names:
        raise LayerNameError(f"{what}: the list of layer names is empty")
    seen = set()
    for n in names:
        if n in seen:
            raise LayerNameError(f"{what}: '{n}' is asked for twice")
        seen.add(n)
    tensors = [resolve(n, records, model_outputs, alias_of) for n in names]
    return Selection(list(names), tensors)


def needed_values(
    edges: list[tuple[list[int], list[int]]], outputs: Sequence[int], stop: set[int]
) -> set[int]:
    """Every value the `outputs` depend on, not looking past the values in `stop`."""
    producer: dict[int, int] = {}
    for edge, (_, outs) in enumerate(edges):
        for v in outs:
            producer[v] = edge
    needed: set[int] = set()
    todo = list(outputs)
    while todo:
        v = todo.pop()
        if v in needed:
            continue
        needed.add(v)
        made_by = producer.get(v)
        if made_by is not None and v not in stop:
            todo.extend(edges[made_by][0])
    return needed


def needed_records(records: dict[str, LayerRecord], needed: set[int]) -> dict[str, LayerRecord]:
    """The layers whose outputs are among the `needed` values, inside nested
    models that are needed too (a nested model's InputLayer gives the value
    it is called on, which a submodel may need without that model)."""
    kept = {p: r for p, r in records.items() if any(t.id in needed for t in r.outputs)}
    return {p: r for p, r in kept.items() if _scopes(p) <= kept.keys()}


def _scopes(path: str) -> set[str]:
    """'a/b/c' -> {'a', 'a/b'}: the nested models a layer lies in."""
    parts = path.split("/")[:-1]
    return {"/".join(parts[: i + 1]) for i in range(len(parts))}


def check_inputs_suffice(
    needed: set[int], model_inputs: dict[int, str], chosen: set[int], output_names: list[str]
) -> None:
    """A submodel's outputs must not need a model input that it does not take."""
    missing = [n for i, n in model_inputs.items() if i in needed and i not in chosen]
    if missing:
        raise LayerNameError(
            f"the outputs {output_names} also depend on the model input(s) {missing}, "
            "which are not among the submodel's inputs"
        )


__all__ = [
    "Selection",
    "aliases",
    "canonical",
    "check_inputs_suffice",
    "needed_records",
    "needed_values",
    "resolve",
    "select",
]
