"""tfjs-infer side by side with the runtimes users would otherwise pick.

    python bench/compare.py [--models mlp,lstm] [--threads 1,2] [--rounds 30] [--full]
                            [--json out.json] [--cpu-time]

Models: the fixed set of bench/make_bench_models.py (MLP 784-512-512-10, MNIST
CNN, MobileNetV2 1.0 224, ResNet50, LSTM(128) 50x32, Embedding+Conv1D text
classifier), from bench/.models/ (build them first; see bench/README.md).

Engines, each only when installed ("not installed" otherwise):
  tfjs-infer     the TF.js model.json                      } interleaved round-robin,
  onnxruntime    tf2onnx's model.onnx, CPU EP              } order reversed each round:
  LiteRT         model.tflite, XNNPACK (ai-edge-litert)    } at 1 thread in this process,
                 at several threads each in its own worker process (see below)
  Keras 3        model.h5, predict and direct call: its own process (Python with Keras 3:
                 --keras-python, default $TFJS_INFER_KERAS_PYTHON or /opt/fixenv/bin/python)
  TF.js wasm     model.json in Node: its own process (NODE_PATH must reach
                 @tensorflow/tfjs and @tensorflow/tfjs-backend-wasm)

Figures per model and thread count: import time, load time and first-call latency
(fresh process per engine: what a new service sees; median of --cold-reps), peak
RSS of that process, batch-1 median and p90, latency after --idle-ms of idle,
batch-32 and batch-256 throughput. Every figure is printed with its ratio
tfjs-infer / peer (below 1: tfjs-infer is faster or smaller). Outputs are checked
against tfjs-infer's before timing. --cpu-time: at 1 thread the batch-1 and
throughput figures are the calling thread's CPU time (every in-process engine
computes on it), which leaves out the time a loaded host gives other processes.

Several threads (--threads 2): each in-process engine runs in its own worker
process (loaded once, the same inputs), and the workers take turns block by
block exactly as the in-process engines do, medians over the blocks. In one
process, tfjs-infer's 2-thread batch-1 MLP was once measured at 82-99 us after
onnxruntime had run in that process, against 23-37 us on its own (cause not
found); in separate processes each engine's figures are its own. --in-process
keeps the old way (one process). Each turn starts once the other workers have
stopped running (_engine_procs.wait_quiet): onnxruntime's pool spins for tens
of milliseconds after its turn, past the 30 ms settle sleep, and on a 2-vCPU
host it held one core while the next engine's two threads shared the other
(tfjs-infer's 2-thread batch-1 MLP read 72-87 us that way, 27-28 us with the
wait). Every engine gets the same wait. The host's steal time (/proc/stat) is
printed per model and thread count.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _engine_procs import RemoteEngine, cold_figures, inputs_for, interleave_remote, serve
from _harness import cpu_jiffies, cpu_line, ort_session, steal_since

HERE = Path(__file__).resolve().parent
MODELS_DIR = HERE / ".models"
MODEL_ORDER = ["mlp", "mnist_cnn", "mobilenet_v2", "resnet50", "lstm", "text_cnn"]
BIG = {"mobilenet_v2", "resnet50"}  # fewer rounds; batch 256 only with --full
IN_PROCESS = ["tfjs-infer", "onnxruntime", "LiteRT"]
RTOL, ATOL = 1e-3, 1e-5  # across engines: float32 with different summation orders
WARM_S = 0.02  # untimed calls before each hot block when several threads run ...
WARM_CALLS = 2  # ... and at least this many (a batch-32 call can outlast WARM_S)

# Issue targets, tfjs-infer batch-1 time / peer time (at 1 and 2 threads).
TARGETS = {
    ("mlp", "LiteRT"): 1.0,
    ("mlp", "onnxruntime"): 0.75,
    ("lstm", "onnxruntime"): 1.0,
    ("mobilenet_v2", "LiteRT"): 1.0,
    ("mobilenet_v2", "onnxruntime"): 0.9,
    ("resnet50", "onnxruntime"): 1.05,
}
TARGET_ALL = {"TF.js wasm": 1 / 6.7, "Keras 3 predict": 1 / 8.0}


# -- engines in this process -------------------------------------------------------------
class Engine:
    """A loaded model: run(x) -> first output as a numpy array."""

    def __init__(self, name: str, run: Callable[[np.ndarray], np.ndarray]):
        self.name = name
        self.run = run


def load_engine(name: str, folder: Path, meta: dict, threads: int, batches: list[int]) -> Engine:
    files = meta["files"]
    if name == "tfjs-infer":
        import tfjs_infer

        model = tfjs_infer.load_model(folder / files["tfjs"], num_threads=threads)
        return Engine(name, lambda x: model.predict(x, batch_size=len(x)))
    if name == "onnxruntime":
        sess = ort_session(folder / files["onnx"], threads)
        in_name = sess.get_inputs()[0].name
        return Engine(name, lambda x: sess.run(None, {in_name: x})[0])
    if name == "LiteRT":
        from ai_edge_litert.interpreter import Interpreter

        # One interpreter per batch size, resized and allocated now, so no
        # call pays for a resize.
        interps = {}
        for b in batches:
            fixed = meta.get("tflite_fixed_batches")
            path = folder / (f"model_b{b}.tflite" if fixed else files["tflite"])
            it = Interpreter(model_path=str(path), num_threads=threads)
            i = it.get_input_details()[0]
            if not fixed and i["shape"][0] != b:
                it.resize_tensor_input(i["index"], [b, *meta["input"]["shape"]])
            it.allocate_tensors()
            interps[b] = (
                it,
                it.get_input_details()[0]["index"],
                it.get_output_details()[0]["index"],
            )

        def run(x: np.ndarray) -> np.ndarray:
            it, i, o = interps[len(x)]
            it.set_tensor(i, x)
            it.invoke()
            return it.get_tensor(o)

        return Engine(name, run)
    raise ValueError(name)


def engine_available(name: str, meta: dict) -> str | None:
    """None when usable, else why not."""
    mods = {"tfjs-infer": "tfjs_infer", "onnxruntime": "onnxruntime", "LiteRT": "ai_edge_litert"}
    key = {"tfjs-infer": "tfjs", "onnxruntime": "onnx", "LiteRT": "tflite"}[name]
    import importlib.util

    if importlib.util.find_spec(mods[name]) is None:
        return "not installed"
    if key not in meta["files"]:
        return "no model file (" + meta["errors"].get(key, "not written")[:80] + ")"
    return None


def peak_rss() -> int:
    """This process's peak resident set (VmHWM). Not getrusage's ru_maxrss:
    that one keeps the parent's peak across fork+exec."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# -- warm figures: interleaved in this process -------------------------------------------
def interleave(
    fns: dict[str, Callable[[], Any]],
    rounds: int,
    inner: int,
    idle_s: float = 0.0,
    settle_s: float = 0.0,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, list[float]]:
    """Per-call seconds of each candidate; candidates take turns every round
    and the order reverses each round. With idle_s, each timed call follows
    that much sleep (the after-idle latency). With settle_s (several threads),
    each block starts with that much sleep, then untimed calls for WARM_S and at
    least WARM_CALLS calls (with one 5 ms call, the first timed call after the
    sleep still ran at about the 1-thread speed on the 2-vCPU host):
    pools spin for a while after a call (onnxruntime's for ~20 ms) and would
    otherwise take the next engine's cores, and a virtual CPU left idle can
    take milliseconds to come back, which belongs to the after-idle figure,
    not to the hot ones. clock times the hot calls (time.thread_time with
    --cpu-time at one thread); the after-idle call is always wall time."""
    names = list(fns)
    samples: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        for n in names if r % 2 == 0 else names[::-1]:
            fn = fns[n]
            if idle_s:
                fn()  # this engine hot again, then idle
                time.sleep(idle_s)
                t = time.perf_counter()
                fn()
                samples[n].append(time.perf_counter() - t)
                continue
            if settle_s:
                time.sleep(settle_s)
                warm_until = time.perf_counter() + WARM_S
                for _ in range(WARM_CALLS):
                    fn()
                while time.perf_counter() < warm_until:
                    fn()
            for _ in range(inner):
                t = clock()
                fn()
                samples[n].append(clock() - t)
    return samples


def check_outputs(engines: dict[str, Engine], x: np.ndarray) -> dict[str, str]:
    ref = np.asarray(engines["tfjs-infer"].run(x), np.float64)
    notes = {}
    for name, eng in engines.items():
        if name == "tfjs-infer":
            continue
        got = np.asarray(eng.run(x), np.float64).reshape(ref.shape)
        err = float(np.max(np.abs(got - ref)))
        ok = bool(np.all(np.abs(got - ref) <= ATOL + RTOL * np.abs(ref)))
        notes[name] = f"max |diff| {err:.2e}" + ("" if ok else "  ** OUTPUTS DIFFER **")
    return notes


# -- several threads: one worker process per engine (_engine_procs.py) --------------------
def worker_main(engine: str, folder: Path, threads: int, batches: list[int]) -> None:
    """`--worker`: load one engine, then answer the parent's commands
    (_engine_procs.serve)."""
    out = sys.stdout
    sys.stdout = sys.stderr  # libraries' prints must not mix with the replies
    meta = json.loads((folder / "meta.json").read_text())
    try:
        eng = load_engine(engine, folder, meta, threads, batches)
    except Exception as exc:
        out.write(json.dumps({"error": f"{type(exc).__name__}: {str(exc).splitlines()[0]}"}) + "\n")
        out.flush()
        return
    serve(engine, eng.run, inputs_for(folder, batches), interleave, out)


# -- peers in their own processes --------------------------------------------------------
def run_keras(
    py: str, folder: Path, meta: dict, threads: int, rounds: int, idle_ms: float, batches: list[int]
) -> dict | str:
    if not Path(py).exists():
        return "not installed"
    p = subprocess.run(
        [
            py,
            str(HERE / "keras_bench.py"),
            str(folder / meta["files"]["keras"]),
            str(folder / "input.npy"),
            str(threads),
            str(rounds),
            str(idle_ms),
            ",".join(map(str, batches)),
        ],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if p.returncode != 0:
        tail = (p.stderr.strip().splitlines() or ["?"])[-1]
        return "not installed" if "No module named 'keras'" in tail else f"failed: {tail[:120]}"
    return json.loads(p.stdout.strip().splitlines()[-1])


def run_tfjs_wasm(
    folder: Path, meta: dict, threads: int, rounds: int, idle_ms: float, batches: list[int]
) -> dict | str:
    node = os.environ.get("NODE", "node")
    env = dict(os.environ)
    check = subprocess.run(
        [
            node,
            "-e",
            "require.resolve('@tensorflow/tfjs-backend-wasm');require.resolve('@tensorflow/tfjs')",
        ],
        capture_output=True,
        env=env,
    )
    if check.returncode != 0:
        return "not installed"
    x = np.load(folder / "input.npy")
    with tempfile.NamedTemporaryFile(suffix=".bin", delete=False) as f:
        f.write(np.ascontiguousarray(x).tobytes())
    try:
        shape = "x".join(str(d) for d in x.shape)
        p = subprocess.run(
            [
                node,
                str(HERE / "tfjs_wasm_bench.cjs"),
                str(folder / meta["files"]["tfjs"]),
                f.name,
                shape,
                meta["input"]["dtype"],
                str(threads),
                str(rounds),
                str(idle_ms),
                ",".join(map(str, batches)),
            ],
            capture_output=True,
            text=True,
            timeout=3600,
            env=env,
        )
    finally:
        os.unlink(f.name)
    if p.returncode != 0:
        return "failed: " + (p.stderr.strip().splitlines() or ["?"])[-1][:120]
    return json.loads(p.stdout)


# -- report ------------------------------------------------------------------------------
def med(v: list[float]) -> float:
    return float(np.median(v))


def p90(v: list[float]) -> float:
    return float(np.percentile(v, 90))


def fmt_time(s: float | None) -> str:
    if s is None:
        return "-"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    return f"{s * 1e6:.1f} us"


def print_table(
    title: str,
    rows: list[tuple[str, str]],
    figs: dict[str, dict[str, float | None]],
    engines: list[str],
    notes: dict[str, str],
) -> None:
    """rows: (figure key, label); figs[engine][key] in seconds (bytes for rss,
    rows/s for throughput)."""
    print(f"\n{title}")
    w = 22
    print(f"{'':<26}" + "".join(f"{e:>{w}}" for e in engines))
    for key, label in rows:
        line = f"{label:<26}"
        ours = figs.get("tfjs-infer", {}).get(key)
        for e in engines:
            v = figs.get(e, {}).get(key)
            if v is None:
                line += f"{'-':>{w}}"
                continue
            if key == "rss":
                cell = f"{v / 2**20:.0f} MB"
            elif key.startswith("tput"):
                cell = f"{v:,.0f}/s"
            else:
                cell = fmt_time(v)
            if e != "tfjs-infer" and ours:
                ratio = (v / ours) if key.startswith("tput") else (ours / v)
                cell += f" ({ratio:.2f})"
            line += f"{cell:>{w}}"
        print(line)
    for e, n in notes.items():
        print(f"  {e}: {n}")


def measure_model(
    name: str, folder: Path, meta: dict, threads: int, args: argparse.Namespace
) -> dict | None:
    """Every engine's figures for one model at one thread count (None: skipped)."""
    big = name in BIG
    batches = [1, 32] + ([256] if not big or args.full else [])
    xs = inputs_for(folder, batches)
    remote = threads > 1 and not args.in_process
    title = f"== {meta['description']}, {threads} thread(s)" + (
        ", each engine in its own process" if remote else ""
    )

    def load(engine: str) -> Engine | RemoteEngine:
        if remote:
            return RemoteEngine(engine, folder, threads, batches)
        return load_engine(engine, folder, meta, threads, batches)

    try:
        why = engine_available("tfjs-infer", meta)
        if why:
            raise RuntimeError(why)
        engines = {"tfjs-infer": load("tfjs-infer")}
    except Exception as exc:  # layers not landed yet
        print(
            f"\n{title}\n  skipped: tfjs-infer cannot run it yet ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:160]}); rerun when those layers land"
        )
        return None
    notes: dict[str, str] = {}
    for peer in IN_PROCESS[1:]:
        why = engine_available(peer, meta)
        if why:
            notes[peer] = why
            continue
        try:
            engines[peer] = load(peer)
        except Exception as exc:
            notes[peer] = f"failed to load: {type(exc).__name__}: {str(exc)[:100]}"
    for b in (1, 32):
        for peer, note in check_outputs(engines, xs[b]).items():
            notes[peer] = (notes.get(peer, "") + f" batch {b}: {note};").strip()
    rounds = max(5, args.rounds // 3) if big else args.rounds
    # One thread: every in-process engine computes on the calling thread, so
    # its CPU time leaves out what the OS gives other processes (--cpu-time).
    clock = time.thread_time if args.cpu_time and threads == 1 else time.perf_counter
    try:
        figs = warm_figures(
            engines, xs, batches, rounds, 3 if big else 10, args.idle_ms, big, threads, clock
        )
        ref = np.asarray(engines["tfjs-infer"].run(xs[1]), np.float64).reshape(-1)
    finally:
        for eng in engines.values():
            if isinstance(eng, RemoteEngine):
                eng.close()
    first_vs_steady = None
    # Fresh processes, the engines taking turns rep by rep (a VM hands out
    # never-touched memory slowly now and then: one sample per engine in a
    # row would pin such a phase on one engine); medians per engine.
    reps: dict[str, list[dict | str]] = {e: [] for e in engines}
    for _ in range(args.cold_reps):
        for e in engines:
            reps[e].append(cold_figures(e, folder, threads, 1))
    for e in engines:
        failed = [r for r in reps[e] if isinstance(r, str)]
        cold = (
            failed[0]
            if failed
            else {k: statistics.median(r[k] for r in reps[e]) for k in reps[e][0]}
        )
        if isinstance(cold, str):
            notes[e] = (notes.get(e, "") + " cold start " + cold).strip()
            continue
        if e == "tfjs-infer":
            first_vs_steady = cold["first_s"] / cold["steady_s"]
        figs[e].update(
            import_s=cold["import_s"],
            load=cold["load_s"],
            first=cold["first_s"],
            rss=cold["peak_rss_bytes"],
        )
    own_rounds = max(3, rounds // 3)
    if not args.no_keras:
        add_keras(
            figs,
            notes,
            ref,
            run_keras(args.keras_python, folder, meta, threads, own_rounds, args.idle_ms, batches),
        )
    if not args.no_tfjs:
        add_tfjs(
            figs,
            notes,
            ref,
            run_tfjs_wasm(folder, meta, threads, own_rounds, args.idle_ms, batches),
        )
    report(name, title, figs, notes, batches, args.idle_ms, first_vs_steady)
    return {"figures": figs, "notes": notes}


def warm_figures(
    engines: dict[str, Engine | RemoteEngine],
    xs: dict[int, np.ndarray],
    batches: list[int],
    rounds: int,
    inner: int,
    idle_ms: float,
    big: bool,
    threads: int,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, dict]:
    """Batch-1 median/p90, after-idle latency and throughput, interleaved; the
    hot figures timed by `clock` (in-process engines; worker processes time
    with perf_counter, as at several threads here)."""
    remote = {e: eng for e, eng in engines.items() if isinstance(eng, RemoteEngine)}

    def turns(
        b: int, rounds: int, inner: int, warm: int, idle_s: float = 0.0, settle_s: float = 0.0
    ) -> dict[str, list[float]]:
        if remote:
            if warm:
                interleave_remote(remote, b, 1, warm)
            return interleave_remote(remote, b, rounds, inner, idle_s, settle_s)
        fns = {e: (lambda eng=eng, x=xs[b]: eng.run(x)) for e, eng in engines.items()}
        for fn in fns.values():
            for _ in range(warm):
                fn()
        return interleave(fns, rounds, inner, idle_s=idle_s, settle_s=settle_s, clock=clock)

    settle = 0.03 if threads > 1 else 0.0
    b1 = turns(1, rounds, inner, 3, settle_s=settle)
    idle = turns(1, rounds, 1, 0, idle_s=idle_ms / 1e3)
    figs: dict[str, dict] = {
        e: {"b1_med": med(b1[e]), "b1_p90": p90(b1[e]), "idle": med(idle[e])} for e in engines
    }
    for b in batches[1:]:
        s = turns(b, 3 if big else 5, 1, 1, settle_s=settle)
        for e in engines:
            figs[e][f"tput{b}"] = b / med(s[e])
    return figs


def add_keras(figs: dict, notes: dict, ref: np.ndarray, k: dict | str) -> None:
    if isinstance(k, str):
        notes["Keras 3"] = k
        return
    err = float(np.max(np.abs(np.asarray(k["output"]) - ref)))
    notes["Keras 3"] = (
        f"{k['keras_version']} ({k['backend']}), own process; batch 1: max |diff| {err:.2e}"
    )
    for which, label in (("predict", "Keras 3 predict"), ("call", "Keras 3 call")):
        d = k[which]
        figs[label] = {
            "b1_med": med(d["b1"]),
            "b1_p90": p90(d["b1"]),
            "idle": med(d["idle"]),
            "import_s": k["import_s"],
            "load": k["load_s"],
            "first": k["first_s"] if which == "predict" else None,
            "rss": k["peak_rss_bytes"],
        }
        for b, s in d["batches"].items():
            figs[label][f"tput{b}"] = int(b) / med(s)


def add_tfjs(figs: dict, notes: dict, ref: np.ndarray, t: dict | str) -> None:
    if isinstance(t, str):
        notes["TF.js wasm"] = t
        return
    err = float(np.max(np.abs(np.asarray(t["output"]) - ref)))
    notes["TF.js wasm"] = (
        f"{t['tfjs_version']}, own process, wasm threads "
        f"{t.get('threads', '?')}; batch 1: max |diff| {err:.2e}"
    )
    figs["TF.js wasm"] = {
        "b1_med": med(t["b1"]),
        "b1_p90": p90(t["b1"]),
        "idle": med(t["idle"]),
        "import_s": t["import_s"],
        "load": t["load_s"],
        "first": t["first_s"],
        "rss": t["peak_rss_bytes"],
    }
    for b, s in t["batches"].items():
        figs["TF.js wasm"][f"tput{b}"] = int(b) / med(s)


def report(
    name: str,
    title: str,
    figs: dict,
    notes: dict,
    batches: list[int],
    idle_ms: float,
    first_vs_steady: float | None,
) -> None:
    rows = [
        ("import_s", "import"),
        ("load", "load"),
        ("first", "first call (batch 1)"),
        ("b1_med", "batch 1 median"),
        ("b1_p90", "batch 1 p90"),
        ("idle", f"after {idle_ms:g} ms idle"),
    ]
    rows += [(f"tput{b}", f"batch {b} rows/s") for b in batches[1:]]
    rows.append(("rss", "peak RSS"))
    print_table(title, rows, figs, list(figs), notes)
    ratios = ", ".join(
        f"{e} {f['idle'] / f['b1_med']:.2f}"
        for e, f in figs.items()
        if f.get("idle") and f.get("b1_med")
    )
    print(f"  after-idle / hot median: {ratios}")
    if first_vs_steady is not None:
        print(
            f"  tfjs-infer first call / steady batch-1 median, fresh process: "
            f"{first_vs_steady:.2f} (target <= 1.2)"
        )
    ours = figs["tfjs-infer"]["b1_med"]
    targets = [(peer, t) for (m, peer), t in TARGETS.items() if m == name]
    targets += list(TARGET_ALL.items())
    for peer, target in targets:
        if peer in figs:
            r = ours / figs[peer]["b1_med"]
            print(
                f"  target batch 1 vs {peer}: {r:.3f} (<= {target:.3f}) "
                f"{'met' if r <= target else 'MISSED'}"
            )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--models", default=",".join(MODEL_ORDER))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--idle-ms", type=float, default=50.0)
    ap.add_argument("--cold-reps", type=int, default=3)
    ap.add_argument("--full", action="store_true", help="batch 256 on MobileNetV2/ResNet50 too")
    ap.add_argument("--no-keras", action="store_true")
    ap.add_argument("--no-tfjs", action="store_true")
    ap.add_argument(
        "--keras-python",
        default=os.environ.get("TFJS_INFER_KERAS_PYTHON", "/opt/fixenv/bin/python"),
    )
    ap.add_argument("--json", type=Path)
    ap.add_argument(
        "--cpu-time",
        action="store_true",
        help="at 1 thread, time the hot figures (batch-1, throughput) by the calling thread's "
        "CPU time instead of wall time: steadier on a shared, loaded host",
    )
    ap.add_argument(
        "--in-process",
        action="store_true",
        help="at several threads, time the engines in this process (the 1-thread way) instead "
        "of one worker process per engine",
    )
    ap.add_argument("--worker", nargs=2, metavar=("ENGINE", "FOLDER"), help=argparse.SUPPRESS)
    ap.add_argument("--worker-batches", default="1,32", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        batches = [int(b) for b in args.worker_batches.split(",")]
        worker_main(args.worker[0], Path(args.worker[1]), int(args.threads), batches)
        return
    print_header()
    run_start = cpu_jiffies()
    if args.cpu_time:
        print("1-thread hot figures (batch 1, rows/s): thread CPU time (--cpu-time)")
    results: dict[str, Any] = {}
    for name in [m for m in MODEL_ORDER if m in args.models.split(",")]:
        folder = MODELS_DIR / name
        if not (folder / "meta.json").exists():
            print(f"\n== {name}: no model files; run bench/make_bench_models.py (bench/README.md)")
            continue
        meta = json.loads((folder / "meta.json").read_text())
        for threads in [int(t) for t in args.threads.split(",")]:
            stolen_from = cpu_jiffies()
            res = measure_model(name, folder, meta, threads, args)
            if res is None:
                break
            print(f"  host {steal_since(stolen_from)} while {name} ran at {threads} thread(s)")
            results[f"{name}/{threads}"] = res
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}; host {steal_since(run_start)}")


def print_header() -> None:
    import tfjs_infer

    print(f"command: python {' '.join(['bench/compare.py', *sys.argv[1:]])}")
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"tfjs_infer {tfjs_infer.__version__} ({tfjs_infer.build_info()['isa_selected']}), "
        f"cores {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}"
    )
    print(cpu_line())
    for mod, label in (
        ("onnxruntime", "onnxruntime"),
        ("ai_edge_litert", "LiteRT (ai-edge-litert)"),
    ):
        try:
            m = __import__(mod)
            print(f"{label} {getattr(m, '__version__', '?')}")
        except ImportError:
            print(f"{label}: not installed")
    print(
        "in brackets: tfjs-infer / peer (time, RSS) or peer / tfjs-infer (rows/s): "
        "below 1 means tfjs-infer is faster (smaller)"
    )


if __name__ == "__main__":
    main()
