"""Wrappers: Bidirectional (around any RNN-family layer) and TimeDistributed
(around any supported layer).

TFJS-FORMAT.md 5.3 "Wrappers", 3.4 (weight names), 5.5 (masks):
- Bidirectional runs a forward copy and a backward copy (the same config with
  go_backwards flipped, or Keras's backward_layer), flips the backward
  sequence back, and merges (concat, sum, mul, ave, or None for two outputs).
  TF.js names the copies forward_<inner> and backward_<inner>. In Keras the
  masked steps of a return_sequences output are zeros, in TF.js carried values.
- TimeDistributed lowers the inner layer once on the (N*T, ...) folding of
  its input; each row is computed on its own, so this equals TF.js's loop over
  steps. TF.js names the inner weights <td name>/<weight>.
"""

from __future__ import annotations

from typing import Any

from .masks import layer_mask
from .recurrent import (
    RNN_CLASSES,
    _cell_configs,
    cell_weight_count,
    initial_states,
    lower_rnn,
    rnn_options,
    sub_call,
)
from .registry import (
    GraphBuilder,
    LayerCall,
    Tensor,
    canonical_class,
    fmt_shape,
    get_lowering,
    lowering,
)

_MERGE_OPS = {"sum": "add", "mul": "mul", "ave": "mean"}


def _inner(layer: LayerCall, key: str) -> tuple[str, dict[str, Any]] | None:
    entry = layer.config.get(key)
    if entry is None:
        return None
    if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
        raise layer.error(
            f"'{key}' must be a {{class_name, config}} object, found {str(entry)[:80]}"
        )
    return canonical_class(str(entry.get("class_name"))), dict(entry["config"])


def _weight_count(call: LayerCall) -> int:
    return sum(cell_weight_count(cfg) for _, cfg in _cell_configs(call))


def _prefixed(name: str, prefix: str) -> str:
    return name if name.startswith(prefix) else prefix + name


@lowering("Bidirectional")
def lower_bidirectional(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    fwd_cls, fcfg = _inner(layer, "layer") or ("", {})
    if fwd_cls not in RNN_CLASSES:
        raise layer.unsupported(f"Bidirectional around '{fwd_cls}' (expected an RNN layer)")
    base = str(fcfg.get("name", "rnn"))
    base = base[len("forward_") :] if base.startswith("forward_") else base
    scope = (*layer.scope, layer.name)
    fwd = sub_call(layer, _prefixed(base, "forward_"), fwd_cls, fcfg, 0, 0, scope=scope)
    n_fwd = _weight_count(fwd)
    fwd = sub_call(layer, fwd.name, fwd_cls, fcfg, 0, n_fwd, scope=scope)
    # TF.js always mirrors the forward config; Keras honours backward_layer.
    back = _inner(layer, "backward_layer")
    if back is not None and back[0] in RNN_CLASSES:
        layer.tfjs_refuses("TF.js 4.22 cannot deserialize a Bidirectional backward_layer")
        bwd_cls, bcfg = back
        bname = _prefixed(str(bcfg.get("name", base)), "backward_")
    else:
        bwd_cls, bcfg = fwd_cls, {**fcfg, "go_backwards": not bool(fcfg.get("go_backwards", False))}
        bname = "backward_" + base
    bwd = sub_call(layer, bname, bwd_cls, bcfg, n_fwd, 1 << 30, scope=scope)

    mask = layer_mask(layer)
    states = initial_states(layer)
    if len(states) % 2:
        raise layer.error(
            f"expects the forward and backward initial states, received {len(states)} state(s)"
        )
    half = len(states) // 2
    fo, bo = rnn_options(fwd), rnn_options(bwd)
    if layer.semantics != "tfjs":
        # Keras forces zero_output_for_mask = return_sequences on both copies.
        fo.mask_output = bo.mask_output = "zero" if fo.return_sequences else "previous"
    bo.reverse_output = True  # flip the backward sequence back into input order
    y, fst = lower_rnn(fwd, b, fo, states[:half], mask, use_layer_mask=False)
    y_rev, bst = lower_rnn(bwd, b, bo, states[half:], mask, use_layer_mask=False)
    if tuple(y.shape[1:-1]) != tuple(y_rev.shape[1:-1]):
        raise layer.error(
            f"forward output {fmt_shape(y.shape)} and backward output "
            f"{fmt_shape(y_rev.shape)} differ"
        )

    merge_mode = layer.config.get("merge_mode", "concat")  # an explicit null: two outputs
    out_mask = mask if fo.return_sequences else None
    if merge_mode is None:
        y.mask, y_rev.mask = out_mask, out_mask
        outputs = [y, y_rev]
    elif merge_mode == "concat":
        outputs = [b.op("concat", layer, [y, y_rev], attrs={"axis": len(y.shape) - 1})]
    elif merge_mode in _MERGE_OPS:
        if y.shape != y_rev.shape:
            raise layer.error(
                f"merge_mode '{merge_mode}' needs equal outputs, found {fmt_shape(y.shape)} "
                f"and {fmt_shape(y_rev.shape)}"
            )
        outputs = [b.op(_MERGE_OPS[merge_mode], layer, [y, y_rev])]
    else:
        raise layer.error(f"merge_mode must be concat, sum, mul, ave or null, found {merge_mode!r}")
    if merge_mode is not None:
        outputs[0].mask = out_mask
    if fwd.config_bool("return_state", False):
        return [*outputs, *fst, *bst]
    return outputs


@lowering("TimeDistributed")
def lower_time_distributed(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = layer.inputs[0]
    if len(x.shape) < 3:
        raise layer.error(f"expected an input of rank 3 or more, received {fmt_shape(x.shape)}")
    cls, cfg = _inner(layer, "layer") or ("", {})
    if cls in ("Sequential", "Model"):
        raise layer.unsupported("TimeDistributed around a nested model")
    fn = get_lowering(cls, str(cfg.get("name", layer.name)))
    folded = b.op("time_fold", layer.name + "/fold", [x])
    count = layer.weights.count()
    # TF.js builds the inner layer in the wrapper's scope: <td name>/<weight>.
    inner = sub_call(layer, layer.name, cls, cfg, 0, count)
    inner.inputs = [folded]
    outs = fn(inner, b)
    if len(outs) != 1:
        raise layer.unsupported(f"TimeDistributed around '{cls}', which gives {len(outs)} outputs")
    y = outs[0]
    out = b.op("time_unfold", layer, [y, x])
    out.mask = x.mask
    return [out]
