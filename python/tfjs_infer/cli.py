"""The ``tfjs-infer`` command: demo, summary, predict, bench."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import numpy as np

from . import examples
from .errors import TfjsInferError
from .model import load_model
from .postprocess import top_k


def _demo(args: argparse.Namespace) -> int:
    model = load_model(examples.digits_path())
    x, y = examples.digits_samples()
    info = examples.digits_info()
    labels = info.get("labels")
    start = time.perf_counter()
    probs = model.predict(x, batch_size=args.batch_size)
    elapsed = time.perf_counter() - start
    best = top_k(probs, k=3, labels=labels)
    print(f"tfjs-infer demo: {examples.digits_path().parent.name} model, {len(x)} held-out samples")
    for i in range(min(args.show, len(x))):
        tops = ", ".join(f"{lab} {s:.3f}" for lab, s in zip(best.labels[i], best.scores[i]))
        print(f"  sample {i:3d}: true {y[i]}  top-3: {tops}")
    accuracy = float(np.mean(best.indices[:, 0] == y))
    keras = info.get("keras_accuracy")
    print(f"accuracy: {accuracy:.4f} ({int(round(accuracy * len(x)))}/{len(x)})"
          + (f"; Keras measured {keras:.4f}" if keras is not None else ""))
    print(f"predict time: {elapsed * 1e3:.2f} ms for {len(x)} rows ({model.isa}, {model.num_threads} threads)")
    if keras is not None and abs(accuracy - keras) > 1e-9:
        print("MISMATCH: accuracy differs from what Keras measured", file=sys.stderr)
        return 1
    return 0


def _summary(args: argparse.Namespace) -> int:
    load_model(args.model).summary()
    return 0


def _predict(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    x = np.load(args.input)
    probs = model.predict(x, batch_size=args.batch_size)
    if args.top_k:
        r = top_k(probs, k=args.top_k, labels=model.labels)
        for i in range(len(r.indices)):
            names = r.labels[i] if r.labels else r.indices[i].tolist()
            print(i, ", ".join(f"{n}:{s:.4f}" for n, s in zip(names, r.scores[i])))
    elif args.out:
        np.save(args.out, probs)
    else:
        np.set_printoptions(precision=5, suppress=True)
        print(probs)
    return 0


def _bench(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    shape = [args.batch_size if d is None else d for d in model.inputs[0].shape]
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    for _ in range(5):
        model.predict_on_batch(x)
    times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        model.predict_on_batch(x)
        times.append(time.perf_counter() - t)
    med = float(np.median(times))
    print(f"batch {args.batch_size}: median {med * 1e3:.3f} ms, {args.batch_size / med:.1f} rows/s")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tfjs-infer", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="predict the bundled digits example and print its accuracy")
    p.add_argument("--show", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=32)
    p.set_defaults(fn=_demo)
    p = sub.add_parser("summary", help="print a Keras-style summary of MODEL")
    p.add_argument("model")
    p.set_defaults(fn=_summary)
    p = sub.add_parser("predict", help="predict INPUT.npy with MODEL")
    p.add_argument("model")
    p.add_argument("input")
    p.add_argument("--top-k", type=int, default=0)
    p.add_argument("--out")
    p.add_argument("--batch-size", type=int, default=32)
    p.set_defaults(fn=_predict)
    p = sub.add_parser("bench", help="time predict on random input")
    p.add_argument("model")
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--repeats", type=int, default=200)
    p.set_defaults(fn=_bench)
    args = parser.parse_args(argv)
    try:
        return int(args.fn(args))
    except TfjsInferError as exc:
        print(f"tfjs-infer: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
