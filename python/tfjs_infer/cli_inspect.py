"""The ``tfjs-infer layers`` and ``tfjs-infer diff`` commands: intermediate
outputs for debugging a model or a port.

    tfjs-infer layers MODEL                         the layer table
    tfjs-infer layers MODEL INPUT... [--layer NAME ...] --out acts.npz
                                                    dump layer outputs
    tfjs-infer diff MODEL INPUT... --reference acts.npz [--rtol R --atol A]
                                                    compare with a TF.js/Keras dump

The reference dumps come from examples/dump_tfjs_layers.mjs (TF.js in Node)
or examples/dump_keras_layers.py (Keras), which name arrays as tfjs-infer
names layers (``outer/inner`` inside nested models, ``name:i`` for one of
several outputs).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ._cli_inputs import read_inputs
from .errors import InputValueError
from .frontend.select import canonical
from .model import Model


@dataclass
class LayerDiff:
    """How one layer output compares with its reference."""

    name: str
    shape: tuple[int, ...]
    max_abs: float
    max_rel: float  # max_abs over the reference's largest magnitude
    ok: bool
    note: str = ""


def output_names(model: Model, only: list[str] | None = None) -> list[str]:
    """Every layer output's name in topological order (or `only`, checked)."""
    names = [n for info in model.layers for n in info.output_names]
    if not only:
        return names
    for n in only:
        if n not in names:
            model.get_layer(n.rpartition(":")[0] if ":" in n else n)  # raises with close matches
    return list(only)


def compare(name: str, got: np.ndarray, ref: np.ndarray, rtol: float, atol: float) -> LayerDiff:
    """Elements agree when |got - ref| <= atol + rtol * max|ref| (NaN only
    where the reference has NaN, at the same places)."""
    if got.shape != ref.shape:
        return LayerDiff(name, got.shape, np.inf, np.inf, False, f"shape differs: ref {ref.shape}")
    got64, ref64 = got.astype(np.float64), ref.astype(np.float64)
    nan_got, nan_ref = np.isnan(got64), np.isnan(ref64)
    if not np.array_equal(nan_got, nan_ref):
        return LayerDiff(name, got.shape, np.inf, np.inf, False, "NaN at different places")
    valid = ~nan_ref
    if not valid.any():
        return LayerDiff(name, got.shape, 0.0, 0.0, True)
    same_inf = np.isinf(ref64) & (got64 == ref64)
    err = np.where(same_inf | ~valid, 0.0, np.abs(got64 - ref64))
    max_abs = float(err.max())
    finite = np.abs(ref64[valid & np.isfinite(ref64)])
    scale = float(finite.max()) if finite.size else 0.0
    max_rel = max_abs / scale if scale > 0 else (0.0 if max_abs == 0 else np.inf)
    return LayerDiff(name, got.shape, max_abs, max_rel, max_abs <= atol + rtol * scale)


def diff_layers(
    model: Model, x: Any, reference: dict[str, np.ndarray], rtol: float, atol: float
) -> tuple[list[LayerDiff], list[str]]:
    """Compare the model's layer outputs on `x` with the `reference` arrays,
    in the model's topological order. Returns the comparisons and the
    reference names the model has no output for."""
    ours = output_names(model)
    # Reference names as TF.js gives them (aliases), by our names.
    by_ours = {canonical(n, model._alias_of): n for n in reference}
    common = [n for n in ours if n in by_ours]
    unknown = [n for n in reference if canonical(n, model._alias_of) not in set(ours)]
    if not common:
        raise InputValueError(
            "no array of the reference is named like a layer output of the model "
            f"(reference: {sorted(reference)[:5]}..., model: {ours[:5]}...)"
        )
    got = model.predict(x, outputs=common)
    results = [
        compare(by_ours[n], np.asarray(got[n]), reference[by_ours[n]], rtol, atol) for n in common
    ]
    return results, unknown


# -- commands ------------------------------------------------------------------


def _layers(args: argparse.Namespace, load: Callable[[argparse.Namespace], Model]) -> int:
    model = load(args)
    if not args.inputs:
        _print_table(model)
        return 0
    _, x = read_inputs(model, args.inputs)
    names = output_names(model, args.layer)
    acts = model.predict(x, outputs=names, batch_size=args.batch_size)
    if args.out:
        np.savez(args.out, **{n: np.asarray(a) for n, a in acts.items()})  # type: ignore[arg-type]
        print(f"wrote {args.out}: {len(acts)} layer outputs", file=sys.stderr)
        return 0
    for name, a in acts.items():
        a = np.asarray(a, dtype=np.float64)
        print(
            f"{name:40s} {a.shape!s:20s} min {a.min():.6g}  max {a.max():.6g}  mean {a.mean():.6g}"
        )
    return 0


def _print_table(model: Model) -> None:
    rows = [("Layer", "Class", "Output shape(s)", "Params", "Inbound")]
    for info in model.layers:
        shapes = ", ".join(str(s) for s in info.output_shapes)
        rows.append(
            (info.name, info.class_name, shapes, f"{info.params:,}", ", ".join(info.inbound))
        )
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[4])


def _diff(args: argparse.Namespace, load: Callable[[argparse.Namespace], Model]) -> int:
    model = load(args)
    _, x = read_inputs(model, args.inputs)
    reference = _read_reference(Path(args.reference))
    if args.layer:
        reference = {n: reference[n] for n in args.layer if n in reference}
    results, unknown = diff_layers(model, x, reference, args.rtol, args.atol)
    first = next((r for r in results if not r.ok), None)
    if args.json:
        doc = {
            "layers": [r.__dict__ | {"shape": list(r.shape)} for r in results],
            "first_divergence": first.name if first else None,
            "not_in_model": unknown,
        }
        print(json.dumps(doc, default=float))
        return 1 if first else 0
    width = max(len(r.name) for r in results)
    print(f"{'layer':{width}s}  {'shape':18s}  {'max abs err':>11s}  {'max rel err':>11s}")
    for r in results:
        flag = "" if r.ok else "  DIVERGES" + (f" ({r.note})" if r.note else "")
        print(f"{r.name:{width}s}  {r.shape!s:18s}  {r.max_abs:11.3e}  {r.max_rel:11.3e}{flag}")
    if unknown:
        print(f"not in the model (skipped): {', '.join(unknown)}")
    if first is None:
        print(
            f"all {len(results)} compared layer outputs match (rtol {args.rtol}, atol {args.atol})"
        )
        return 0
    print(
        f"first divergence: {first.name} (max abs err {first.max_abs:.3e}, "
        f"max rel err {first.max_rel:.3e})"
    )
    return 1


def _read_reference(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise InputValueError(f"--reference {path}: cannot read an .npz ({exc})") from None


def register(
    sub: Any,
    model_options: Callable[[argparse.ArgumentParser], None],
    positive: Callable[[str], int],
    load: Callable[[argparse.Namespace], Model],
) -> None:
    """Add the ``layers`` and ``diff`` subcommands to the ``tfjs-infer`` parser;
    `model_options`, `positive` and `load` are the CLI's model arguments, its
    count type and its model loader (so every subcommand loads alike)."""
    p = sub.add_parser("layers", help="list MODEL's layers, or dump their outputs on INPUT")
    model_options(p)
    p.add_argument("inputs", nargs="*", metavar="INPUT", help="as for predict")
    p.add_argument("--layer", action="append", help="only this layer output (repeatable)")
    p.add_argument("--out", help="write the layer outputs to this .npz")
    p.add_argument("--batch-size", type=positive, default=32)
    p.set_defaults(fn=functools.partial(_layers, load=load))

    p = sub.add_parser("diff", help="compare MODEL's layer outputs on INPUT with a reference dump")
    model_options(p)
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="as for predict")
    p.add_argument("--reference", required=True, help=".npz dump made by TF.js or Keras")
    p.add_argument("--layer", action="append", help="only this layer output (repeatable)")
    p.add_argument("--rtol", type=float, default=1e-4, help="relative to max|reference|")
    p.add_argument("--atol", type=float, default=1e-5)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(fn=functools.partial(_diff, load=load))
