"""Foundation benchmark: predict latency and throughput of tfjs_infer at batch 1
and 256 on the bundled digits example and on an MLP 784-512-512-10, plus the
per-call overhead on a Dense 10->10 model, side by side with onnxruntime (same
weights, same thread count, interleaved rounds) when it is installed.

    python bench/bench_predict.py [--threads 1] [--rounds 31]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from _harness import header, interleaved, onnx_dense_session, write_dense_model

import tfjs_infer


def _flops(sizes: list[int]) -> int:
    return sum(2 * k * n for k, n in zip(sizes[:-1], sizes[1:]))


def bench_model(
    title: str, sizes: list[int], acts: list[str], folder: Path, threads: int, rounds: int
) -> None:
    weights = write_dense_model(folder, sizes, acts)
    model = tfjs_infer.load_model(folder / "model.json", num_threads=threads)
    ort = onnx_dense_session(weights, acts, threads)
    print(f"\n{title} ({'-'.join(map(str, sizes))}), {threads} thread(s)")
    print(
        f"{'batch':>6} {'tfjs_infer predict':>20} {'onnxruntime':>14} "
        f"{'ratio ours/ort':>15} {'ours GFLOP/s':>13}"
    )
    for batch in (1, 256):
        x = np.random.default_rng(batch).standard_normal((batch, sizes[0])).astype(np.float32)
        cands = {"ours": lambda x=x, batch=batch: model.predict(x, batch_size=batch)}
        if ort is not None:
            np.testing.assert_allclose(
                model.predict(x, batch_size=batch), ort(x), rtol=1e-4, atol=1e-5
            )
            cands["ort"] = lambda x=x: ort(x)
        inner = 200 if batch == 1 else 5
        t = interleaved(cands, rounds, inner)
        gflops = _flops(sizes) * batch / t["ours"] / 1e9
        ort_txt = f"{t['ort'] * 1e6:11.1f} us" if "ort" in t else "not installed"
        ratio = f"{t['ours'] / t['ort']:15.2f}" if "ort" in t else f"{'-':>15}"
        print(f"{batch:>6} {t['ours'] * 1e6:17.1f} us {ort_txt:>14} {ratio} {gflops:13.1f}")


def bench_overhead(folder: Path, threads: int, rounds: int) -> None:
    weights = write_dense_model(folder, [10, 10], ["linear"])
    model = tfjs_infer.load_model(folder / "model.json", num_threads=threads)
    ort = onnx_dense_session(weights, ["linear"], threads)
    x = np.random.default_rng(0).standard_normal((1, 10)).astype(np.float32)
    core = model._core
    cands = {
        "predict": lambda: model.predict(x),
        "predict_on_batch": lambda: model.predict_on_batch(x),
        "_core.run": lambda: core.run([x]),
    }
    if ort is not None:
        cands["onnxruntime"] = lambda: ort(x)
    t = interleaved(cands, rounds, 2000)
    print(f"\nper-call overhead, Dense 10->10 at batch 1, {threads} thread(s)")
    for name, sec in t.items():
        print(f"  {name:>18}: {sec * 1e6:7.2f} us")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=31)
    args = ap.parse_args()
    header()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # The bundled example (its real weights), batch 1 and 256.
        model = tfjs_infer.load_model(tfjs_infer.examples.digits_path(), num_threads=args.threads)
        x, _ = tfjs_infer.examples.digits_samples()
        x256 = np.resize(x, (256, x.shape[1])).astype(np.float32)
        t = interleaved(
            {
                "b1": lambda: model.predict(x[:1]),
                "b256": lambda: model.predict(x256, batch_size=256),
            },
            args.rounds,
            50,
        )
        fl = _flops([64, 64, 10])
        print(f"\ndigits example (64-64-10), {args.threads} thread(s)")
        print(
            f"  batch 1: {t['b1'] * 1e6:.1f} us; batch 256: {t['b256'] * 1e6:.1f} us "
            f"({fl * 256 / t['b256'] / 1e9:.1f} GFLOP/s)"
        )
        bench_model(
            "MLP",
            [784, 512, 512, 10],
            ["relu", "relu", "softmax"],
            tmp / "mlp",
            args.threads,
            args.rounds,
        )
        bench_overhead(tmp / "small", args.threads, args.rounds)


if __name__ == "__main__":
    main()
