"""How close each engine runs to the core's multiply-add peak on the bench models.

    python bench/peak_share.py [--models resnet50,mlp] [--batches 1,32,256] [--rounds 9]
                               [--threads 1]

One thread, in this process, the calling thread's CPU time (time.thread_time),
engines interleaved round-robin with the order reversed each round (as
compare.py's 1-thread figures), and between them the FMA loop of
`_testing.fma_peak` (12 register-only FMA chains of the widest vectors the
build has), so the peak is measured in the same run under the same
conditions. Per model and batch size it prints the multiply-adds of one call
(counted from the model.onnx graph: Conv, MatMul/Gemm and LSTM nodes, after ONNX
shape inference at that batch size; depthwise convs by their groups), each
engine's median time, its G MAC/s and that rate as a share of the FMA-loop
peak, the ratio tfjs-infer / best peer, and the share of the peak that
tfjs-infer would need to take 0.9x the best peer's time. A figure above 100 %
there means 0.9x that peer is out of reach with the same multiply-adds on this
core: only fewer multiplies (a different algorithm, different numbers) or lower
precision could get there.

--threads N (N > 1): each engine in its own worker process (compare.py's, taking
turns as its several-thread figures do, each turn once the others' pools have
stopped spinning), timed by the wall clock, and between the engines' turns the
FMA loop on N threads at once, its rate from the wall clock of the whole run:
the peak of the cores as this host gives them to N threads together (two vCPUs
that share a physical core would show it here).

The MAC count leaves out element-wise work, pooling and memory traffic, so
every engine's share is a lower bound of how busy its FMA units are.
Engines: tfjs-infer (model.json), onnxruntime (model.onnx), LiteRT
(model.tflite, XNNPACK), each where installed (see bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
from _harness import cpu_jiffies, header, steal_since
from compare import IN_PROCESS, MODEL_ORDER, MODELS_DIR, engine_available, load_engine

BIG = {"mobilenet_v2", "resnet50"}  # no batch 256 (as compare.py without --full)
PEAK = "FMA loop"


def count_macs(onnx_path: Path, batch: int) -> int:
    """Multiply-adds of one call at `batch` rows: Conv, MatMul/Gemm and LSTM nodes."""
    import onnx
    from onnx import shape_inference

    model = onnx.load(str(onnx_path))
    initializers = {i.name for i in model.graph.initializer}
    for inp in model.graph.input:
        dims = inp.type.tensor_type.shape.dim
        if inp.name not in initializers and dims and not dims[0].dim_value:
            dims[0].ClearField("dim_param")
            dims[0].dim_value = batch
    model = shape_inference.infer_shapes(model)
    shapes = {i.name: tuple(i.dims) for i in model.graph.initializer}
    graph = model.graph
    for info in [*graph.value_info, *graph.input, *graph.output]:
        dims = info.type.tensor_type.shape.dim
        shapes[info.name] = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in dims)
    total = 0
    for node in graph.node:
        total += node_macs(node, shapes)
    return total


def node_macs(node, shapes: dict[str, tuple[int, ...]]) -> int:
    """One node's multiply-adds; 0 for nodes without products."""

    def known(name: str) -> tuple[int, ...]:
        shape = shapes.get(name)
        if shape is None or any(d <= 0 for d in shape):
            raise ValueError(f"{node.op_type} {node.name}: no static shape for {name}")
        return shape

    if node.op_type == "Conv":
        # Output elements times the taps each one sums: (C / groups) * kh * kw.
        return int(np.prod(known(node.output[0]))) * int(np.prod(known(node.input[1])[1:]))
    if node.op_type in ("MatMul", "Gemm"):
        trans_a = any(a.name == "transA" and a.i for a in node.attribute)
        a = known(node.input[0])
        depth = a[-2] if node.op_type == "Gemm" and trans_a else a[-1]
        return int(np.prod(known(node.output[0]))) * depth
    if node.op_type == "LSTM":
        steps, batch, features = known(node.input[0])
        directions, gates, _ = known(node.input[1])
        units = known(node.input[2])[2]
        return steps * batch * directions * gates * (features + units)
    return 0


def time_engines(engines: dict, x: np.ndarray, rounds: int, peak_iters: int) -> dict:
    """Median thread-CPU seconds per call of each engine and of the FMA loop (GFLOP/s)."""
    from tfjs_infer._core import _testing

    calls = {name: (lambda e=e: e.run(x)) for name, e in engines.items()}
    import tfjs_infer

    isa = tfjs_infer.build_info()["isa_selected"]
    if _testing.fma_peak(isa, 1000) is not None:  # no probe on NEON/generic builds
        calls[PEAK] = lambda: _testing.fma_peak(isa, peak_iters)
    inner = {}
    for name, fn in calls.items():
        fn()
        start = time.thread_time()
        fn()
        one = max(time.thread_time() - start, 1e-6)
        inner[name] = max(1, int(0.2 / one))
    samples: dict[str, list[float]] = {name: [] for name in calls}
    names = list(calls)
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            if name == PEAK:
                samples[name].append(calls[name]())
                continue
            start = time.thread_time()
            for _ in range(inner[name]):
                calls[name]()
            samples[name].append((time.thread_time() - start) / inner[name])
    return {name: statistics.median(v) for name, v in samples.items()}


def wall_peak(isa: str, threads: int, iters: int) -> float:
    """GFLOP/s of the FMA loop run on `threads` threads at once, from the wall clock
    of the whole run (fma_peak releases the GIL)."""
    import threading

    from tfjs_infer._core import _testing

    lanes = 16 if isa == "avx512" else 8
    workers = [
        threading.Thread(target=_testing.fma_peak, args=(isa, iters)) for _ in range(threads)
    ]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    wall = time.perf_counter() - start
    return threads * 2.0 * lanes * 12 * iters / wall / 1e9


def time_workers(names: list[str], folder: Path, batch: int, rounds: int, threads: int) -> dict:
    """Median wall seconds per call of each engine, each in its own worker process
    (compare.py --worker), and of the FMA loop on `threads` threads between their
    turns (GFLOP/s)."""
    from _engine_procs import RemoteEngine, interleave_remote, wait_quiet

    import tfjs_infer

    isa = tfjs_infer.build_info()["isa_selected"]
    remote = {}
    try:
        for name in names:
            remote[name] = RemoteEngine(name, folder, threads, [batch])
        first = interleave_remote(remote, batch, 1, 2, settle_s=0.03)  # warm, and a call's time
        inner = {n: max(1, int(0.2 / max(min(v), 1e-6))) for n, v in first.items()}
        samples: dict[str, list[float]] = {n: [] for n in [*remote, PEAK]}
        for r in range(rounds):
            order = list(remote) if r % 2 == 0 else list(remote)[::-1]
            for n in order:
                s = interleave_remote({n: remote[n]}, batch, 1, inner[n], settle_s=0.03)
                samples[n].append(statistics.median(s[n]))
                wait_quiet([e.proc.pid for e in remote.values()])
                if n == order[-1] and isa in ("avx512", "avx2"):
                    samples[PEAK].append(wall_peak(isa, threads, 20_000_000))
    finally:
        for engine in remote.values():
            engine.close()
    return {n: statistics.median(v) for n, v in samples.items() if v}


def report(name: str, batch: int, macs: int, med: dict, notes: dict) -> None:
    # fma_peak gives GFLOP/s: 2 flops per MAC. NaN where the build has no probe.
    peak_gmacs = med.pop(PEAK, float("nan")) / 2.0
    print(
        f"\n== {name}, batch {batch}: {macs / batch / 1e6:,.2f} M MAC per row; "
        f"FMA-loop peak {peak_gmacs:.1f} G MAC/s"
    )
    print(f"  {'engine':<12} {'ms/call':>10} {'G MAC/s':>9} {'% peak':>7} {'ours/eng':>9}")
    ours = med["tfjs-infer"]
    for engine, sec in med.items():
        rate = macs / sec / 1e9
        print(
            f"  {engine:<12} {sec * 1e3:>10.3f} {rate:>9.1f} {100 * rate / peak_gmacs:>6.1f}%"
            f" {ours / sec:>9.3f}"
        )
    for engine, why in notes.items():
        print(f"  {engine:<12} {why}")
    peers = {e: s for e, s in med.items() if e != "tfjs-infer"}
    if peers:
        best = min(peers, key=peers.get)
        need = macs / (0.9 * peers[best]) / 1e9 / peak_gmacs
        print(
            f"  best peer {best}: tfjs-infer / {best} = {ours / peers[best]:.3f}; "
            f"0.9x its time needs {100 * need:.1f} % of the FMA-loop peak"
            + (" (out of reach with these multiply-adds)" if need > 1.0 else "")
        )


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--models", default=",".join(MODEL_ORDER))
    p.add_argument("--batches", default="1,32,256", help="batch 256 is skipped for the big CNNs")
    p.add_argument("--rounds", type=int, default=9)
    p.add_argument("--threads", type=int, default=1, help="> 1: engines in worker processes")
    p.add_argument("--models-dir", type=Path, default=MODELS_DIR)
    return p.parse_args()


def main() -> None:
    args = parse_args()
    header()
    if args.threads == 1:
        print("1 thread, thread CPU time, engines and the FMA loop interleaved; medians")
    else:
        print(
            f"{args.threads} threads, wall clock, each engine in its own worker process, the FMA"
            f" loop on {args.threads} threads between their turns; medians"
        )
    jiffies = cpu_jiffies()
    batches = [int(b) for b in args.batches.split(",")]
    for name in args.models.split(","):
        folder = args.models_dir / name
        meta = json.loads((folder / "meta.json").read_text())
        rows = np.load(folder / "input.npy")
        for batch in batches:
            if batch == 256 and name in BIG:
                continue
            notes = {}
            names = []
            for engine in IN_PROCESS:
                why = engine_available(engine, meta)
                if why:
                    notes[engine] = why
                else:
                    names.append(engine)
            macs = count_macs(folder / meta["files"]["onnx"], batch)
            if args.threads > 1:
                med = time_workers(names, folder, batch, args.rounds, args.threads)
            else:
                x = np.ascontiguousarray(np.resize(rows, (batch, *rows.shape[1:])))
                engines = {e: load_engine(e, folder, meta, 1, [batch]) for e in names}
                med = time_engines(engines, x, args.rounds, peak_iters=2_000_000)
            report(meta["description"], batch, macs, med, notes)
    print(f"\nhost {steal_since(jiffies)}")


if __name__ == "__main__":
    main()
