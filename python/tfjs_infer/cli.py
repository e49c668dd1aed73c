"""The tfjs-infer command: demo, summary, predict, bench.

    tfjs-infer demo                          predict the bundled digits example
    tfjs-infer summary MODEL                 Keras-style layer table
    tfjs-infer predict MODEL INPUT... [--top-k K] [--out FILE]
    tfjs-infer bench MODEL [--batch-size N]  latency and throughput
    tfjs-infer serve PATH [--port 8501]      serve over HTTP (TF Serving REST, OIP v2)
    tfjs-infer layers MODEL [INPUT... --out acts.npz]   layer table / layer outputs
    tfjs-infer diff MODEL INPUT... --reference acts.npz compare layers with TF.js/Keras

MODEL is anything tfjs_infer.load_model takes: model.json or its folder,
.keras, .h5, a .zip, or an http(s) URL. INPUT is .npy, .npz, .json or .csv
data, or image files (or a folder of images), which are resized and scaled as
the model's metadata says (Teachable Machine: centre crop, imageSize, x/127-1).
A model with several inputs takes one data file per input, in the model's
input order (or one .npz/.json holding an array per input name).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import examples
from ._cli_inputs import read_inputs
from ._cli_inputs import read_labels_file as _read_labels_file
from ._cli_types import non_negative_int as _non_negative
from ._cli_types import positive_int as _positive
from ._device import device_text, parse_device
from ._loading import load_model
from ._version import __version__
from .batch import command as batch_command
from .errors import InputShapeError, InputValueError, InvalidArgumentError, TfjsInferError
from .model import Model
from .postprocess import top_k


# -- demo ---------------------------------------------------------------------
def _demo(args: argparse.Namespace) -> int:
    model = load_model(examples.digits_path())
    x, y = examples.digits_samples()
    info = examples.digits_info()
    labels = model.labels or info.get("labels")
    start = time.perf_counter()
    probs = model.predict(x, batch_size=args.batch_size)
    elapsed = time.perf_counter() - start
    best = top_k(probs, k=3, labels=labels)
    assert best.labels is not None
    print(f"tfjs-infer demo: {examples.digits_path().parent.name} model, {len(x)} held-out samples")
    for i in range(min(args.show, len(x))):
        tops = ", ".join(f"{lab} {s:.3f}" for lab, s in zip(best.labels[i], best.scores[i]))
        print(f"  sample {i:3d}: true {y[i]}  top-3: {tops}")
    accuracy = float(np.mean(best.indices[:, 0] == y))
    keras = info.get("keras_accuracy")
    print(
        f"accuracy: {accuracy:.4f} ({round(accuracy * len(x))}/{len(x)})"
        + (f"; Keras measured {keras:.4f}" if keras is not None else "")
    )
    print(
        f"predict time: {elapsed * 1e3:.2f} ms for {len(x)} rows "
        f"({model.isa}, {model.num_threads} threads)"
    )
    if keras is not None and abs(accuracy - keras) > 1e-9:
        print("MISMATCH: accuracy differs from what Keras measured", file=sys.stderr)
        return 1
    return 0


# -- summary ------------------------------------------------------------------
def _summary(args: argparse.Namespace) -> int:
    model = _load(args)
    model.summary(line_length=args.line_length)
    print(f"Source: {model.source}")
    return 0


# -- predict ------------------------------------------------------------------
def _predict(args: argparse.Namespace) -> int:
    model = _load(args)
    if batch_command.wants_tables(args):  # parquet / CSV / JSON Lines tables, streamed
        return batch_command.run(args, model)
    names, x = read_inputs(model, args.inputs, normalization=args.normalize)
    if args.progress != "auto":
        os.environ["TFJS_INFER_PROGRESS"] = args.progress
    outputs = model.predict(
        x,
        batch_size=args.batch_size,
        verbose=0 if args.progress == "never" else 1,
        memory_budget=args.memory_budget,
    )
    out_list = _as_list(outputs)
    out_names = [t.name for t in model.outputs]
    labels = _read_labels_file(args.labels_file) if args.labels_file else model.labels
    ranked = None
    if args.top_k or args.labels or args.labels_file or args.indices:
        j = model._output_index(args.output, labels)
        probs = out_list[j]
        k = args.top_k or 1
        if labels is not None and len(labels) != probs.shape[-1]:
            raise InputShapeError(
                f"{len(labels)} labels for output '{out_names[j]}' with {probs.shape[-1]} classes"
            )
        if (args.labels or args.labels_file) and labels is None:
            print("tfjs-infer: the model has no labels; printing class indices", file=sys.stderr)
        # Class names whenever the model (or --labels-file) has them; --indices for numbers.
        ranked = top_k(probs, k=k, labels=None if args.indices else labels)
    if args.out:
        _write_out(Path(args.out), names, out_list, out_names, ranked)
        print(f"wrote {args.out} ({len(names)} rows)", file=sys.stderr)
        return 0
    if ranked is not None:
        cls = ranked.labels if ranked.labels is not None else ranked.indices.tolist()
        for name, row, scores in zip(names, cls, ranked.scores.tolist()):
            print(f"{name}: " + ", ".join(f"{c} {s:.4f}" for c, s in zip(row, scores)))
        return 0
    with np.printoptions(precision=6, suppress=True, linewidth=120, threshold=1000):
        for j, out in enumerate(out_list):
            if len(out_list) > 1:
                print(f"# output {j}: {out_names[j]} {out.shape}")
            for name, row in zip(names, out):
                print(f"{name}: {np.array2string(np.asarray(row), separator=', ')}")
    return 0


def _as_list(outputs: Any) -> list[np.ndarray]:
    if isinstance(outputs, dict):
        return list(outputs.values())
    return list(outputs) if isinstance(outputs, list) else [outputs]


def _write_out(
    path: Path, names: list[str], outs: list[np.ndarray], out_names: list[str], ranked: Any
) -> None:
    suffix = path.suffix.lower()
    if suffix == ".npy":
        if len(outs) != 1:
            raise InputValueError("the model has several outputs: write them to .npz or .json")
        np.save(path, outs[0])
    elif suffix == ".npz":
        np.savez(path, **dict(zip(out_names, outs)))  # type: ignore[arg-type]  # numpy's stub
    elif suffix == ".json":
        rows: list[dict[str, Any]] = []
        for i, name in enumerate(names):
            row: dict[str, Any] = {"input": name}
            row.update({o: outs[j][i].tolist() for j, o in enumerate(out_names)})
            if ranked is not None:
                row["top_k"] = ranked.indices[i].tolist()
                row["scores"] = ranked.scores[i].tolist()
                if ranked.labels is not None:
                    row["labels"] = ranked.labels[i]
            rows.append(row)
        path.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    elif suffix == ".csv":
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            if ranked is not None:
                k = ranked.indices.shape[-1]
                head = ["input"] + [f"{c}{r}" for r in range(1, k + 1) for c in ("class", "score")]
                w.writerow(head)
                cls = ranked.labels if ranked.labels is not None else ranked.indices.tolist()
                for i, name in enumerate(names):
                    cells = [v for pair in zip(cls[i], ranked.scores[i].tolist()) for v in pair]
                    w.writerow([name, *cells])
            else:
                flat = [o.reshape(len(o), -1) for o in outs]
                head = ["input"] + [
                    f"{o}[{c}]" for o, f_ in zip(out_names, flat) for c in range(f_.shape[1])
                ]
                w.writerow(head)
                for i, name in enumerate(names):
                    w.writerow([name] + [repr(float(v)) for f_ in flat for v in f_[i]])
    else:
        raise InputValueError(f"--out {path}: use .npy, .npz, .json or .csv")


# -- bench --------------------------------------------------------------------
def _bench(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    model = _load(args)
    load_s = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    xs = []
    for t in model.inputs:
        shape = [args.batch_size] + [args.dim if d is None else d for d in t.shape[1:]]
        if t.dtype == "int32":
            xs.append(rng.integers(0, 2, size=shape, dtype=np.int32))
        else:
            xs.append(rng.standard_normal(shape).astype(np.float32))
    x: Any = xs[0] if len(xs) == 1 else xs
    t1 = time.perf_counter()
    model.predict_on_batch(x)
    first = time.perf_counter() - t1
    for _ in range(args.warmup):
        model.predict_on_batch(x)
    times = []
    deadline = time.perf_counter() + args.max_seconds
    for _ in range(args.repeats):
        tic = time.perf_counter()
        model.predict_on_batch(x)
        times.append(time.perf_counter() - tic)
        if time.perf_counter() > deadline:
            break
    arr = np.array(times)
    med, p90, best = (float(v) for v in (np.median(arr), np.percentile(arr, 90), arr.min()))
    shapes = ", ".join(f"{a.shape}" for a in xs)
    result = {
        "model": model.source,
        "isa": model.isa,
        "device": model.device,
        "num_threads": model.num_threads,
        "batch_size": args.batch_size,
        "inputs": shapes,
        "load_ms": load_s * 1e3,
        "first_call_ms": first * 1e3,
        "median_ms": med * 1e3,
        "p90_ms": p90 * 1e3,
        "min_ms": best * 1e3,
        "rows_per_s": args.batch_size / med,
        "calls": len(times),
    }
    if args.json:
        print(json.dumps(result))
        return 0
    where = f"{model.device}, " if model.device != "cpu" else ""
    print(
        f"model: {model.source} ({where}{model.isa}, {model.num_threads} threads); inputs {shapes}"
    )
    print(f"load {load_s * 1e3:.1f} ms; first call {first * 1e3:.3f} ms")
    print(
        f"batch {args.batch_size}: median {med * 1e3:.3f} ms, p90 {p90 * 1e3:.3f} ms, "
        f"min {best * 1e3:.3f} ms over {len(times)} calls; "
        f"throughput {args.batch_size / med:,.1f} rows/s"
    )
    return 0


# -- main ---------------------------------------------------------------------
def _load(args: argparse.Namespace) -> Model:
    return load_model(
        args.model,
        num_threads=args.threads,
        isa=args.isa,
        semantics=args.semantics,
        precision=args.precision,
        device=getattr(args, "device", "cpu"),
    )


def _model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="model.json, its folder, .keras, .h5, .zip or an http(s) URL")
    p.add_argument(
        "--threads", type=_positive, default=None, help="core threads per call (default: all cores)"
    )
    p.add_argument(
        "--isa",
        choices=["generic", "avx2", "avx512", "neon"],
        default=None,
        help="instruction set of the kernels (default: the best this CPU has)",
    )
    p.add_argument(
        "--semantics",
        choices=["auto", "tfjs", "keras"],
        default="auto",
        help="whose numbers where TF.js 4.22 and Keras differ (default: by who wrote the file)",
    )
    p.add_argument(
        "--precision",
        choices=["fp32", "bf16", "int8"],
        default="fp32",
        help="dense/conv matrix products in (default fp32; README 'Reduced precision')",
    )
    p.add_argument(
        "--device",
        type=_device_arg,
        default="cpu",
        help="cpu (default), cuda or cuda:N (the CUDA build; README 'GPU (CUDA)')",
    )


def _device_arg(text: str) -> str:
    try:
        return device_text(*parse_device(text))
    except InvalidArgumentError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``tfjs-infer``."""
    parser = argparse.ArgumentParser(
        prog="tfjs-infer",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,  # --out must never be read as an abbreviation of --output
    )
    parser.add_argument("--version", action="version", version=f"tfjs-infer {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "demo", allow_abbrev=False, help="predict the bundled digits example and print its accuracy"
    )
    p.add_argument("--show", type=int, default=5, help="predictions to print (default: 5)")
    p.add_argument(
        "--batch-size",
        type=_positive,
        default=None,
        help="rows per core call (default: as many as fit the memory budget)",
    )
    p.set_defaults(fn=_demo)

    p = sub.add_parser("summary", allow_abbrev=False, help="print a Keras-style summary of MODEL")
    _model_options(p)
    p.add_argument(
        "--line-length",
        type=_positive,
        default=None,
        help="width of the table in characters (default: as wide as the content)",
    )
    p.set_defaults(fn=_summary)

    p = sub.add_parser("predict", allow_abbrev=False, help="predict INPUT files with MODEL")
    _model_options(p)
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help=".npy/.npz/.json/.csv data, or image files or folders; several data files: "
        "one per model input, in the model's input order",
    )
    p.add_argument(
        "--top-k",
        type=_positive,
        default=0,
        help="print the K best classes per row, by name when the model has labels",
    )
    p.add_argument(
        "--labels", action="store_true", help="print the best class per row (as --top-k 1)"
    )
    p.add_argument("--labels-file", help="labels.txt or a JSON list to use as class names")
    p.add_argument(
        "--indices", action="store_true", help="print class indices even when labels exist"
    )
    p.add_argument(
        "--rank-output",
        "--output",
        dest="output",
        default=None,
        metavar="NAME_OR_INDEX",
        help="which model output --top-k ranks (default: the one the labels fit); "
        "not the file to write: that is --out",
    )
    p.add_argument(
        "--out",
        metavar="FILE",
        help="write the results to FILE (.npy, .npz, .json, .csv) instead of printing them",
    )
    p.add_argument(
        "--batch-size",
        type=_positive,
        default=None,
        help="rows per call (default: as many as fit --memory-budget; results are the same)",
    )
    p.add_argument(
        "--memory-budget",
        default=None,
        help="memory per call for the default batch size, and for table files the rows "
        "in flight, e.g. 256M (default: "
        "TFJS_INFER_MEMORY_BUDGET or 256M)",
    )
    p.add_argument(
        "--normalize",
        choices=["tm-js", "tm-keras", "unit", "raw"],
        default=None,
        help="image scaling (default: tm-js for Teachable Machine models, else raw)",
    )
    p.add_argument(
        "--progress",
        choices=["auto", "always", "never"],
        default="auto",
        help="progress bar on stderr (auto: when it is a terminal)",
    )
    batch_command.add_arguments(p)
    p.set_defaults(fn=_predict)

    p = sub.add_parser("bench", allow_abbrev=False, help="time predict on random input")
    _model_options(p)
    p.add_argument(
        "--batch-size", type=_positive, default=1, help="rows per timed call (default: 1)"
    )
    p.add_argument(
        "--repeats", type=_positive, default=200, help="timed calls at most (default: 200)"
    )
    p.add_argument(
        "--warmup", type=_non_negative, default=5, help="untimed calls first (default: 5)"
    )
    p.add_argument(
        "--max-seconds",
        type=float,
        default=20.0,
        help="stop timing after this many seconds (default: 20)",
    )
    p.add_argument("--dim", type=_positive, default=16, help="size for unknown non-batch dims")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(fn=_bench)

    from .serve.cli import add_parser as add_serve_parser  # `serve`: its body lives in serve/

    add_serve_parser(sub)

    from . import cli_inspect  # layers, diff

    cli_inspect.register(sub, _model_options, _positive, _load)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tfjs-infer`` script; returns the exit status."""
    args = build_parser().parse_args(argv)
    if getattr(args, "output", None) is not None and str(args.output).lstrip("-").isdigit():
        args.output = int(args.output)
    try:
        return int(args.fn(args))
    except TfjsInferError as exc:
        print(f"tfjs-infer: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. piped into head
        return 0


if __name__ == "__main__":
    sys.exit(main())
