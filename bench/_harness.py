"""Shared benchmark helpers: TF.js-format model writing for synthetic models,
interleaved timing with medians, environment header."""

from __future__ import annotations

import bisect
import collections
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

# The timed part of a fresh-process A/B sample (env_ab.py, build_ab.py): the
# program before it defines folder, batch, threads, seconds, x and model (with
# hashlib, json, time and numpy as np imported); prints the median seconds of
# predict over `seconds` (thread CPU time at one thread) and the first output's
# digest, as one JSON line.
TIMED_PREDICT_CHILD = r"""
out = model.predict(x, batch_size=batch)
for _ in range(3):
    model.predict(x, batch_size=batch)
clock = time.thread_time if threads == 1 else time.perf_counter
samples, end = [], time.perf_counter() + seconds
while time.perf_counter() < end or len(samples) < 5:
    t = clock()
    model.predict(x, batch_size=batch)
    samples.append(clock() - t)
print(json.dumps({"median": float(np.median(samples)),
                  "digest": hashlib.sha256(np.ascontiguousarray(out).tobytes()).hexdigest()}))
"""


def run_with_env(var: str, value: str, argv: list[str]) -> Any:
    """Runs `python argv...` in a fresh process with var=value set (several at
    once: var "A+B", value "a+b") and returns its last stdout line read as JSON
    (env_ab.py, op_profile_ab.py)."""
    import subprocess

    names, values = var.split("+"), value.split("+")
    if len(names) != len(values):
        raise SystemExit(f"--values {value!r} does not give one value per name of {var!r}")
    env = dict(os.environ, **dict(zip(names, values)))
    p = subprocess.run(
        [sys.executable, *argv], env=env, capture_output=True, text=True, timeout=600
    )
    if p.returncode != 0:
        raise RuntimeError(f"{var}={value}: " + (p.stderr.strip().splitlines() or ["?"])[-1])
    return json.loads(p.stdout.strip().splitlines()[-1])


def header() -> None:
    import tfjs_infer

    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"tfjs_infer {tfjs_infer.__version__}"
    )
    info = tfjs_infer.build_info()
    print(
        f"tfjs_infer: isa={info['isa_selected']} (available {info['isas_available']}), "
        f"openmp={info['openmp']}, cores={os.cpu_count()}"
    )
    print(cpu_line())


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (cpuid's brand string where absent)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("model name", "Model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import tfjs_infer

    return tfjs_infer.build_info()["cpu"]["model"] or platform.processor() or platform.machine()


def cpu_line() -> str:
    """CPU model, caches and the GEMM parameters chosen: traces a figure to its machine."""
    import tfjs_infer

    cpu = tfjs_infer.build_info()["cpu"]
    kib = 1024
    gemm = ", ".join(f"{k}={v}" for k, v in cpu["gemm"].items())
    return (
        f"cpu: {cpu_model()} (family {cpu['family']} model {cpu['model_id']}); "
        f"L1D {cpu['l1d_bytes'] // kib} KiB, L2 {cpu['l2_per_core_bytes'] // kib} KiB/core, "
        f"L3 {cpu['l3_bytes'] // (kib * kib)} MiB; gemm: {gemm}"
        + (f"; overrides: {' '.join(cpu['overrides'])}" if cpu["overrides"] else "")
    )


def probe_main(doc: str, source: str, default_rounds: int, flags: tuple[str, ...] = ()) -> None:
    """main() of a C++ probe in bench/ (isa_probe, dw_pairs_probe): parses
    --rounds and --cxx, prints the command and the CPU, compiles `source`
    (-O2, `flags`, cpp/ on the include path) in a temporary folder and runs it
    with the rounds."""
    import argparse
    import shutil
    import subprocess
    import tempfile

    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=default_rounds)
    parser.add_argument("--cxx", default=os.environ.get("CXX", "c++"))
    args = parser.parse_args()
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"{cpu_line()}; load average at start: {os.getloadavg()}")
    if not shutil.which(args.cxx):
        sys.exit(f"no C++ compiler '{args.cxx}' (set --cxx or CXX)")
    with tempfile.TemporaryDirectory() as tmp:
        exe = Path(tmp) / Path(source).stem
        build = [args.cxx, "-O2", "-std=c++17", *flags, f"-I{here.parent / 'cpp'}"]
        build += [str(here / source), "-o", str(exe)]
        print("build: " + " ".join(build))
        subprocess.run(build, check=True, timeout=300)
        subprocess.run([str(exe), str(args.rounds)], check=True, timeout=600)
    print(f"load average at end: {os.getloadavg()}")


def run_header(script: str) -> None:
    """The command, CPU model, caches, GEMM parameters and load average: the first
    lines of a bench script's output, so a figure can be traced to its run."""
    print("command: python", " ".join([f"bench/{script}", *sys.argv[1:]]))
    print(cpu_line(), "| load average:", " ".join(f"{v:.2f}" for v in os.getloadavg()))


def ort_session(model: Path | str | bytes, threads: int, profile_prefix: str | None = None):
    """An onnxruntime CPU session on a model file (or its serialized bytes) at
    `threads` intra-op threads, sequential; with profile_prefix, profiling on
    (SessionOptions.enable_profiling) into that prefix."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    if profile_prefix is not None:
        so.enable_profiling = True
        so.profile_file_prefix = profile_prefix
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, so, providers=["CPUExecutionProvider"])


def ort_profile_runs(events: list[dict], key: Callable[[dict], str]) -> list[dict[str, float]]:
    """Per run of a profiled onnxruntime session: microseconds per key(node event).

    A node's `_kernel_time` event belongs to the `model_run` whose span holds its
    start. onnxruntime writes each run's node events BEFORE that run's
    `model_run` event (an event is recorded when its span ends), so the events'
    order cannot say which run a node belongs to; the time stamps can."""
    spans = sorted(
        (e["ts"], e["ts"] + e["dur"])
        for e in events
        if e.get("cat") == "Session" and e["name"] == "model_run"
    )
    runs: list[dict[str, float]] = [collections.defaultdict(float) for _ in spans]
    starts = [a for a, _ in spans]
    for e in events:
        if e.get("cat") != "Node" or not e["name"].endswith("_kernel_time"):
            continue
        i = bisect.bisect_right(starts, e["ts"]) - 1
        if i >= 0 and e["ts"] <= spans[i][1]:
            runs[i][key(e)] += e["dur"]
    return runs


def cpu_jiffies() -> tuple[int, int] | None:
    """(steal, total) jiffies of all CPUs from /proc/stat; None where it is absent."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu" or len(fields) < 9:
        return None
    counts = [int(v) for v in fields[1:9]]  # user nice system idle iowait irq softirq steal
    return counts[7], sum(counts)


def steal_since(start: tuple[int, int] | None) -> str:
    """The host's steal over the run as a share of all CPU time since `start`: on a
    virtual machine a second vCPU that the hypervisor gives to others makes several-
    thread figures measure the host, not the engine."""
    end = cpu_jiffies()
    if start is None or end is None or end[1] <= start[1]:
        return "steal: unknown"
    return f"steal: {100.0 * (end[0] - start[0]) / (end[1] - start[1]):.1f} % of CPU time"


def write_dense_model(
    folder: Path, sizes: list[int], acts: list[str], seed: int = 0
) -> dict[str, np.ndarray]:
    """Write a Sequential Dense stack as TF.js model.json + weights.bin; return the weights."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    layers, specs, blobs, weights = [], [], [], {}
    for i, (k, n, act) in enumerate(zip(sizes[:-1], sizes[1:], acts)):
        name = f"dense_{i}"
        cfg = {"name": name, "units": n, "activation": act, "use_bias": True}
        if i == 0:
            cfg["batch_input_shape"] = [None, k]
        layers.append({"class_name": "Dense", "config": cfg})
        w = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
        b = (rng.standard_normal(n) * 0.1).astype(np.float32)
        for wname, arr in (("kernel", w), ("bias", b)):
            specs.append({"name": f"{name}/{wname}", "shape": list(arr.shape), "dtype": "float32"})
            blobs.append(arr.tobytes())
            weights[f"{name}/{wname}"] = arr
    doc = {
        "format": "layers-model",
        "modelTopology": {"class_name": "Sequential", "config": {"name": "mlp", "layers": layers}},
        "weightsManifest": [{"paths": ["weights.bin"], "weights": specs}],
    }
    (folder / "model.json").write_text(json.dumps(doc))
    (folder / "weights.bin").write_bytes(b"".join(blobs))
    return weights


def onnx_dense_session(weights: dict[str, np.ndarray], acts: list[str], threads: int):
    """The same Dense stack as an ONNX model in onnxruntime, or None if not installed."""
    try:
        import onnxruntime  # noqa: F401  (installed?)
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        return None
    names = sorted({k.split("/")[0] for k in weights}, key=lambda s: int(s.split("_")[1]))
    nodes, inits = [], []
    prev = "x"
    for i, name in enumerate(names):
        w, b = weights[f"{name}/kernel"], weights[f"{name}/bias"]
        inits += [numpy_helper.from_array(w, f"{name}_w"), numpy_helper.from_array(b, f"{name}_b")]
        out = f"h{i}"
        nodes.append(helper.make_node("Gemm", [prev, f"{name}_w", f"{name}_b"], [out + "_pre"]))
        op = {"relu": "Relu", "softmax": "Softmax", "sigmoid": "Sigmoid", "tanh": "Tanh"}.get(
            acts[i]
        )
        if op is None:
            nodes.append(helper.make_node("Identity", [out + "_pre"], [out]))
        else:
            nodes.append(
                helper.make_node(
                    op, [out + "_pre"], [out], **({"axis": -1} if op == "Softmax" else {})
                )
            )
        prev = out
    k = weights[f"{names[0]}/kernel"].shape[0]
    n = weights[f"{names[-1]}/kernel"].shape[1]
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, k])],
        [helper.make_tensor_value_info(prev, TensorProto.FLOAT, [None, n])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    sess = ort_session(model.SerializeToString(), threads)
    return lambda x: sess.run(None, {"x": x})[0]


def interleaved(
    candidates: dict[str, Callable[[], object]], rounds: int, inner: int
) -> dict[str, float]:
    """Median seconds per call for each candidate, interleaving candidates every
    round and reversing their order each round so machine noise hits all alike."""
    names = list(candidates)
    samples: dict[str, list[float]] = {n: [] for n in names}
    for fn in candidates.values():  # warm up
        for _ in range(3):
            fn()
    for r in range(rounds):
        order = names if r % 2 == 0 else names[::-1]
        for n in order:
            fn = candidates[n]
            t = time.perf_counter()
            for _ in range(inner):
                fn()
            samples[n].append((time.perf_counter() - t) / inner)
    return {n: float(np.median(v)) for n, v in samples.items()}


def load_copies_early_late(
    model_json: Path,
    var: str,
    values: list[str],
    x: np.ndarray,
    batch: int,
    threads: int,
    precision: str,
) -> list[tuple[str, Any]]:
    """One model per value of the switch(es) `var` (names joined by +, values
    by +), read when the model is built: loaded in the order of `values` and
    again in reverse, so each value has an early and a late copy (in one
    process the model loaded first ran ~4 % slower than an identical one loaded
    after it). Checks every copy gives the first one's bits on x. Returns
    (value, model) in load order."""
    import tfjs_infer

    names = var.split("+")
    copies: list[tuple[str, Any]] = []
    for v in [*values, *values[::-1]]:
        for n, val in zip(names, v.split("+")):
            os.environ[n] = val
        model = tfjs_infer.load_model(str(model_json), num_threads=threads, precision=precision)
        copies.append((v, model))
    for n in names:
        os.environ.pop(n)
    want = copies[0][1].predict(x, batch_size=batch)
    for _, m in copies:
        got = m.predict(x, batch_size=batch)
        np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))
    return copies


def gemm_blocking_ab(
    field: str, run: Callable[[np.ndarray], None], out: tuple[np.ndarray, np.ndarray], rounds: int
) -> tuple[float, float, bool]:
    """A GemmBlocking switch off and on in this process (bench/narrow_tail.py,
    bench/bf16_mem_broadcast.py): `run(out)` timed by thread CPU time with `field`
    0 and 1 (_testing.set_gemm_blocking; the CPU's values restored after),
    taking turns, the order reversed each round, round 0 a warm-up. Returns the
    median seconds per `run` off and on, and whether out[0] and out[1] are equal
    bit for bit."""
    import tfjs_infer
    from tfjs_infer import _core

    testing = _core._testing
    saved = tfjs_infer.build_info()["cpu"]["gemm"]
    samples: dict[int, list[float]] = {0: [], 1: []}
    try:
        for r in range(rounds + 1):
            for value in (0, 1) if r % 2 == 0 else (1, 0):
                testing.set_gemm_blocking(**{**saved, field: value})
                t0 = time.thread_time()
                run(out[value])
                if r > 0:
                    samples[value].append(time.thread_time() - t0)
    finally:
        testing.set_gemm_blocking(**saved)
    same = bool(np.array_equal(out[0].view(np.uint32), out[1].view(np.uint32)))
    off, on = (float(np.median(samples[v])) for v in (0, 1))
    return off, on, same


def gemm_blocking_ab_row(
    field: str,
    shape: str,
    m: int,
    k: int,
    n: int,
    run: Callable[[np.ndarray], None],
    reps: int,
    rounds: int,
) -> None:
    """gemm_blocking_ab on an m x k x n product whose `run(out)` makes `reps`
    products, printed as one row (bench/narrow_tail.py, bench/gemm_fixed_k.py):
    microseconds off and on, their ratio, GFLOP/s off and on; stops if the
    outputs differ."""
    outs = (np.empty((m, n), np.float32), np.empty((m, n), np.float32))
    off, on, same = gemm_blocking_ab(field, run, outs, rounds)
    if not same:
        raise SystemExit(f"{shape}: outputs differ")
    off, on = off / reps, on / reps
    gf = 2 * m * k * n / 1e9
    print(
        f"{shape:>16} {off * 1e6:9.1f} {on * 1e6:9.1f} {on / off:9.3f} "
        f"{gf / off:9.1f} {gf / on:9.1f}"
    )
