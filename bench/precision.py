"""Reduced precision: throughput and accuracy cost of load_model(precision=...).

    python bench/precision.py [--models-dir bench/.models] [--models resnet50,mobilenet_v2]
                              [--batch 32] [--rounds 5] [--threads 1] [--no-ort]
                              [--in-process]
                              [--precisions fp32,bf16,int8] [--isa avx2]
                              [--accuracy-only | --speed-only | --kernels | --profile
                               | --conv-parts]

Speed (batch --batch, --threads threads, interleaved round-robin with the order
reversed each round, medians): tfjs-infer fp32 / bf16 / int8 on each of
--models, and for ResNet50 and MobileNetV2 onnxruntime's float32 model.onnx and its own int8
versions of it (onnxruntime.quantization.quantize_dynamic, and quantize_static
with per-channel weights calibrated on 16 images of the bench input) when
onnxruntime is installed. Ratios: throughput / tfjs-infer fp32, and tfjs-infer
int8 time / onnxruntime int8 time (below 1: ours is faster).

Accuracy (every bench model, on its bench input input.npy: random normal
images / rows / token ids, the models' weights are seeded, not trained): max
|bf16 - fp32| and |int8 - fp32| over the outputs, the same relative to
max |fp32|, and the share of rows whose top-1 class agrees with fp32; the
same for onnxruntime's int8 ResNet50 and MobileNetV2 against their float32 ones; and the
bundled digits example's accuracy (360 real held-out digits) in each precision.

Precision "int8-row" (--precisions fp32,int8,int8-row): int8 with every
convolution quantizing per row after im2col (TFJS_INFER_INT8_PER_ROW=1, the
scheme before per-sample KxK convolutions), timed beside int8; "int8-whole" /
"bf16-whole": int8 / bf16 running a call's samples through the graph all at
once instead of in cache-sized slices (TFJS_INFER_LOWP_SLICE_BYTES=0); "int8-one":
int8 one sample per slice (TFJS_INFER_LOWP_SLICE_BYTES=1); "int8-keras":
int8 in Keras's op order (TFJS_INFER_INT8_HOIST=0) and bf16's slices, as before
the projections ran first (compile/int8_order_pass.cpp). One thread is
timed by thread CPU time (every engine computes on the calling thread), more
by the wall clock with each engine in its own worker process taking turns as
in bench/compare.py (--in-process: all in this one, where an engine shares the
cores with the previous one's spinning pool).

Profile (--profile): model.profile() per op of fp32, int8-row and int8,
interleaved, medians; onnxruntime's static int8 ResNet50 per op type.
Conv parts (--conv-parts): inside one int8 KxK convolution of ResNet50's
shapes, per row against per sample, and the per-sample quantizer's share.

Kernels (--kernels, no models needed): the GEMMs alone on ResNet50's shapes
(rows x k x n of its 1x1 and im2col'd 3x3 convolutions) and two batch-1 dense
layers, the fp32, bf16 and int8 kernels of --isa (default: the selected one) on
the calling thread, B packed once, timed by thread CPU time, interleaved,
medians; G MAC/s and the ratio to
fp32. bench/isa_probe.py gives the instructions' own rates to compare with.

Models come from bench/make_bench_models.py (bench/README.md).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import header, ort_session

import tfjs_infer

HERE = Path(__file__).resolve().parent
ALL_MODELS = ["mlp", "mnist_cnn", "mobilenet_v2", "resnet50", "lstm", "text_cnn"]
# Models whose model.onnx onnxruntime's int8 versions are timed and compared for.
ORT_INT8_MODELS = ("resnet50", "mobilenet_v2")
PRECISIONS = ["fp32", "bf16", "int8"]
Run = Callable[[np.ndarray], np.ndarray]


# Variants of int8 and bf16 for A/B runs in one process: the variable set
# while the model loads (the precision is the name's part before "-").
VARIANTS = {
    # every convolution quantizing its A per row after im2col (the scheme
    # before per-sample convolutions)
    "int8-row": ("TFJS_INFER_INT8_PER_ROW", "1"),
    # a call's samples through the graph all at once, not in cache-sized
    # slices (compile/model.cpp)
    "int8-whole": ("TFJS_INFER_LOWP_SLICE_BYTES", "0"),
    "bf16-whole": ("TFJS_INFER_LOWP_SLICE_BYTES", "0"),
    # one sample per slice (a slice holds at least one)
    "int8-one": ("TFJS_INFER_LOWP_SLICE_BYTES", "1"),
    # convolutions with a fused residual writing their output to a buffer of
    # its own, not over the residual's (compile/model.cpp)
    "int8-apart": ("TFJS_INFER_RESIDUAL_IN_PLACE", "0"),
    # the AVX-512 int8 kernel copying a per-sample convolution's quantized
    # rows into its buffer instead of reading them in place
    "int8-gather": ("TFJS_INFER_INT8_GATHER", "1"),
    # Keras's op order (projection shortcuts after the main branch) in bf16's
    # slices, as before compile/int8_order_pass.cpp and int8_slice_bytes
    "int8-keras": ("TFJS_INFER_INT8_HOIST", "0"),
}


def load_ours(
    folder: Path, precision: str, threads: int, isa: str | None = None
) -> tfjs_infer.Model:
    """precision "int8-row" / "bf16-whole" ...: int8 or bf16 loaded with the
    variable of VARIANTS set, for A/B runs in one process."""
    variable, value = VARIANTS.get(precision, (None, ""))
    if variable:
        os.environ[variable] = value
    if precision == "int8-keras":
        slices = tfjs_infer.build_info()["cpu"]["lowp_slice_bytes"]
        os.environ["TFJS_INFER_LOWP_SLICE_BYTES"] = str(slices)
    try:
        tfjs = folder / "tfjs" / "model.json"  # else the Keras file it was converted from
        return tfjs_infer.load_model(
            tfjs if tfjs.exists() else folder / "model.h5",
            precision=precision.split("-")[0],
            num_threads=threads,
            isa=isa,
        )
    finally:
        if variable:
            os.environ.pop(variable, None)
        if precision == "int8-keras":
            os.environ.pop("TFJS_INFER_LOWP_SLICE_BYTES", None)


def ours(folder: Path, precision: str, threads: int, isa: str | None = None) -> Run:
    model = load_ours(folder, precision, threads, isa)
    print(f"  tfjs-infer {precision}: isa {model.isa}, runs {model.precision}")
    return lambda x: model.predict(x, batch_size=len(x))


def ort_run(session) -> Run:
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x})[0]


def ort_int8_models(onnx_path: Path, calib: np.ndarray, out_dir: Path) -> dict[str, Path]:
    """onnxruntime's own int8 versions of a float32 model: dynamic and static."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )

    class Reader(CalibrationDataReader):
        def __init__(self, name: str) -> None:
            self.rows = iter([{name: calib[i : i + 1]} for i in range(len(calib))])

        def get_next(self):
            return next(self.rows, None)

    name = ort_session(onnx_path, 1).get_inputs()[0].name
    dyn, stat = out_dir / "dynamic.onnx", out_dir / "static.onnx"
    quantize_dynamic(str(onnx_path), str(dyn), weight_type=QuantType.QInt8)
    quantize_static(
        str(onnx_path),
        str(stat),
        Reader(name),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
    )
    return {"onnxruntime int8 dynamic": dyn, "onnxruntime int8 static": stat}


def interleaved(
    runs: dict[str, Run], x: np.ndarray, rounds: int, clock: Callable[[], float] = time.perf_counter
) -> dict[str, float]:
    """Median seconds per call of each engine, the order reversed each round."""
    for run in runs.values():
        run(x)  # warm up
    times: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            start = clock()
            runs[name](x)
            times[name].append(clock() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def batch_input(folder: Path, batch: int) -> np.ndarray:
    """The bench input repeated to `batch` rows (the same in every process)."""
    x = np.load(folder / "input.npy")
    return np.concatenate([x] * (batch // len(x) + 1))[:batch]


def engine_specs(name: str, folder: Path, args: argparse.Namespace, tmp: Path) -> dict[str, str]:
    """label -> what runs it: "tfjs-infer:<precision>" or "onnx:<model path>"
    (onnxruntime's int8 models are written into tmp)."""
    precisions = ["fp32", *[p for p in args.precisions.split(",") if p != "fp32"]]
    specs = {f"tfjs-infer {p}": f"tfjs-infer:{p}" for p in precisions}
    if name in ORT_INT8_MODELS and not args.no_ort:
        try:
            calib = np.load(folder / "input.npy")[:16]
            paths = {"onnxruntime fp32": folder / "model.onnx"}
            paths.update(ort_int8_models(folder / "model.onnx", calib, tmp))
            specs.update({label: f"onnx:{path}" for label, path in paths.items()})
        except ImportError:
            print("  onnxruntime: not installed")
    return specs


def runner(spec: str, folder: Path, threads: int, isa: str | None) -> Run:
    kind, _, what = spec.partition(":")
    if kind == "tfjs-infer":
        return ours(folder, what, threads, isa)
    return ort_run(ort_session(Path(what), threads))


def worker_main(args: argparse.Namespace) -> None:
    """`--worker SPEC FOLDER`: one engine in this process, answering the parent's
    turns as bench/compare.py's workers do (_engine_procs.serve)."""
    from _engine_procs import serve
    from compare import interleave

    out = sys.stdout
    sys.stdout = sys.stderr  # libraries' prints must not mix with the replies
    spec, folder = args.worker[0], Path(args.worker[1])
    try:
        run = runner(spec, folder, args.threads, args.isa)
    except Exception as exc:
        out.write(json.dumps({"error": f"{type(exc).__name__}: {exc}"}) + "\n")
        out.flush()
        return
    serve(spec, run, {args.batch: batch_input(folder, args.batch)}, interleave, out)


def in_workers(specs: dict[str, str], folder: Path, args: argparse.Namespace) -> dict[str, float]:
    """Median wall seconds per call of each engine, each in its own worker
    process (as bench/compare.py runs several threads): in one process the
    engine timed after onnxruntime shares the cores with onnxruntime's spinning
    pool (session 12: our int8 ResNet50 at 2 threads read 444.9 ms beside it and
    354-359 ms alone). The workers take turns, the order reversed each round,
    each turn once the others have stopped running."""
    from _engine_procs import RemoteEngine, interleave_remote

    remote: dict[str, RemoteEngine] = {}
    try:
        for label, spec in specs.items():
            cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", spec, str(folder)]
            cmd += ["--threads", str(args.threads), "--batch", str(args.batch)]
            cmd += ["--isa", args.isa] if args.isa else []
            remote[label] = RemoteEngine(label, folder, args.threads, [args.batch], cmd=cmd)
        interleave_remote(remote, args.batch, 1, 1, settle_s=0.03)  # warm up
        samples = interleave_remote(remote, args.batch, args.rounds, 1, settle_s=0.03)
    finally:
        for engine in remote.values():
            engine.close()
    return {label: statistics.median(s) for label, s in samples.items()}


def speed(args: argparse.Namespace) -> None:
    for name in args.models.split(","):
        folder = args.models_dir / name
        x = batch_input(folder, args.batch)
        print(f"\n== {name}: batch {args.batch}, {args.threads} thread(s), {args.rounds} rounds")
        with tempfile.TemporaryDirectory() as tmp:
            specs = engine_specs(name, folder, args, Path(tmp))
            if args.threads > 1 and not args.in_process:
                print("  timed by wall clock, each engine in its own worker process")
                med = in_workers(specs, folder, args)
            else:
                runs = {
                    label: runner(spec, folder, args.threads, args.isa)
                    for label, spec in specs.items()
                }
                # One thread: every engine computes on the calling thread, whose
                # CPU time a busy machine disturbs less than the wall clock.
                clock = time.thread_time if args.threads == 1 else time.perf_counter
                print(f"  timed by {'thread CPU time' if args.threads == 1 else 'wall clock'}")
                med = interleaved(runs, x, args.rounds, clock)
        base = med["tfjs-infer fp32"]
        for label, t in med.items():
            print(
                f"  {label:28s} {t * 1e3:9.1f} ms  {args.batch / t:8.1f} rows/s  "
                f"{base / t:5.2f}x tfjs-infer fp32"
            )
        others = ("onnxruntime int8 dynamic", "onnxruntime int8 static", "tfjs-infer int8-row")
        variants = (
            "tfjs-infer int8-whole",
            "tfjs-infer int8-one",
            "tfjs-infer int8-apart",
            "tfjs-infer int8-gather",
            "tfjs-infer int8-keras",
        )
        for label in (*others, *variants, "tfjs-infer bf16-whole"):
            # a variant against its own precision, onnxruntime against int8
            variant = label.startswith("tfjs-infer ")
            own = "tfjs-infer " + label.removeprefix("tfjs-infer ").split("-")[0]
            base_label = own if variant else "tfjs-infer int8"
            if label in med and base_label in med:
                ratio = med[base_label] / med[label]
                print(f"  {base_label} / {label}: {ratio:.2f} (time; below 1 = faster)")
        print(f"  load average: {os.getloadavg()}")


# (rows, k, n) of ResNet50's convolutions as GEMMs (rows: a few images' worth):
# 1x1 reduce / expand, 3x3 (im2col: k = 9 cin), the 7x7 stem; then batch-1
# dense layers (GEMV: the weights' traffic bounds them).
KERNEL_SHAPES = [
    (3136, 64, 256),
    (3136, 256, 64),
    (3136, 576, 64),
    (3136, 1152, 128),
    (3136, 512, 128),
    (784, 2304, 256),
    (784, 1024, 256),
    (196, 4608, 512),
    (196, 2048, 512),
    (3136, 147, 64),
    (1, 1024, 1024),
    (1, 2048, 1000),
]


def kernels(args: argparse.Namespace) -> None:
    """The fp32 / bf16 / int8 GEMM kernels alone, interleaved, thread CPU time."""
    t = tfjs_infer._core._testing
    isa = args.isa or tfjs_infer.build_info()["isa_selected"]
    lowp = [p for p in ("bf16", "int8") if isa in t.lowp_isas(p)]
    print(f"\n== GEMM kernels, isa {isa}: fp32, {', '.join(lowp)} (G MAC/s, x fp32)")
    rng = np.random.default_rng(0)
    for m, k, n in KERNEL_SHAPES:
        a = np.maximum(rng.standard_normal((m, k)), 0).astype(np.float32)  # post-ReLU
        b = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
        packed = {p: t.lowp_pack(p, b) for p in lowp}
        # Several repetitions per sample: t.gemm packs B once per call.
        reps = max(4, int(2e9 / (m * k * n)))

        def fp32(a: np.ndarray = a, b: np.ndarray = b, reps: int = reps) -> None:
            t.gemm(isa, a, b, act="relu", reps=reps)

        def low(p: str, a: np.ndarray = a, b: np.ndarray = b, reps: int = reps) -> None:
            t.gemm_lowp(isa, p, a, b, act="relu", prepacked=packed[p], reps=reps)  # noqa: B023

        runs = {"fp32": fp32, **{p: functools.partial(low, p) for p in lowp}}
        times: dict[str, list[float]] = {name: [] for name in runs}
        for r in range(args.rounds):
            for name in runs if r % 2 == 0 else list(runs)[::-1]:
                start = time.thread_time()
                runs[name]()
                times[name].append((time.thread_time() - start) / reps)
        med = {name: statistics.median(v) for name, v in times.items()}
        cells = [
            f"{name} {m * k * n / sec * 1e-9:6.1f} ({med['fp32'] / sec:4.2f}x)"
            for name, sec in med.items()
        ]
        print(f"  {m:5d} x {k:4d} x {n:3d}:  " + "  ".join(cells))
    print(f"  load average: {os.getloadavg()}")


def profile(args: argparse.Namespace) -> None:
    """Per op: model.profile() of fp32, int8-row and int8, interleaved a
    round at a time, medians; then onnxruntime's static int8 model per op type
    (SessionOptions.enable_profiling, the Node events' durations)."""
    for name in args.models.split(","):
        folder = args.models_dir / name
        x = np.load(folder / "input.npy")
        x = np.concatenate([x] * (args.batch // len(x) + 1))[: args.batch]
        print(
            f"\n== {name} per op: batch {args.batch}, {args.threads} thread(s), "
            f"{args.rounds} rounds"
        )
        kinds = ["fp32", "int8-row", "int8"]
        models = {p: load_ours(folder, p, args.threads, args.isa) for p in kinds}
        samples: dict[str, list[list[float]]] = {p: [] for p in kinds}
        ops: list[tuple[str, str]] = []
        for r in range(args.rounds):
            for p in kinds if r % 2 == 0 else kinds[::-1]:
                rows = models[p].profile(x, rounds=1)
                ops = [(row["name"], row["type"]) for row in rows]
                samples[p].append([row["us"] for row in rows])
        med = {p: np.median(np.array(samples[p]), axis=0) / 1e3 for p in kinds}
        print(f"  {'op':28s} {'type':12s} " + " ".join(f"{p:>9s}" for p in kinds) + "  int8/row")
        for i, (op, kind) in enumerate(ops):
            cells = " ".join(f"{med[p][i]:9.2f}" for p in kinds)
            print(f"  {op:28s} {kind:12s} {cells}  {med['int8'][i] / med['int8-row'][i]:5.2f}")
        totals = " ".join(f"{med[p].sum():9.1f}" for p in kinds)
        print(f"  {'all ops (ms)':41s} {totals}")
        if name == "resnet50" and not args.no_ort:
            ort_profile(folder, x, args)
        print(f"  load average: {os.getloadavg()}")


def ort_profile(folder: Path, x: np.ndarray, args: argparse.Namespace) -> None:
    """onnxruntime's static int8 ResNet50 per op type (ms per call, medians)."""
    import json

    with tempfile.TemporaryDirectory() as tmp:
        path = ort_int8_models(folder / "model.onnx", x[:16], Path(tmp))["onnxruntime int8 static"]
        session = ort_session(path, args.threads, str(Path(tmp) / "ort"))
        feed = {session.get_inputs()[0].name: x}
        for _ in range(args.rounds + 1):
            session.run(None, feed)
        events = json.loads(Path(session.end_profiling()).read_text())
    per_node: dict[tuple[str, str], list[float]] = {}
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            node = (e["args"]["op_name"], e["name"])
            per_node.setdefault(node, []).append(e["dur"] / 1e3)
    # Every node runs once per call: the first call is the warm-up; a node's
    # median over the timed calls, summed per op type.
    by_type: dict[str, float] = {}
    for (op, _), durations in per_node.items():
        by_type[op] = by_type.get(op, 0.0) + statistics.median(durations[1:] or durations)
    print("  onnxruntime int8 static per op type (ms per call, nodes' medians summed):")
    for op, ms in sorted(by_type.items(), key=lambda kv: -kv[1]):
        print(f"    {op:24s} {ms:9.2f}")
    print(f"    {'all nodes':24s} {sum(by_type.values()):9.2f}")


# ResNet50's convolutions with kernels larger than 1x1: (h, w, cin), k, stride, cout.
CONV_PART_SHAPES = [
    ((56, 56, 64), 3, 1, 64),
    ((28, 28, 128), 3, 1, 128),
    ((14, 14, 256), 3, 1, 256),
    ((7, 7, 512), 3, 1, 512),
    ((224, 224, 3), 7, 2, 64),
]


def conv_model(x: np.ndarray, w: np.ndarray, stride: int, per_row: bool, isa: str):  # -> model
    """One int8 conv2d ('same', ReLU) on `isa`, 1 thread."""
    core = tfjs_infer._core
    g = core.Graph()
    inp = g.add_input("x", [None, *x.shape[1:]], "float32")
    attrs = {"strides": [stride, stride], "padding": "same", "activation": "relu"}
    bias = np.zeros(w.shape[-1], np.float32)
    (y,) = g.add_op("conv2d", "conv", [inp], attrs, {"kernel": w, "bias": bias})
    g.set_outputs([y])
    if per_row:
        os.environ["TFJS_INFER_INT8_PER_ROW"] = "1"
    try:
        return core.CompiledModel(g, isa=isa, num_threads=1, optimize=False, precision="int8")
    finally:
        os.environ.pop("TFJS_INFER_INT8_PER_ROW", None)


def conv_parts(args: argparse.Namespace) -> None:
    """Where an int8 KxK convolution's time goes, per-row against per-sample:
    the conv op each way and the per-sample quantizer alone over the same
    images (range + quantize passes); the rest of the per-sample op is its
    GEMM (the window bytes' gather, the integer products, the epilogue), and
    what the per-row op spends beyond that GEMM is its im2col and its rows'
    range + quantize passes (their integer products and epilogue are the
    same). Thread CPU time, interleaved, medians; ms per batch of --batch."""
    t = tfjs_infer._core._testing
    isa = args.isa or tfjs_infer.build_info()["isa_selected"]
    batch = args.batch
    print(
        f"\n== int8 KxK convolutions, batch {batch}, isa {isa}: ms per batch ({args.rounds} rounds)"
    )
    print(
        "  shape                   per-row conv (im2col+row quant) | per-sample conv (quant, gemm)"
        " | sample/row"
    )
    rng = np.random.default_rng(0)
    for (h, w, c), k, stride, cout in CONV_PART_SHAPES:
        x = np.maximum(rng.standard_normal((batch, h, w, c)), 0).astype(np.float32)
        wt = (rng.standard_normal((k, k, c, cout)) / np.sqrt(k * k * c)).astype(np.float32)
        row_model, sample_model = (
            conv_model(x, wt, stride, True, isa),
            conv_model(x, wt, stride, False, isa),
        )
        images = [x[i] for i in range(batch)]
        runs: dict[str, Callable[[], object]] = {
            "row": lambda m=row_model, x=x: m.run([x]),
            "sample": lambda m=sample_model, x=x: m.run([x]),
            "quant": lambda images=images: [t.int8_quantize_sample(isa, i) for i in images],
        }
        times: dict[str, list[float]] = {name: [] for name in runs}
        for r in range(args.rounds + 1):
            for name in runs if r % 2 == 0 else list(runs)[::-1]:
                start = time.thread_time()
                runs[name]()
                if r:  # the first round warms up
                    times[name].append(time.thread_time() - start)
        ms = {name: statistics.median(v) * 1e3 for name, v in times.items()}
        gemm = ms["sample"] - ms["quant"]
        extra = ms["row"] - gemm
        print(
            f"  {h}x{w}x{c} k{k}/{stride}->{cout}".ljust(24)
            + f" {ms['row']:9.2f} ({extra:6.2f}, {extra / ms['row'] * 100:3.0f} %)      |"
            f" {ms['sample']:9.2f} ({ms['quant']:5.2f}, {gemm:6.2f})        |"
            f" {ms['sample'] / ms['row']:6.2f}"
        )
    print(f"  load average: {os.getloadavg()}")


def agreement(ref: np.ndarray, got: np.ndarray) -> str:
    err = float(np.abs(got - ref).max())
    rel = err / max(float(np.abs(ref).max()), 1e-30)
    top1 = float(
        (ref.reshape(len(ref), -1).argmax(1) == got.reshape(len(got), -1).argmax(1)).mean()
    )
    return f"max abs err {err:.3g} (rel {rel:.3g}), top-1 agreement {top1 * 100:.1f} %"


def accuracy(args: argparse.Namespace) -> None:
    print("\n== accuracy against fp32 (bench inputs: random, seeded weights)")
    for name in ALL_MODELS:
        folder = args.models_dir / name
        if not folder.is_dir():
            print(f"  {name}: not built")
            continue
        x = np.load(folder / "input.npy")
        outs = {p: ours(folder, p, args.threads)(x) for p in PRECISIONS}
        for p in PRECISIONS[1:]:
            print(f"  {name:13s} {p}: {agreement(outs['fp32'], outs[p])}")
        if name in ORT_INT8_MODELS and not args.no_ort:
            try:
                ref = ort_run(ort_session(folder / "model.onnx", args.threads))(x)
                with tempfile.TemporaryDirectory() as tmp:
                    paths = ort_int8_models(folder / "model.onnx", x[:16], Path(tmp))
                    for label, path in paths.items():
                        got = ort_run(ort_session(path, args.threads))(x)
                        print(f"  {name:13s} {label} vs onnxruntime fp32: {agreement(ref, got)}")
            except ImportError:
                print("  onnxruntime: not installed")
    xd, yd = tfjs_infer.examples.digits_samples()
    for p in PRECISIONS:
        model = tfjs_infer.load_model(tfjs_infer.examples.digits_path(), precision=p)
        acc = float((model.predict(xd).argmax(1) == yd).mean())
        print(f"  digits example {p}: accuracy {acc * 100:.2f} % of {len(yd)} ({model.precision})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models-dir", type=Path, default=HERE / ".models")
    parser.add_argument("--models", default="resnet50,mobilenet_v2")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-ort", action="store_true", help="skip onnxruntime")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="several threads: every engine in this process (default: a worker process each)",
    )
    parser.add_argument("--worker", nargs=2, metavar=("SPEC", "FOLDER"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--precisions", default="fp32,bf16,int8", help="timed precisions (fp32 always)"
    )
    parser.add_argument("--isa", default=None, help="force tfjs-infer's isa (e.g. avx2)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--accuracy-only", action="store_true")
    group.add_argument("--speed-only", action="store_true")
    group.add_argument("--kernels", action="store_true", help="the GEMM kernels alone")
    group.add_argument("--profile", action="store_true", help="per op: fp32, int8-row, int8")
    group.add_argument(
        "--conv-parts", action="store_true", help="inside an int8 KxK conv: row vs sample"
    )
    args = parser.parse_args()
    if args.worker:
        worker_main(args)
        return
    header()
    print(f"load average at start: {os.getloadavg()}")
    print(f"precisions per isa: {tfjs_infer.build_info()['precisions']}")
    if args.kernels:
        kernels(args)
        return
    if args.profile:
        profile(args)
        return
    if args.conv_parts:
        conv_parts(args)
        return
    if not args.accuracy_only:
        speed(args)
    if not args.speed_only:
        accuracy(args)


if __name__ == "__main__":
    main()
