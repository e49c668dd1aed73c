"""Walks a Keras model config (Sequential or Functional, nested to any depth,
Keras 2 / TF.js or Keras 3 dialect) and lowers every layer call into core ops.

TFJS-FORMAT.md section 4 is the reference: node formats are decided per node
(a list is Keras 2 style, a dict Keras 3 style), and references to a nested
model count its first call as node 1 in Keras 2 / TF.js files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InvalidModelError, TfjsInferError, UnsupportedLayerError
from ..io.weights import WeightSource
from .registry import (
    OPS_PREFIX,
    TFJS_LAYER_CLASSES,
    GraphBuilder,
    LayerCall,
    Tensor,
    canonical_class,
    get_lowering,
    has_lowering,
    snake_case,
)

if TYPE_CHECKING:
    from typing import TypeGuard  # Python 3.10+: annotations only

MODEL_CLASSES = ("Sequential", "Model", "Functional")
TensorKey = tuple  # (layer name, node index, tensor index)


@dataclass
class BuildContext:
    """What every layer call needs besides its own config."""

    builder: GraphBuilder
    semantics: str
    weights: WeightSource  # the model's weights, a lookup per layer (io/weights.py)
    source: str
    state: dict[str, Any] = field(default_factory=dict)
    # Paths of nested models that TF.js flattens: the first layer of a
    # Sequential (with no InputLayer before it) that is a model itself gives
    # that Sequential its inputs and layers, so TF.js names its layers
    # without the model's prefix (see select.aliases).
    flattened: set[str] = field(default_factory=set)


@dataclass
class BuiltModel:
    inputs: list[Tensor]
    input_names: list[str]
    outputs: list[Tensor]
    output_names: list[str]
    output_keys: list[str] | None  # set when the model's outputs are a dict


def normalize_keys(obj: Any) -> Any:
    """snake_case every dict key (values untouched)."""
    if isinstance(obj, dict):
        return {
            snake_case(k) if isinstance(k, str) else k: normalize_keys(v) for k, v in obj.items()
        }
    if isinstance(obj, list):
        return [normalize_keys(v) for v in obj]
    return obj


# What a lowering raises on a config value of an unexpected JSON type (a list
# for a name, a huge number cast to a C++ int, ...): turned into an
# InvalidModelError naming the layer (the original stays chained).
MALFORMED_CONFIG_ERRORS = (
    TypeError,
    AttributeError,
    KeyError,
    IndexError,
    ValueError,
    OverflowError,
    RecursionError,
    RuntimeError,
)


def build_top_level(topology: dict[str, Any], ctx: BuildContext) -> BuiltModel:
    """Lower the whole model; graph inputs come from its InputLayers."""
    try:
        return _build_top_level(topology, ctx)
    except TfjsInferError:
        raise
    except MALFORMED_CONFIG_ERRORS as exc:
        raise InvalidModelError(
            f"{ctx.source}: the model config has a value of an unexpected type or shape "
            f"({type(exc).__name__}: {exc})"
        ) from exc


def _build_top_level(topology: dict[str, Any], ctx: BuildContext) -> BuiltModel:
    cls = canonical_class(str(topology.get("class_name")))
    config = normalize_keys(topology.get("config"))
    if cls == "Sequential":
        return _build_sequential(config, ctx, None, ())
    if cls == "Model":
        return _build_functional(config, ctx, None, ())
    raise UnsupportedLayerError(
        f"{ctx.source}: the top-level model class '{topology.get('class_name')}' is not a "
        "Sequential or Functional model (subclassed models have no usable config)"
    )


# -- Sequential ----------------------------------------------------------------


def _sequential_layers(
    config: Any, source: str
) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    if isinstance(config, list):  # Keras 2.0/2.1 and TF.js before 1.3: a bare list
        return "sequential", config, {}
    if isinstance(config, dict) and isinstance(config.get("layers"), list):
        return str(config.get("name", "sequential")), config["layers"], config
    raise InvalidModelError(f"{source}: a Sequential config must hold a 'layers' list")


def _input_shape_from_layer(cfg: dict[str, Any]) -> tuple[list[Any] | None, str | None]:
    """A layer config's declared batch input shape and dtype, when it has one."""
    for key in ("batch_input_shape", "batch_shape"):
        if isinstance(cfg.get(key), list):
            return list(cfg[key]), cfg.get("dtype") if isinstance(cfg.get("dtype"), str) else None
    if isinstance(cfg.get("input_shape"), list):
        return [cfg.get("batch_size"), *cfg["input_shape"]], None
    if isinstance(cfg.get("input_dim"), int) and "units" in cfg:  # Keras 2 Dense(input_dim=)
        return [None, cfg["input_dim"]], None
    if isinstance(cfg.get("input_length"), int):  # Embedding(input_length=)
        return [None, cfg["input_length"]], None
    return None, None


def _entry_input_shape(entry: dict[str, Any]) -> tuple[list[Any] | None, str | None]:
    """The input shape a layer entry declares, looking inside nested models."""
    cls = canonical_class(str(entry.get("class_name", "")))
    config = entry.get("config")
    if cls == "Sequential":
        try:
            _, layers, seq_config = _sequential_layers(config, "")
        except InvalidModelError:
            return None, None
        if layers:
            shape, dtype = _entry_input_shape(layers[0])
            if shape is not None:
                return shape, dtype
        bis = seq_config.get("build_input_shape") if isinstance(seq_config, dict) else None
        return (list(bis), None) if isinstance(bis, list) else (None, None)
    if cls == "Model" and isinstance(config, dict):
        refs, _ = _flatten_refs(config.get("input_layers", []))
        by_name = {_entry_name(e): e for e in config.get("layers") or []}
        if len(refs) == 1 and refs[0][0] in by_name:
            return _entry_input_shape(by_name[refs[0][0]])
        return None, None
    cfg = config if isinstance(config, dict) else {}
    shape, dtype = _input_shape_from_layer(cfg)
    if shape is None and isinstance((entry.get("build_config") or {}).get("input_shape"), list):
        shape = list(entry["build_config"]["input_shape"])
    return shape, dtype or _policy_dtype(cfg.get("dtype"))


def _policy_dtype(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return _policy_dtype((value.get("config") or {}).get("name"))
    return None


def _build_sequential(
    config: Any, ctx: BuildContext, inputs: list[Tensor] | None, scope: tuple[str, ...]
) -> BuiltModel:
    name, layers, seq_config = _sequential_layers(config, ctx.source)
    if not layers:
        raise InvalidModelError(f"{ctx.source}: Sequential model '{name}' has no layers")
    first = layers[0]
    body = layers
    if inputs is None:
        if canonical_class(first.get("class_name", "")) == "InputLayer":
            shape, dtype = _input_shape_from_layer(first.get("config") or {})
            input_name = (first.get("config") or {}).get("name", "input")
            body = layers[1:]
        else:
            shape, dtype = _entry_input_shape(first)
            if shape is None:
                bis = seq_config.get("build_input_shape")
                shape = list(bis) if isinstance(bis, list) else None
            input_name = f"{(first.get('config') or {}).get('name', name)}_input"
        if shape is None:
            raise InvalidModelError(
                f"{ctx.source}: Sequential model '{name}': the first layer declares no input "
                "shape (batch_input_shape / batch_shape), so the model cannot be built"
            )
        dtype = _policy_dtype(dtype or (first.get("config") or {}).get("dtype")) or "float32"
        x = _make_input(ctx, input_name, shape, dtype)
        graph_inputs, names = [x], [input_name]
    else:
        x = inputs[0]
        if canonical_class(first.get("class_name", "")) == "InputLayer":
            body = layers[1:]
            ctx.builder.record(scope, _entry_name(first), "InputLayer", [x], [x])
        elif _entry_input_shape(first)[0] is not None:  # Keras and TF.js make "<first>_input"
            ctx.builder.record(scope, f"{_entry_name(first)}_input", "InputLayer", [x], [x])
        graph_inputs, names = inputs, []
    # TF.js gives a Sequential whose first layer (no InputLayer before it) is
    # a model that model's inputs and layers (see BuildContext.flattened).
    flat_root = inputs is None or "/".join(scope) in ctx.flattened
    if flat_root and canonical_class(first.get("class_name", "")) in MODEL_CLASSES:
        ctx.flattened.add("/".join((*scope, _entry_name(first))))
    out_name = names[0] if names else name
    # A Keras 3 Sequential records no mask nodes (a Functional does): its
    # layers get the previous layer's mask implicitly, as in Keras 2.
    outer, ctx.state["implicit_masks"] = ctx.state.get("implicit_masks", False), True
    for entry in body:
        out_name = _entry_name(entry)
        outs = _call_layer(entry, [x], {}, ctx, scope, call_index=0)
        if len(outs) != 1:
            raise InvalidModelError(
                f"{ctx.source}: layer '{_entry_name(entry)}' in Sequential '{name}' gives "
                f"{len(outs)} outputs; a Sequential layer must give one"
            )
        x = outs[0]
    ctx.state["implicit_masks"] = outer
    return BuiltModel(graph_inputs, names, [x], [out_name], None)


# -- Functional ----------------------------------------------------------------


def _is_leaf_ref(obj: Any) -> TypeGuard[list[Any]]:
    return (
        isinstance(obj, list)
        and len(obj) >= 3
        and isinstance(obj[0], str)
        and isinstance(obj[1], int)
    )


def _flatten_refs(obj: Any) -> tuple[list[TensorKey], list[str] | None]:
    """input_layers / output_layers: a triple, a list of triples, or a dict of triples."""
    if _is_leaf_ref(obj):
        return [tuple(obj[:3])], None
    if isinstance(obj, dict):
        keys = list(obj)
        return [tuple(obj[k][:3]) for k in keys], keys
    if isinstance(obj, list):
        out: list[TensorKey] = []
        for item in obj:
            sub, _ = _flatten_refs(item)
            out.extend(sub)
        return out, None
    raise InvalidModelError(f"bad input/output layer reference {obj!r}")


def _nested_offset(entry: dict[str, Any], dialect_keras3: bool) -> int:
    """Keras 2 / TF.js: a nested model with a defined input owns node 0."""
    cls = canonical_class(entry.get("class_name", ""))
    if dialect_keras3 or cls not in MODEL_CLASSES:
        return 0
    if cls == "Model":
        return 1
    _, layers, _ = _sequential_layers(entry.get("config"), "")
    if not layers:
        return 0
    first = layers[0]
    if canonical_class(first.get("class_name", "")) == "InputLayer":
        return 1
    shape, _ = _input_shape_from_layer(first.get("config") or {})
    return 1 if shape is not None else 0


def _leaves(value: list[Any]) -> list[Any]:
    """The non-list elements of nested lists, in order."""
    out: list[Any] = []
    for v in value:
        out += _leaves(v) if isinstance(v, list) else [v]
    return out


def _flat_items(node: list[Any]) -> list[Any]:
    """A Keras 2 node's elements with nested lists flattened: an RNN called
    with the states of stacked cells records them nested, [[h1], [h2, c2]]."""
    out: list[Any] = []
    for item in node:
        if isinstance(item, list) and item and all(isinstance(i, list) for i in item):
            out += _flat_items(item)
        else:
            out.append(item)
    return out


class _NodeArgs:
    """A parsed inbound node: the positional input refs and kwargs."""

    def __init__(self, node: Any, source: str, layer: str) -> None:
        self.refs: list[TensorKey] = []
        # (position among the positional arguments, value) of non-tensor ones.
        self.constants: list[tuple[int, Any]] = []
        self.kwargs: dict[str, Any] = {}
        self.kwarg_refs: dict[str, Any] = {}
        self.keras3 = isinstance(node, dict)
        if isinstance(node, dict):  # Keras 3: {"args": [...], "kwargs": {...}}
            args = node.get("args") or []
            if len(args) == 1 and isinstance(args[0], (list, tuple)):
                args = args[0]
            for a in args:
                ref = _keras3_ref(a)
                if ref is None:
                    # A constant operand (keras.ops calls such as x * 0.5).
                    self.constants.append((len(self.refs) + len(self.constants), _constant(a)))
                    continue
                self.refs.append(ref)
            for k, v in (node.get("kwargs") or {}).items():
                self._kwarg(k, v, _keras3_ref)
        elif isinstance(node, list):  # Keras 2 / TF.js: [[name, node, tensor, kwargs], ...]
            if _is_leaf_ref(node):  # one flat element (tf.keras TFOpLambda nodes)
                node = [node]
            for item in _flat_items(node):
                if not _is_leaf_ref(item):
                    raise InvalidModelError(
                        f"{source}: layer '{layer}' has a bad inbound node {item!r}"
                    )
                if item[0] == "_CONSTANT_VALUE":
                    # A constant operand of a tf-op call (3.0 - x): its value is item[2].
                    self.constants.append((len(self.refs) + len(self.constants), item[2]))
                else:
                    self.refs.append(tuple(item[:3]))
                if len(item) > 3 and isinstance(item[3], dict):
                    self.kwargs = {}
                    self.kwarg_refs = {}
                    for k, v in item[3].items():
                        self._kwarg(k, v, lambda o: tuple(o[:3]) if _is_leaf_ref(o) else None)
        else:
            raise InvalidModelError(f"{source}: layer '{layer}' has a bad inbound node {node!r}")

    def _kwarg(self, key: str, value: Any, as_ref: Any) -> None:
        ref = as_ref(value)
        if ref is not None:
            self.kwarg_refs[key] = ref
        elif isinstance(value, list) and value and all(as_ref(v) is not None for v in value):
            self.kwarg_refs[key] = [as_ref(v) for v in value]
        elif (
            isinstance(value, list)
            and value
            and _leaves(value)
            and all(as_ref(v) is not None for v in _leaves(value))
        ):
            # Nested tensor lists (the initial states of stacked RNN cells): flattened.
            self.kwarg_refs[key] = [as_ref(v) for v in _leaves(value)]
        else:
            self.kwargs[key] = value

    def all_refs(self) -> list[TensorKey]:
        out = list(self.refs)
        for v in self.kwarg_refs.values():
            out.extend(v if isinstance(v, list) else [v])
        return out


def _constant(obj: Any) -> Any:
    """A Keras 3 serialized constant argument: plain JSON, or a __numpy__ /
    __tensor__ object (nothing else is accepted: nothing is ever evaluated)."""
    if isinstance(obj, dict):
        cls = obj.get("class_name")
        if cls in ("__numpy__", "__tensor__"):
            cfg = obj.get("config") or {}
            return np.asarray(cfg.get("value"), dtype=str(cfg.get("dtype") or "float32"))
        if cls == "__lambda__":
            raise UnsupportedLayerError("a lambda argument cannot be loaded (nothing is executed)")
        raise UnsupportedLayerError(f"unsupported call argument {str(obj)[:80]}")
    return obj


def _keras3_ref(obj: Any) -> TensorKey | None:
    if isinstance(obj, dict) and obj.get("class_name") == "__keras_tensor__":
        hist = (obj.get("config") or {}).get("keras_history")
        if _is_leaf_ref(hist):
            return tuple(hist[:3])
    return None


def _build_functional(
    config: Any, ctx: BuildContext, inputs: list[Tensor] | None, scope: tuple[str, ...]
) -> BuiltModel:
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise InvalidModelError(f"{ctx.source}: a Functional config must hold a 'layers' list")
    model_name = str(config.get("name", "model"))
    layers = config["layers"]
    by_name = {_entry_name(e): e for e in layers}
    in_refs, _ = _flatten_refs(config.get("input_layers", []))
    out_refs, out_keys = _flatten_refs(config.get("output_layers", []))
    if not in_refs or not out_refs:
        raise InvalidModelError(f"{ctx.source}: model '{model_name}' has no inputs or outputs")
    keras3 = any(isinstance(n, dict) for e in layers for n in (e.get("inbound_nodes") or []))

    tensors: dict[TensorKey, Tensor] = {}
    graph_inputs: list[Tensor] = []
    input_names: list[str] = []
    for i, ref in enumerate(in_refs):
        entry = by_name.get(ref[0])
        if entry is None or canonical_class(entry.get("class_name", "")) != "InputLayer":
            raise InvalidModelError(f"{ctx.source}: model input '{ref[0]}' is not an InputLayer")
        if inputs is None:
            cfg = entry.get("config") or {}
            shape, dtype = _input_shape_from_layer(cfg)
            if shape is None:
                raise InvalidModelError(f"{ctx.source}: InputLayer '{ref[0]}' has no shape")
            t = _make_input(
                ctx, ref[0], shape, _policy_dtype(dtype or cfg.get("dtype")) or "float32"
            )
        else:
            if i >= len(inputs):
                raise InvalidModelError(
                    f"{ctx.source}: nested model '{model_name}' takes {len(in_refs)} inputs, "
                    f"called with {len(inputs)}"
                )
            t = inputs[i]
            ctx.builder.record(scope, ref[0], "InputLayer", [t], [t])
        tensors[(ref[0], 0, 0)] = t
        graph_inputs.append(t)
        input_names.append(ref[0])

    # Lower nodes as their inputs become ready (configs are not always sorted).
    pending = [
        (entry, k, node)
        for entry in layers
        if canonical_class(entry.get("class_name", "")) != "InputLayer"
        for k, node in enumerate(entry.get("inbound_nodes") or [])
    ]
    while pending:
        progressed = False
        rest = []
        for entry, k, node in pending:
            name = _entry_name(entry)
            args = _NodeArgs(node, ctx.source, name)
            if not all(r in tensors for r in args.all_refs()):
                rest.append((entry, k, node))
                continue
            ins = [tensors[r] for r in args.refs]
            kwargs = dict(args.kwargs)
            if args.constants:
                kwargs["__constants__"] = list(args.constants)
            for key, ref in args.kwarg_refs.items():
                kwargs[key] = [tensors[r] for r in ref] if isinstance(ref, list) else tensors[ref]
            if (
                not args.keras3
                and canonical_class(entry.get("class_name", "")) not in MODEL_CLASSES
            ):
                # Keras 2 / TF.js: extra inputs of an RNN are its initial states.
                pass
            outs = _call_layer(entry, ins, kwargs, ctx, scope, call_index=k)
            offset = _nested_offset(entry, keras3)
            for j, t in enumerate(outs):
                tensors[(name, k + offset, j)] = t
            progressed = True
        if not progressed:
            missing = sorted(
                {
                    r[0]
                    for e, _, n in rest
                    for r in _NodeArgs(n, ctx.source, "").all_refs()
                    if r not in tensors
                }
            )
            raise InvalidModelError(
                f"{ctx.source}: model '{model_name}': layers "
                f"{sorted({_entry_name(e) for e, _, _ in rest})} wait for inputs that are never "
                f"produced (from {missing})"
            )
        pending = rest

    outputs: list[Tensor] = []
    for ref in out_refs:
        out_key = tuple(ref)
        entry = by_name.get(ref[0])
        if keras3 and entry is not None and canonical_class(entry.get("class_name", "")) == "Model":
            # Keras 3 offsets output references to a nested Functional by one
            # (its own built-in node); inbound references are 0-based.
            out_key = (ref[0], ref[1] - 1, ref[2])
        if out_key not in tensors:
            raise InvalidModelError(f"{ctx.source}: model output {list(ref)} is never produced")
        outputs.append(tensors[out_key])
    output_names = [r[0] for r in out_refs]
    return BuiltModel(graph_inputs, input_names, outputs, output_names, out_keys)


# -- one layer call ------------------------------------------------------------


def is_keras_op(entry: dict[str, Any]) -> bool:
    """A keras.ops call recorded in a Keras 3 Functional graph (not a layer)."""
    module = entry.get("module")
    return isinstance(module, str) and module.startswith("keras.src.ops")


def _refuse_quantized(config: dict[str, Any], name: str, cls: str, source: str) -> None:
    """Keras 3 quantized layers (int8/int4/float8 dtype policies) store other
    variables (int8 kernels, scales): refuse them rather than misread them."""
    policy = config.get("dtype")
    if isinstance(policy, dict):
        kind = str(policy.get("class_name", ""))
        pcfg = policy.get("config") or {}
        pname = str(pcfg.get("name") or pcfg.get("mode") or "")
        if kind.startswith("Quantized") or "_from_" in pname or kind == "GPTQDTypePolicy":
            raise UnsupportedLayerError(
                f"{source}: layer '{name}' is quantized (dtype policy '{pname or kind}'); "
                "quantized Keras layers are not supported",
                layer=name,
                class_name=cls,
            )


def _refuse_custom(entry: dict[str, Any], name: str, source: str) -> None:
    """Custom (user-registered) classes have no config tfjs_infer can trust."""
    module = entry.get("module")
    registered = entry.get("registered_name")
    cls = str(entry.get("class_name", ""))
    custom = isinstance(registered, str) and ">" in registered
    if isinstance(module, str) and not module.startswith(("keras", "tf_keras", "tensorflow")):
        custom = True
    if custom:
        raise UnsupportedLayerError(
            f"{source}: layer '{name}' is a custom object "
            f"('{registered or f'{module}.{cls}'}'); custom "
            "layers run user code, which tfjs_infer never executes. See the supported-layers "
            "table in the README.",
            layer=name,
            class_name=cls,
        )


def _entry_name(entry: dict[str, Any]) -> str:
    return str(entry.get("name") or (entry.get("config") or {}).get("name") or "?")


def _make_input(ctx: BuildContext, name: str, shape: list[Any], dtype: str) -> Tensor:
    if not shape:
        raise InvalidModelError(f"{ctx.source}: input '{name}' has an empty shape")
    dims: list[int | None] = []
    for d in shape:
        if d is None or (isinstance(d, int) and d == -1):
            dims.append(None)
        elif isinstance(d, int) and not isinstance(d, bool) and 0 < d < (1 << 31):
            dims.append(d)
        else:
            raise InvalidModelError(
                f"{ctx.source}: input '{name}' has a bad dimension {d!r} in {shape}"
            )
    if dims[0] is not None and ctx.builder.declared_batch is None:
        ctx.builder.declared_batch = dims[0]  # stateful RNNs need it
    dims[0] = None  # predict batches along axis 0 whatever the file says
    core_dtype = (
        "int32" if dtype in ("int32", "int64", "int16", "int8", "uint8", "bool") else "float32"
    )
    t = ctx.builder.input(name, tuple(dims), core_dtype)
    ctx.builder.record((), name, "InputLayer", [], [t])
    return t


def _call_layer(
    entry: dict[str, Any],
    inputs: list[Tensor],
    kwargs: dict[str, Any],
    ctx: BuildContext,
    scope: tuple[str, ...],
    call_index: int,
) -> list[Tensor]:
    class_name = str(entry.get("class_name", ""))
    cls = canonical_class(class_name)
    config = entry.get("config")
    name = _entry_name(entry)
    if cls in MODEL_CLASSES:
        build = _build_sequential if cls == "Sequential" else _build_functional
        outs = build(config, ctx, inputs, (*scope, name)).outputs
        ctx.builder.record(scope, name, class_name, inputs, outs, call_index)
        return outs
    if not isinstance(config, dict):
        raise InvalidModelError(f"{ctx.source}: layer '{name}' has no config object")
    _refuse_custom(entry, name, ctx.source)
    _refuse_quantized(config, name, class_name, ctx.source)
    # A keras.ops call; in a legacy .h5 (no "module" key) known by its class
    # having only an ops lowering, or by constant operands (x * 0.5).
    is_op = is_keras_op(entry) or (
        has_lowering(OPS_PREFIX + class_name)
        and (not has_lowering(class_name) or "__constants__" in kwargs)
    )
    fn = get_lowering(OPS_PREFIX + class_name if is_op else class_name, name)
    if "__constants__" in kwargs and not is_op and cls != "TFOpLambda":
        raise UnsupportedLayerError(
            f"{ctx.source}: layer '{name}' is called with a non-tensor positional argument "
            f"{str(kwargs['__constants__'][0][1])[:80]}; not supported",
            layer=name,
            class_name=class_name,
        )
    key = (*scope, name)
    call = LayerCall(
        class_name=cls,
        name=name,
        config=config,
        inputs=list(inputs),
        kwargs=kwargs,
        semantics=ctx.semantics,
        call_index=call_index,
        scope=scope,
        weights=ctx.weights.layer(key),
        implicit_mask=bool(ctx.state.get("implicit_masks", False)),
    )
    if not inputs and not any(isinstance(v, Tensor) for v in kwargs.values()):
        raise InvalidModelError(f"{ctx.source}: layer '{name}' is called with no inputs")
    ctx.builder.current_layer = "/".join(key)
    if cls not in TFJS_LAYER_CLASSES:
        call.tfjs_refuses(f"TF.js 4.22 has no layer class '{class_name}' (Unknown layer)")
    try:
        outs = fn(call, ctx.builder)
    except TfjsInferError:
        raise
    except MALFORMED_CONFIG_ERRORS as exc:  # a config value of a type the lowering did not expect
        raise call.error(f"its config cannot be lowered ({type(exc).__name__}: {exc})") from exc
    ctx.builder.record_layer(call, outs)
    return outs
