"""The lowering registry and the objects every lowering works with.

A lowering turns one call of one Keras layer into core ops::

    @lowering("Dense")
    def lower_dense(layer: LayerCall, b: GraphBuilder) -> list[Tensor]:
        units = layer.config_int("units", minimum=1)
        ...
        return [b.op("dense", layer, layer.inputs, attrs=..., weights=...)]

Keras/TF.js spellings live only here and in the family modules beside it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _core
from ..errors import InvalidModelError, UnsupportedLayerError
from ..io.weights import NamedWeights, WeightLookup

if TYPE_CHECKING:
    from typing import TypeGuard  # Python 3.10+: annotations only

Shape = tuple  # of int | None; index 0 is the batch axis


@dataclass
class Tensor:
    """A value of the graph being built: core value id, static shape, dtype, Keras mask."""

    id: int
    shape: Shape
    dtype: str = "float32"
    mask: Tensor | None = None


LoweringFn = Callable[["LayerCall", "GraphBuilder"], "list[Tensor]"]
_LOWERINGS: dict[str, LoweringFn] = {}
_ALIASES = {
    "Functional": "Model",
    "BatchNormalizationV1": "BatchNormalization",
    "UnifiedGRU": "GRU",
    "UnifiedLSTM": "LSTM",
    "Convolution1D": "Conv1D",
    "Convolution2D": "Conv2D",
    "Convolution3D": "Conv3D",
    "Convolution2DTranspose": "Conv2DTranspose",
    "Convolution3DTranspose": "Conv3DTranspose",
    "SeparableConvolution1D": "SeparableConv1D",
    "SeparableConvolution2D": "SeparableConv2D",
    "AvgPool1D": "AveragePooling1D",
    "AvgPool2D": "AveragePooling2D",
    "AvgPool3D": "AveragePooling3D",
    "MaxPool1D": "MaxPooling1D",
    "MaxPool2D": "MaxPooling2D",
    "MaxPool3D": "MaxPooling3D",
    "GlobalAvgPool1D": "GlobalAveragePooling1D",
    "GlobalAvgPool2D": "GlobalAveragePooling2D",
    "GlobalAvgPool3D": "GlobalAveragePooling3D",
    "GlobalMaxPool1D": "GlobalMaxPooling1D",
    "GlobalMaxPool2D": "GlobalMaxPooling2D",
    "GlobalMaxPool3D": "GlobalMaxPooling3D",
}


def canonical_class(name: str) -> str:
    return _ALIASES.get(name, name)


def lowering(*class_names: str) -> Callable[[LoweringFn], LoweringFn]:
    """Register a lowering for one or more Keras class names."""

    def register(fn: LoweringFn) -> LoweringFn:
        for name in class_names:
            if name in _LOWERINGS:
                raise RuntimeError(f"two lowerings registered for {name}")
            _LOWERINGS[name] = fn
        return fn

    return register


# Lowerings of keras.ops calls recorded in Keras 3 graphs are registered as
# OPS_PREFIX + the operation's class name ("keras.ops.Add").
OPS_PREFIX = "keras.ops."


def has_lowering(class_name: str) -> bool:
    return canonical_class(class_name) in _LOWERINGS


def get_lowering(class_name: str, layer_name: str) -> LoweringFn:
    fn = _LOWERINGS.get(canonical_class(class_name))
    if fn is None:
        hint = ""
        if class_name in ("Lambda", "SlicingOpLambda", "TFSMLayer"):
            hint = " It runs arbitrary code, which tfjs_infer never executes."
        raise UnsupportedLayerError(
            f"layer '{layer_name}' has class '{class_name}', which tfjs_infer does not support."
            f"{hint} See the supported-layers table in the README.",
            layer=layer_name,
            class_name=class_name,
        )
    return fn


def supported_layers() -> list[str]:
    """Every Keras/TF.js class name that has a lowering (aliases such as
    ``Convolution2D`` or ``BatchNormalizationV1`` are accepted too)."""
    return sorted(n for n in _LOWERINGS if not n.startswith(OPS_PREFIX))


@functools.lru_cache(maxsize=4096)  # config keys repeat: thousands per model, few distinct
def snake_case(key: str) -> str:
    """camelCase -> snake_case (TF.js writes snake_case; hand-made files may not)."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower()


def norm_enum(value: Any) -> str:
    """Compare enum strings ignoring case and underscores: hardSigmoid == hard_sigmoid."""
    return str(value).replace("_", "").lower()


class TfjsRefusal(Exception):
    """A lowering under TF.js semantics met a layer TF.js 4.22 throws on."""


# The layer classes TF.js 4.22 registers (TFJS-FORMAT.md 5.1): any other
# class makes tf.loadLayersModel throw "Unknown layer".
TFJS_LAYER_CLASSES = frozenset(
    [
        "Sequential",
        "Model",
        "Functional",
        "InputLayer",
        "Dense",
        "Activation",
        "Dropout",
        "SpatialDropout1D",
        "Flatten",
        "Reshape",
        "Permute",
        "RepeatVector",
        "Masking",
        "Embedding",
        "ReLU",
        "LeakyReLU",
        "PReLU",
        "ELU",
        "ThresholdedReLU",
        "Softmax",
        "Conv1D",
        "Conv2D",
        "Conv3D",
        "Conv2DTranspose",
        "Conv3DTranspose",
        "SeparableConv2D",
        "DepthwiseConv2D",
        "ZeroPadding2D",
        "Cropping2D",
        "UpSampling2D",
        "MaxPooling1D",
        "MaxPooling2D",
        "MaxPooling3D",
        "AveragePooling1D",
        "AveragePooling2D",
        "AveragePooling3D",
        "GlobalAveragePooling1D",
        "GlobalAveragePooling2D",
        "GlobalMaxPooling1D",
        "GlobalMaxPooling2D",
        "BatchNormalization",
        "LayerNormalization",
        "Add",
        "Multiply",
        "Average",
        "Maximum",
        "Minimum",
        "Concatenate",
        "Dot",
        "RNN",
        "SimpleRNN",
        "GRU",
        "LSTM",
        "ConvLSTM2D",
        "TimeDistributed",
        "Bidirectional",
        "GaussianNoise",
        "GaussianDropout",
        "AlphaDropout",
        "Rescaling",
        "Resizing",
        "CenterCrop",
        "CategoryEncoding",
        "RandomWidth",
    ]
)


# Variables Keras counts as non-trainable whatever the layer's `trainable` flag.
_NON_TRAINABLE = frozenset({"moving_mean", "moving_variance"})


@dataclass
class LayerCall:
    """One call of one Keras layer, as a lowering sees it."""

    class_name: str
    name: str
    config: dict[str, Any]
    inputs: list[Tensor]
    kwargs: dict[str, Any] = field(default_factory=dict)
    semantics: str = "tfjs"
    call_index: int = 0
    scope: tuple[str, ...] = ()
    # Its variables in the file, whatever the format (io/weights.py).
    weights: WeightLookup = field(default_factory=lambda: NamedWeights({}, ""))
    params: int = 0  # parameters taken by this call, for summaries
    parent: LayerCall | None = None  # set on sub-layer views (see sub())
    non_trainable: int = 0  # of which non-trainable (BatchNorm statistics, frozen layers)
    # Called inside a Sequential: Keras 3 passes masks implicitly there.
    implicit_mask: bool = False
    # The file's arrays this call took, by their name in the file (the root
    # call's list, for Model.get_weights).
    taken: dict[str, np.ndarray] = field(default_factory=dict)

    # -- errors ---------------------------------------------------------------
    def error(self, message: str) -> InvalidModelError:
        return InvalidModelError(f"layer '{self.name}' ({self.class_name}): {message}")

    def unsupported(self, message: str) -> UnsupportedLayerError:
        return UnsupportedLayerError(
            f"layer '{self.name}' ({self.class_name}): {message}",
            layer=self.name,
            class_name=self.class_name,
        )

    def tfjs_refuses(self, reason: str) -> None:
        """Under TF.js semantics, stop: TF.js 4.22 cannot load or run this layer
        (``reason`` says why), so the model follows Keras (frontend/semantics.py)."""
        if self.semantics == "tfjs":
            raise TfjsRefusal(f"layer '{self.name}' ({self.class_name}): {reason}")

    # -- config ---------------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        value = self.config.get(key, default)
        return default if value is None else value

    def config_int(self, key: str, default: int | None = None, minimum: int | None = None) -> int:
        value = self.config.get(key, default)
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not _is_int32(value):
            raise self.error(f"config '{key}' must be a 32-bit integer, found {value!r}")
        if minimum is not None and value < minimum:
            raise self.error(f"config '{key}' must be at least {minimum}, found {value}")
        return value

    def config_float(self, key: str, default: float | None = None) -> float:
        value = self.config.get(key, default)
        if value is None:
            value = default
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise self.error(f"config '{key}' must be a number, found {value!r}")
        return float(value)

    def config_bool(self, key: str, default: bool) -> bool:
        value = self.config.get(key, default)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(f"config '{key}' must be true or false, found {value!r}")
        return value

    def config_ints(self, key: str, length: int, default: Any = None) -> tuple[int, ...]:
        """An int or a list of ints, expanded to `length` values."""
        value = self.config.get(key, default)
        if _is_int32(value):
            return (value,) * length
        if isinstance(value, (list, tuple)) and len(value) == length and all(map(_is_int32, value)):
            return tuple(value)
        raise self.error(f"config '{key}' must be an integer or {length} integers, found {value!r}")

    def config_enum(self, key: str, choices: Sequence[str], default: str) -> str:
        value = self.config.get(key, default)
        if value is None:
            value = default
        for choice in choices:
            if norm_enum(choice) == norm_enum(value):
                return choice
        raise self.error(f"config '{key}' must be one of {list(choices)}, found {value!r}")

    # -- weights --------------------------------------------------------------
    def weight(
        self, name: str, shape: Sequence[int | None] | None = None, index: int | None = None
    ) -> np.ndarray:
        """The layer's variable `name` (float32), checked against `shape` (None = any).

        `index` is its position in the layer's canonical variable order
        (TFJS-FORMAT.md 3.4), used for Keras files that store weights in order.
        """
        arr = self._find_weight(name, index)
        if arr is None:
            raise self.error(f"weight '{name}' was not found in the model's weights")
        arr = np.asarray(arr)
        if arr.dtype != np.float32:
            arr = arr.astype(np.float32)
        if shape is not None:
            ok = arr.ndim == len(shape) and all(
                s is None or s == d for s, d in zip(shape, arr.shape)
            )
            if not ok:
                want = tuple("?" if s is None else s for s in shape)
                raise self.error(f"weight '{name}' has shape {arr.shape}, expected {want}")
        root = self
        while root.parent is not None:
            root = root.parent
        if self.call_index == 0:
            root.params += int(arr.size)
            if name in _NON_TRAINABLE or root.config.get("trainable") is False:
                root.non_trainable += int(arr.size)
        return arr

    def has_weight(self, name: str, index: int | None = None) -> bool:
        """Whether the file holds the layer's variable `name` (or the one at
        canonical position `index`, Keras files)."""
        return self.weights.has((*self.scope, self.name), name, index)

    def sub(
        self,
        keras_paths: str | Sequence[str],
        scope_name: str | None,
        *,
        class_name: str | None = None,
        config: dict[str, Any] | None = None,
    ) -> LayerCall:
        """A view of a sub-object's variables (RNN cell, wrapped layer, the
        projections of MultiHeadAttention...), to call ``weight()`` on.

        `keras_paths`: its attribute path(s) inside the layer in ``.keras``
        files (``"query_dense"``, ``"forward_layer/cell"``; alternatives are
        tried in order, e.g. tf.keras's ``"_query_dense"``). `scope_name`: the
        name component its variables carry in weight names (``"query"`` for
        ``mha/query/kernel``; ``forward_lstm`` for TF.js's
        ``bidi/forward_lstm/kernel``); None when they carry none (TF.js and
        Keras 2 TimeDistributed).
        """
        paths = [keras_paths] if isinstance(keras_paths, str) else list(keras_paths)
        return LayerCall(
            class_name=class_name or self.class_name,
            name=scope_name or self.name,
            config=self.config if config is None else config,
            inputs=self.inputs,
            kwargs=self.kwargs,
            semantics=self.semantics,
            implicit_mask=self.implicit_mask,
            call_index=self.call_index,
            scope=(*self.scope, self.name) if scope_name else self.scope,
            weights=self.weights.sub(paths, scope_name, self.name),
            parent=self,
        )

    def _find_weight(self, name: str, index: int | None) -> np.ndarray | None:
        found = self.weights.find((*self.scope, self.name), name, index)
        if found is None:
            return None
        file_name, arr = found
        self._root().taken.setdefault(file_name, arr)  # for Model.get_weights
        return arr

    def _root(self) -> LayerCall:
        root = self
        while root.parent is not None:
            root = root.parent
        return root


@dataclass
class StateSlot:
    """A state a stateful layer keeps between predict calls.

    The core graph stays a pure function: the state enters as a hidden graph
    input and its new value leaves as a hidden graph output; Model stores it
    between calls (see Model.reset_states).
    """

    name: str
    shape: Shape  # (None, units): the batch is fixed by `batch`, checked by Model
    batch: int
    input: Tensor
    output: Tensor | None = None


@dataclass
class LayerRecord:
    """One layer (or nested model, or input) as the inspection API sees it."""

    path: str  # "outer/inner" inside nested models
    name: str
    class_name: str
    inputs: list[Tensor]  # of its first call
    params: int = 0
    non_trainable: int = 0
    weights: dict[str, np.ndarray] = field(default_factory=dict)  # by name in the file
    # (call index in the config, order lowered, outputs) of each call: the
    # lowering meets a shared layer's calls as their inputs become ready.
    calls: list[tuple[int, int, list[Tensor]]] = field(default_factory=list)

    @property
    def outputs(self) -> list[Tensor]:
        """The outputs of all its calls, in call order."""
        return [t for _, _, outs in sorted(self.calls, key=lambda c: c[:2]) for t in outs]


class GraphBuilder:
    """Builds the core graph; remembers per-layer facts for Model.summary()."""

    def __init__(self) -> None:
        # Every op added is typed by the core's shape rules (Graph.add_op).
        self.graph = _core.Graph()
        self.layers: list[dict[str, Any]] = []  # name, class, output shapes, params
        self._seen_layers: dict[str, dict[str, Any]] = {}
        # The fixed batch size a model input declares (batch_input_shape[0]),
        # which stateful layers need.
        self.declared_batch: int | None = None
        self.states: list[StateSlot] = []
        # Per layer call (scope/name): what its ops are, to compare the
        # lowerings of two semantics (frontend/semantics.py).
        self.current_layer = ""
        self.signatures: dict[str, list[tuple[Any, ...]]] = {}
        # For the inspection API (Model.layers, submodels): every layer and
        # nested model by path, in the order they were lowered, and each op's
        # (input ids, output ids).
        self.records: dict[str, LayerRecord] = {}
        self.edges: list[tuple[list[int], list[int]]] = []

    def state_input(self, name: str, shape: Shape, batch: int) -> StateSlot:
        """A hidden graph input holding a state carried across predict calls."""
        t = Tensor(self.graph.add_input(name, list(shape), "float32"), tuple(shape))
        slot = StateSlot(name, tuple(shape), batch, t)
        self.states.append(slot)
        return slot

    def input(self, name: str, shape: Shape, dtype: str = "float32") -> Tensor:
        return Tensor(self.graph.add_input(name, list(shape), dtype), tuple(shape), dtype)

    def op(
        self,
        op_type: str,
        layer: LayerCall | str,
        inputs: Sequence[Tensor],
        attrs: dict[str, Any] | None = None,
        weights: Mapping[str, np.ndarray | None] | None = None,
    ) -> Tensor:
        """Add one core op of one output; returns it, typed by the core.

        Output shapes and dtypes are never computed here: the op's own shape
        rule (its infer() in cpp/ops/) gives them as the op is added, with
        None where a size is not known yet (the batch, a free time axis), and
        refuses inputs that do not fit (InvalidModelError naming the layer).
        """
        outs = self._add_op(op_type, layer, inputs, attrs, weights)
        if len(outs) != 1:
            name = layer if isinstance(layer, str) else layer.name
            raise RuntimeError(f"op {op_type} of {name} has {len(outs)} outputs: use op_outputs")
        return outs[0]

    def op_outputs(
        self,
        op_type: str,
        layer: LayerCall | str,
        inputs: Sequence[Tensor],
        attrs: dict[str, Any] | None = None,
        weights: Mapping[str, np.ndarray | None] | None = None,
    ) -> list[Tensor]:
        """Add one core op; returns all its outputs (as many as its attributes
        ask for: an RNN's states, attention scores), typed by the core."""
        return self._add_op(op_type, layer, inputs, attrs, weights)

    def _add_op(
        self,
        op_type: str,
        layer: LayerCall | str,
        inputs: Sequence[Tensor],
        attrs: dict[str, Any] | None,
        weights: Mapping[str, np.ndarray | None] | None,
    ) -> list[Tensor]:
        name = layer if isinstance(layer, str) else layer.name
        w = {k: np.ascontiguousarray(v) for k, v in (weights or {}).items() if v is not None}
        in_ids = [t.id for t in inputs]
        try:
            ids = self.graph.add_op(op_type, name, in_ids, attrs or {}, w)
        except InvalidModelError as exc:  # the op refuses its inputs or attributes
            raise _as_layer_error(layer, op_type, exc) from None
        outs = [Tensor(i, tuple(s), dt) for i, (s, dt) in zip(ids, self.graph.value_types(ids))]
        self.edges.append((in_ids, list(ids)))
        self.signatures.setdefault(self.current_layer, []).append(
            (op_type, sorted((attrs or {}).items(), key=str), w, [t.shape for t in outs])
        )
        return outs

    def record_layer(self, call: LayerCall, outputs: list[Tensor]) -> None:
        entry = self._seen_layers.get(call.name)
        if entry is None:
            entry = {
                "name": call.name,
                "class_name": call.class_name,
                "output_shapes": [],
                "params": 0,
                "non_trainable": 0,
                "scope": "/".join(call.scope),
            }
            self._seen_layers[call.name] = entry
            self.layers.append(entry)
        entry["output_shapes"].extend(t.shape for t in outputs)
        # One call holds all of a layer's weights (a nested model called
        # twice lowers its layers twice, each call counting them).
        entry["params"] = max(entry["params"], call.params)
        entry["non_trainable"] = max(entry["non_trainable"], call.non_trainable)
        record = self.record(
            call.scope, call.name, call.class_name, call.inputs, outputs, call.call_index
        )
        record.params = max(record.params, call.params)
        record.non_trainable = max(record.non_trainable, call.non_trainable)
        record.weights.update(call.taken)

    def record(
        self,
        scope: Sequence[str],
        name: str,
        class_name: str,
        inputs: Sequence[Tensor],
        outputs: Sequence[Tensor],
        call_index: int = 0,
    ) -> LayerRecord:
        """Note one call of a layer, nested model or input for the inspection API."""
        path = "/".join((*scope, name))
        record = self.records.get(path)
        if record is None:
            record = LayerRecord(path, name, class_name, list(inputs))
            self.records[path] = record
        elif call_index < min(c[0] for c in record.calls):
            record.inputs = list(inputs)
        record.calls.append((call_index, len(record.calls), list(outputs)))
        return record


def _as_layer_error(
    layer: LayerCall | str, op_type: str, exc: InvalidModelError
) -> InvalidModelError:
    """The core's complaint about an op being added ("layer 'd' (dense):
    expected ..., received ..."), naming the layer by its Keras class."""
    what = str(exc)
    prefix = f"layer '{layer if isinstance(layer, str) else layer.name}' ({op_type}): "
    if isinstance(layer, str) or not what.startswith(prefix):
        return exc
    return type(exc)(f"layer '{layer.name}' ({layer.class_name}): {what[len(prefix) :]}")


def _is_int32(value: Any) -> TypeGuard[int]:
    """An int (not a bool) that the core's 32-bit attributes can hold."""
    return isinstance(value, int) and not isinstance(value, bool) and -(2**31) <= value < 2**31


def require_rank(layer: LayerCall, t: Tensor, *ranks: int) -> None:
    if len(t.shape) not in ranks:
        want = " or ".join(str(r) for r in ranks)
        raise layer.error(f"expected an input of rank {want}, received shape {fmt_shape(t.shape)}")


def fmt_shape(shape: Shape) -> str:
    return (
        "("
        + ", ".join("None" if d is None else str(d) for d in shape)
        + ("," if len(shape) == 1 else "")
        + ")"
    )
