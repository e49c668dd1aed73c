"""Which framework's numbers a model gets: ``semantics="auto" | "tfjs" | "keras"``.

- ``auto``: the file's provenance (io/provenance.py): TF.js's numbers for a
  model.json TF.js wrote, the numbers of the Keras version that wrote any
  other file;
- ``tfjs``: TF.js 4.22's numbers wherever TF.js runs the model;
- ``keras``: the Keras numbers (Keras 2 or 3 by the file's Keras version).

Where TF.js 4.22 cannot load or run the model (a lowering calls
``LayerCall.tfjs_refuses``, or a TF.js-semantics lowering fails where the
Keras one succeeds: e.g. a dropped ``keepdims`` feeding a Conv2D), the whole
model follows Keras: TF.js gives no numbers to reproduce.

To tell the user where the choice matters, the model is lowered under both
semantics and the ops of each layer call compared: a layer whose ops,
attributes or weights differ is one where TF.js 4.22 and Keras compute
differently. One ``SemanticsWarning`` at load lists them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import TfjsInferError
from ..io.provenance import keras_flavor
from ..io.spec import ModelSpec
from .lower import LoweredModel, lower_model
from .registry import TfjsRefusal

CHOICES = ("auto", "tfjs", "keras")
_NAMES = {"tfjs": "TF.js 4.22", "keras2": "Keras 2", "keras3": "Keras 3"}


class SemanticsWarning(UserWarning):
    """TF.js 4.22 and Keras compute some layers of this model differently."""


@dataclass(frozen=True)
class Semantics:
    """What numbers a model gives, and why.

    Attributes
    ----------
    chosen:
        ``"tfjs"``, ``"keras2"`` or ``"keras3"``: whose numbers predict gives.
    requested:
        What ``load_model`` was asked for: ``"auto"``, ``"tfjs"`` or ``"keras"``.
    reason:
        Why ``chosen`` follows from ``requested`` and the file.
    divergent_layers:
        The layers of this file where TF.js 4.22 and Keras compute differently.
    tfjs_error:
        Why TF.js 4.22 cannot load or run this model, when it cannot.
    """

    chosen: str
    requested: str
    reason: str
    divergent_layers: tuple[str, ...] = ()
    tfjs_error: str | None = None

    def __str__(self) -> str:
        return f"{_NAMES[self.chosen]} ({self.reason})"


def keras_semantics_of(spec: ModelSpec) -> str:
    """The Keras flavour whose numbers the file's Keras side means."""
    if spec.semantics in ("keras2", "keras3"):
        return spec.semantics
    return keras_flavor(spec.keras_version)


def _provenance(spec: ModelSpec) -> str:
    if spec.provenance:
        return spec.provenance
    kind = "an .h5 file" if spec.format == "keras-h5" else "a .keras file"
    if spec.format == "tfjs-layers":
        kind = "a model.json"
    return f"{kind} written by Keras {spec.keras_version or '?'}"


def check_choice(semantics: str) -> str:
    if semantics not in CHOICES:
        raise ValueError(f"semantics must be one of {list(CHOICES)}, received {semantics!r}")
    return semantics


def lower_with_semantics(
    spec: ModelSpec,
    requested: str = "auto",
    strict: bool = True,
    quiet: bool = False,
    **select: Any,
) -> tuple[LoweredModel, Semantics]:
    """Lower `spec` under the semantics `requested` resolves to; warn (unless
    `quiet`) where TF.js 4.22 and Keras differ on this file. `select`: the
    submodel's ``outputs``/``inputs`` (lower_model)."""
    check_choice(requested)
    keras = keras_semantics_of(spec)
    if requested == "keras":
        target, reason = keras, f"semantics='keras'; {_provenance(spec)}"
    elif requested == "tfjs":
        target, reason = "tfjs", "semantics='tfjs'"
    else:
        target, reason = spec.semantics, f"auto: {_provenance(spec)}"
    tfjs_error = None
    if spec.semantics == "keras3":
        # Keras 3 configs (InputLayer batch_shape, dict nodes...) do not load in TF.js.
        tfjs_error = "TF.js 4.22 cannot load Keras 3 model configs"
    lowered = None
    if target == "tfjs" and tfjs_error is None:
        lowered, tfjs_error = _try_tfjs(spec, strict, select)
    if target == "tfjs" and tfjs_error is not None:
        target, reason = keras, f"{reason}, but TF.js 4.22 cannot run this model: {tfjs_error}"
    if lowered is None:
        lowered = lower_model(spec, strict=strict, semantics=target, **select)
    divergent: list[str] = []
    if tfjs_error is None and (spec.format == "tfjs-layers" or requested != "auto"):
        divergent, tfjs_error = _divergent_layers(spec, lowered, target, keras, strict)
    info = Semantics(target, requested, reason, tuple(divergent), tfjs_error)
    lowered.signatures = {}
    if not quiet and (divergent or (tfjs_error and requested == "tfjs")):
        warnings.warn(warning_text(spec, info), SemanticsWarning, stacklevel=4)
    return lowered, info


def _try_tfjs(
    spec: ModelSpec, strict: bool, select: dict[str, Any]
) -> tuple[LoweredModel | None, str | None]:
    """The TF.js lowering, or why TF.js 4.22 cannot run the model."""
    try:
        return lower_model(spec, strict=strict, semantics="tfjs", **select), None
    except TfjsRefusal as exc:
        return None, str(exc)
    except TfjsInferError as exc:
        tfjs_failure = exc
    # TF.js's own reading of the config fails (a dropped keepdims leaves a
    # Conv2D a rank-2 input...): if Keras's reading works, TF.js refuses it;
    # if not, the file is broken and the TF.js reading's error (with its
    # cause) is the one to raise.
    try:
        lower_model(spec, strict=strict, semantics=keras_semantics_of(spec))
    except TfjsInferError:
        raise tfjs_failure  # noqa: B904 - the first error, not this second reading's
    return None, str(tfjs_failure)


def _divergent_layers(
    spec: ModelSpec, lowered: LoweredModel, target: str, keras: str, strict: bool
) -> tuple[list[str], str | None]:
    """Layer calls whose ops differ between the TF.js and the Keras lowering,
    and why TF.js 4.22 cannot run the model when its lowering refuses it
    (then no layer is listed: TF.js gives no numbers to compare)."""
    other_semantics = keras if target == "tfjs" else "tfjs"
    try:
        other = lower_model(spec, strict=strict, semantics=other_semantics)
    except (TfjsRefusal, TfjsInferError) as exc:
        return [], str(exc) if other_semantics == "tfjs" else None
    mine, theirs = lowered.signatures, other.signatures
    names = [
        name
        for name in dict.fromkeys([*mine, *theirs])
        if name and not _same_ops(mine.get(name, []), theirs.get(name, []))
    ]
    return names, None


# Attributes whose TF.js and Keras values differ only on non-finite inputs (a
# max-pooling window of nothing but NaN/-inf): README "NaN and infinity" lists
# them. Warning about them would flag every max-pooling model at every load.
_NONFINITE_ONLY_ATTRS = frozenset({"max_from_lowest"})


def _finite_attrs(attrs: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """An op's (name, value) attribute pairs less those in _NONFINITE_ONLY_ATTRS."""
    return [(k, v) for k, v in attrs if k not in _NONFINITE_ONLY_ATTRS]


def _same_ops(a: list[tuple[Any, ...]], b: list[tuple[Any, ...]]) -> bool:
    if len(a) != len(b):
        return False
    for (type_a, attrs_a, w_a, shapes_a), (type_b, attrs_b, w_b, shapes_b) in zip(a, b):
        if (
            type_a != type_b
            or _finite_attrs(attrs_a) != _finite_attrs(attrs_b)
            or shapes_a != shapes_b
            or w_a.keys() != w_b.keys()
        ):
            return False
        for key, arr in w_a.items():
            other = w_b[key]
            if arr is not other and not (
                arr.shape == other.shape and arr.dtype == other.dtype and np.array_equal(arr, other)
            ):
                return False
    return True


def warning_text(spec: ModelSpec, info: Semantics) -> str:
    """The load warning: the layers where TF.js 4.22 and Keras differ, and whose numbers we give."""
    source = spec.source or "model"
    keras = _NAMES[keras_semantics_of(spec)]
    parts = [f"{source}: semantics {_NAMES[info.chosen]} ({info.reason})."]
    if info.tfjs_error is not None:
        parts.append(f"TF.js 4.22 cannot run this model, so every layer follows {keras}.")
    if info.divergent_layers:
        names = ", ".join(repr(n) for n in info.divergent_layers)
        parts.append(
            f"TF.js 4.22 and {keras} compute these layers differently: {names}; "
            f"giving {_NAMES[info.chosen]}'s numbers."
        )
    parts.append("Pass semantics='tfjs' or semantics='keras' to load_model to choose.")
    return " ".join(parts)
