"""Recurrent layers: SimpleRNN, LSTM, GRU, the generic RNN layer with
SimpleRNNCell / LSTMCell / GRUCell / StackedRNNCells, ConvLSTM2D, plus the
recurrence itself (masks: masks.py; keras.ops on masks: keras_ops.py).

Semantics (TFJS-FORMAT.md 5.3 "Recurrent", 5.5, pitfalls 3, 4, 8, 15):
- gate blocks i f c o (LSTM) and z r h (GRU); GRU reset_after=True keeps a
  (2, 3u) bias and applies r after the recurrent product (TF.js refuses such
  files; Keras semantics are used);
- hard_sigmoid follows the file's semantics (activation_attrs);
- masked steps keep the states; they output the carried h in TF.js, the
  previous output (zeros before the first kept step) in Keras, or zeros with
  Keras's zero_output_for_mask (forced on by Bidirectional with
  return_sequences);
- stacked cells are lowered as a chain of single-cell ops (the same numbers);
  their states are listed last cell first in TF.js, in cell order in Keras;
- stateful layers keep their states in hidden graph inputs/outputs that Model
  carries between calls (GraphBuilder.state_input).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from .activations import activation_attrs
from .conv import _Conv
from .masks import layer_mask
from .registry import GraphBuilder, LayerCall, Tensor, fmt_shape, lowering

_LAYER_CELLS = {"SimpleRNN": "simple_rnn", "LSTM": "lstm", "GRU": "gru"}
_CELL_CLASSES = {"SimpleRNNCell": "simple_rnn", "LSTMCell": "lstm", "GRUCell": "gru"}
_GATES = {"simple_rnn": 1, "lstm": 4, "gru": 3}
RNN_CLASSES = ("SimpleRNN", "LSTM", "GRU", "RNN")


def _gru_reset_after(call: LayerCall) -> bool:
    """GRU reset_after. A config without the key was written by TF.js (which
    has only reset_after=False) or by Keras before 2.1.3 (which added the
    option; tf.keras and Keras 3 always write it): the bias tells, (3u,) for
    False and (2, 3u) for True, and without a bias it is False."""
    if call.config.get("reset_after") is not None:
        return call.config_bool("reset_after", True)
    bias = call._find_weight("bias", 2) if call.config_bool("use_bias", True) else None
    return bias is not None and np.ndim(bias) == 2


@dataclass
class Cell:
    """One recurrent cell: its kind, width, core attrs and weights."""

    kind: str
    units: int
    attrs: dict[str, Any]
    weights: dict[str, np.ndarray | None]

    @property
    def num_states(self) -> int:
        return 2 if self.kind == "lstm" else 1


def sub_call(
    layer: LayerCall,
    name: str,
    class_name: str,
    config: dict[str, Any],
    first: int,
    count: int,
    scope: tuple[str, ...] | None = None,
) -> LayerCall:
    """A view of part of `layer` (a cell of a stack, a Bidirectional direction,
    a TimeDistributed inner layer): its own name, scope and config for weight
    names (TF.js files), and the slice [first, first + count) of the layer's
    ordered weights (Keras files, which list them in canonical order)."""
    return dataclasses.replace(
        layer,
        class_name=class_name,
        name=name,
        config=config,
        scope=layer.scope if scope is None else scope,
        weights=layer.weights.part(first, count),
        parent=layer,
        params=0,
        non_trainable=0,
        kwargs={},
    )


# -- cells ----------------------------------------------------------------------


def _cell_kind(layer: LayerCall, class_name: str) -> str:
    kind = _LAYER_CELLS.get(class_name) or _CELL_CLASSES.get(class_name)
    if kind is None:
        raise layer.unsupported(f"recurrent cell '{class_name}' is not supported")
    return kind


def cell_weight_count(config: dict[str, Any]) -> int:
    use_bias = config.get("use_bias", True)
    return 3 if use_bias is None or use_bias else 2


def _parse_cell(call: LayerCall, kind: str, in_features: int) -> Cell:
    """Reads one cell's config and weights; `call` names the weights."""
    cfg = call.config
    units = call.config_int("units", minimum=1)
    act = activation_attrs(cfg.get("activation", "tanh"), call.semantics, call)
    attrs: dict[str, Any] = {"cell": kind, "units": units, **act}
    if kind != "simple_rnn":
        # TF.js's default (used only when the key is missing) is hard_sigmoid.
        default = "hard_sigmoid" if call.semantics == "tfjs" else "sigmoid"
        ract = activation_attrs(
            cfg.get("recurrent_activation", default),
            call.semantics,
            call,
        )
        attrs["recurrent_activation"] = ract["activation"]
        for key in ("alpha", "beta", "gamma"):
            if f"act_{key}" in ract:
                attrs[f"ract_{key}"] = ract[f"act_{key}"]
    for key in ("activation", "recurrent_activation"):
        if attrs.get(key) in ("softmax", "log_softmax"):
            raise call.unsupported(f"{key} '{attrs[key]}' in a recurrent cell")
    reset_after = False
    if kind == "gru":
        # TF.js (which rejects reset_after=True) defaults to False; Keras to True.
        reset_after = _gru_reset_after(call)
        if reset_after:
            call.tfjs_refuses("TF.js 4.22's GRU has no reset_after=True")
        attrs["reset_after"] = int(reset_after)
    g = _GATES[kind] * units
    kernel = call.weight("kernel", shape=(in_features, g), index=0)
    rec = call.weight("recurrent_kernel", shape=(units, g), index=1)
    bias = None
    if call.config_bool("use_bias", True):
        bias = call.weight("bias", shape=(2, g) if reset_after else (g,), index=2)
    return Cell(kind, units, attrs, {"kernel": kernel, "recurrent_kernel": rec, "bias": bias})


def _cell_configs(layer: LayerCall) -> list[tuple[str, dict[str, Any]]]:
    """(class name, config) per cell of an RNN-family layer, in stack order."""
    if layer.class_name != "RNN":
        return [(layer.class_name, layer.config)]
    cell = layer.config.get("cell")
    cells = cell if isinstance(cell, list) else [cell]
    out: list[tuple[str, dict[str, Any]]] = []
    for c in cells:
        if not isinstance(c, dict) or not isinstance(c.get("config"), dict):
            raise layer.error(
                f"the cell config {str(c)[:80]} is not a {{class_name, config}} object"
            )
        cls = str(c.get("class_name"))
        if cls == "StackedRNNCells":
            inner = c["config"].get("cells")
            if not isinstance(inner, list) or not inner:
                raise layer.error("StackedRNNCells has no 'cells' list")
            for ic in inner:
                if not isinstance(ic, dict) or not isinstance(ic.get("config"), dict):
                    raise layer.error(f"bad stacked cell config {str(ic)[:80]}")
                out.append((str(ic.get("class_name")), ic["config"]))
        else:
            out.append((cls, c["config"]))
    return out


def _is_stacked(layer: LayerCall) -> bool:
    cell = layer.config.get("cell")
    return isinstance(cell, list) or (
        isinstance(cell, dict) and cell.get("class_name") == "StackedRNNCells"
    )


def parse_cells(layer: LayerCall, in_features: int) -> list[Cell]:
    """Every cell of `layer` with its weights, in stack order."""
    configs = _cell_configs(layer)
    stacked = _is_stacked(layer)
    cells: list[Cell] = []
    first = 0
    features = in_features
    for i, (cls, cfg) in enumerate(configs):
        kind = _cell_kind(layer, cls)
        count = cell_weight_count(cfg)
        # TF.js builds stacked cell i in the scope RNNCell_<i>; a single cell
        # adds no scope. Keras files give the weights in order.
        name = f"{layer.name}/RNNCell_{i}" if stacked else layer.name
        call = sub_call(layer, name, layer.class_name, cfg, first, count)
        if stacked and not layer.weights.in_order and not call.has_weight("kernel", 0):
            call = _stacked_cell_by_keras_name(layer, cfg, i, first, count)
        cell = _parse_cell(call, kind, features)
        cells.append(cell)
        features = cell.units
        first += count
    return cells


def _stacked_cell_by_keras_name(
    layer: LayerCall, cfg: dict[str, Any], index: int, first: int, count: int
) -> LayerCall:
    """Converter files name stacked cell weights after the Keras cell names
    (``rnn/stacked_rnn_cells_2/lstm_cell/kernel``): find the weights under the
    layer whose second-to-last component is the cell's name."""
    cell_name = cfg.get("name")
    if isinstance(cell_name, str):
        prefix = "/".join([*layer.scope, layer.name]) + "/"
        for wname in layer.weights.names():  # TF.js files (matched by name)
            parts = wname.split("/")
            if wname.startswith(prefix) and len(parts) >= 3 and parts[-2] == cell_name:
                scope = tuple(parts[:-2])
                call = sub_call(layer, cell_name, layer.class_name, cfg, first, count, scope)
                if call.has_weight("kernel", 0):
                    return call
    raise layer.error(
        f"the weights of stacked cell {index} ('{cell_name}') were not found in the model's weights"
    )


# -- the layer --------------------------------------------------------------------


@dataclass
class RnnOptions:
    return_sequences: bool = False
    go_backwards: bool = False
    reverse_output: bool = False  # write processing step s at T-1-s
    mask_output: str = "state"  # "state" (TF.js) | "previous" | "zero" (Keras)
    stateful: bool = False


def rnn_options(layer: LayerCall) -> RnnOptions:
    """The layer-level options of an RNN config, per the file's semantics."""
    if layer.semantics != "tfjs" and layer.config_bool("time_major", False):
        raise layer.unsupported("time_major=True")
    if layer.semantics == "tfjs":
        mask_output = "state"
    else:
        mask_output = "zero" if layer.config_bool("zero_output_for_mask", False) else "previous"
    return RnnOptions(
        return_sequences=layer.config_bool("return_sequences", False),
        go_backwards=layer.config_bool("go_backwards", False),
        mask_output=mask_output,
        stateful=layer.config_bool("stateful", False),
    )


def initial_states(layer: LayerCall) -> list[Tensor]:
    """Initial states: extra inputs (Keras 2 / TF.js nodes) or the
    `initial_state` kwarg (Keras 3)."""
    states = list(layer.inputs[1:])
    kw = layer.kwargs.get("initial_state")
    if kw is not None:
        if isinstance(kw, Tensor):
            kw = [kw]
        if not isinstance(kw, list) or not all(isinstance(t, Tensor) for t in kw):
            raise layer.unsupported(f"initial_state {str(kw)[:80]} is not a list of tensors")
        states += kw
    return states


def _stateful_batch(layer: LayerCall, b: GraphBuilder) -> int:
    for key in ("batch_input_shape", "batch_shape"):
        shape = layer.config.get(key)
        if isinstance(shape, list) and shape and isinstance(shape[0], int):
            return shape[0]
    if isinstance(layer.config.get("batch_size"), int):
        return int(layer.config["batch_size"])
    if b.declared_batch is not None:
        return b.declared_batch
    raise layer.error(
        "a stateful RNN needs a fixed batch size: the model input must declare one "
        "(batch_input_shape / batch_shape)"
    )


def _mask_output(opts: RnnOptions, mask: Tensor | None, states: list[Tensor] | None) -> str:
    """TF.js's "state" (a masked step outputs the carried h) equals Keras's
    "previous" (the previous output, zeros before the first kept step) unless
    the states start non-zero (given initial states, stateful layers): name
    it "previous" then, so that the TF.js and Keras lowerings of the same
    layer compare equal in frontend/semantics.py. Without a mask it is unused."""
    if mask is None or (opts.mask_output == "state" and not states and not opts.stateful):
        return "previous"
    return opts.mask_output


def lower_cells(
    layer: LayerCall,
    b: GraphBuilder,
    cells: list[Cell],
    x: Tensor,
    mask: Tensor | None,
    states_in: list[Tensor],
    opts: RnnOptions,
    want_states: bool,
) -> tuple[Tensor, list[Tensor]]:
    """Runs the cell stack over x. Returns the output and, when asked, the
    final states in the file's order (TF.js: last cell first)."""
    if len(x.shape) != 3 or x.shape[2] is None:
        raise layer.error(
            f"expected an input of shape (batch, steps, features), received {fmt_shape(x.shape)}"
        )
    reverse_order = layer.semantics == "tfjs"
    per_cell = _split_states(layer, cells, states_in, reverse_order)
    stateful_slots: list[list[Any]] = [[] for _ in cells]
    if opts.stateful:
        batch = _stateful_batch(layer, b)
        for i, cell in enumerate(cells):
            if per_cell[i] is None:
                slots = [
                    b.state_input(f"{layer.name}/state_{i}_{j}", (None, cell.units), batch)
                    for j in range(cell.num_states)
                ]
                stateful_slots[i] = slots
                per_cell[i] = [s.input for s in slots]
    outs_states: list[list[Tensor]] = []
    y = x
    for i, cell in enumerate(cells):
        last = i == len(cells) - 1
        seq = opts.return_sequences if last else True
        # A chain that goes backwards keeps intermediate sequences in input
        # order, so every cell reads step t at position t.
        reverse = opts.reverse_output if last else opts.go_backwards
        attrs = {
            **cell.attrs,
            "go_backwards": int(opts.go_backwards),
            "return_sequences": int(seq),
            "reverse_output": int(reverse),
            "mask_output": _mask_output(opts, mask, per_cell[i]),
            "has_mask": int(mask is not None),
        }
        need_states = want_states or opts.stateful
        attrs["return_state"] = int(need_states)
        inputs = [y] + ([mask] if mask is not None else []) + list(per_cell[i] or [])
        name = layer.name if len(cells) == 1 else f"{layer.name}/cell_{i}"
        if need_states:
            outs = b.op_outputs(
                "rnn",
                name,
                inputs,
                attrs=attrs,
                weights=cell.weights,
            )
            y, st = outs[0], outs[1:]
        else:
            y, st = b.op("rnn", name, inputs, attrs=attrs, weights=cell.weights), []
        for slot, t in zip(stateful_slots[i], st):
            slot.output = t
        outs_states.append(st)
    order = list(reversed(outs_states)) if reverse_order else outs_states
    return y, [t for st in order for t in st]


def _split_states(
    layer: LayerCall, cells: list[Cell], states: list[Tensor], reverse_order: bool
) -> list[list[Tensor] | None]:
    if not states:
        return [None] * len(cells)
    total = sum(c.num_states for c in cells)
    if len(states) != total:
        raise layer.error(f"expects {total} initial state(s), received {len(states)}")
    per: list[list[Tensor] | None] = [None] * len(cells)
    order = list(reversed(range(len(cells)))) if reverse_order else list(range(len(cells)))
    at = 0
    for i in order:
        per[i] = states[at : at + cells[i].num_states]
        at += cells[i].num_states
    for i, st in enumerate(per):
        for t in st or []:
            if len(t.shape) != 2 or t.shape[1] not in (None, cells[i].units):
                raise layer.error(
                    f"initial state of shape {fmt_shape(t.shape)} does not fit a cell of "
                    f"{cells[i].units} units"
                )
    return per


def lower_rnn(
    layer: LayerCall,
    b: GraphBuilder,
    opts: RnnOptions | None = None,
    states_in: list[Tensor] | None = None,
    mask: Tensor | None = None,
    use_layer_mask: bool = True,
) -> tuple[Tensor, list[Tensor]]:
    """Lower one RNN-family layer call; returns (output, final states)."""
    x = layer.inputs[0]
    if len(x.shape) != 3 or x.shape[2] is None:
        raise layer.error(
            f"expected an input of shape (batch, steps, features), received {fmt_shape(x.shape)}"
        )
    opts = opts or rnn_options(layer)
    cells = parse_cells(layer, x.shape[2])
    if states_in is None:
        states_in = initial_states(layer)
    if use_layer_mask:
        mask = layer_mask(layer)
    want_states = layer.config_bool("return_state", False)
    return lower_cells(layer, b, cells, x, mask, states_in, opts, want_states)


@lowering(*RNN_CLASSES)
def lower_rnn_layer(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    y, states = lower_rnn(layer, b)
    opts = rnn_options(layer)
    if opts.return_sequences:
        y.mask = layer_mask(layer)
    if layer.config_bool("return_state", False):
        return [y, *states]
    return [y]


@lowering("ConvLSTM2D")
def lower_conv_lstm2d(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
    """ConvLSTM2D: the input convolution of every step as one "conv2d" over the
    (N*T, H, W, C) folding, then the "conv_lstm2d" recurrence (the state is
    convolved with 'same' padding, stride 1, as TF.js and Keras do)."""
    x = layer.inputs[0]
    conv = _Conv(layer, 2, allow_causal=False)
    if conv.channels_first:
        raise layer.unsupported("data_format='channels_first'")
    if len(x.shape) != 5 or x.shape[-1] is None:
        raise layer.error(
            f"expected an input (batch, steps, h, w, channels), received {fmt_shape(x.shape)}"
        )
    if layer_mask(layer) is not None:
        raise layer.unsupported("a masked input")
    filters = layer.config_int("filters", minimum=1)
    cin = x.shape[-1]
    kh, kw = conv.kernel_size
    kernel = layer.weight("kernel", shape=(kh, kw, cin, 4 * filters), index=0)
    rec = layer.weight("recurrent_kernel", shape=(kh, kw, filters, 4 * filters), index=1)
    bias = layer.weight("bias", shape=(4 * filters,), index=2) if conv.use_bias else None
    act = activation_attrs(layer.config.get("activation", "tanh"), layer.semantics, layer)
    default = "hard_sigmoid" if layer.semantics == "tfjs" else "sigmoid"
    ract = activation_attrs(
        layer.config.get("recurrent_activation", default), layer.semantics, layer
    )
    opts = rnn_options(layer)
    want_states = layer.config_bool("return_state", False)
    folded = b.op("time_fold", layer.name + "/fold", [x])
    xw = b.op(
        "conv2d",
        layer.name + "/input_conv",
        [folded],
        attrs=conv.attrs(groups=1),
        weights={"kernel": kernel, "bias": bias},
    )
    xw = b.op(
        "time_unfold",
        layer.name + "/unfold",
        [xw, x],
    )
    ho, wo = xw.shape[2:4]  # the state's size: the input convolution's output, the core's
    states = initial_states(layer)
    slots = []
    if not states and opts.stateful:
        batch = _stateful_batch(layer, b)
        slots = [
            b.state_input(f"{layer.name}/state_{j}", (None, ho, wo, filters), batch)
            for j in range(2)
        ]
        states = [s.input for s in slots]
    if states and len(states) != 2:
        raise layer.error(f"expects 2 initial states (h, c), received {len(states)}")
    attrs = {
        "filters": filters,
        "kernel_size": [kh, kw],
        **act,
        "recurrent_activation": ract["activation"],
        **{f"ract_{k[4:]}": v for k, v in ract.items() if k.startswith("act_")},
        "go_backwards": int(opts.go_backwards),
        "return_sequences": int(opts.return_sequences),
        "return_state": int(want_states or bool(slots)),
    }
    inputs = [xw, *states]
    if attrs["return_state"]:
        y, h, c = b.op_outputs(
            "conv_lstm2d",
            layer,
            inputs,
            attrs=attrs,
            weights={"recurrent_kernel": rec},
        )
        for slot, t in zip(slots, (h, c)):
            slot.output = t
        return [y, h, c] if want_states else [y]
    return [
        b.op(
            "conv_lstm2d",
            layer,
            inputs,
            attrs=attrs,
            weights={"recurrent_kernel": rec},
        )
    ]


__all__ = [
    "RNN_CLASSES",
    "Cell",
    "RnnOptions",
    "initial_states",
    "lower_cells",
    "lower_rnn",
    "parse_cells",
    "rnn_options",
    "sub_call",
]
