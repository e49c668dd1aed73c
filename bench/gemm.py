"""GEMM kernel throughput: tfjs_infer's packed-B kernels (every built ISA) vs numpy.

    python bench/gemm.py                 # 1 thread, all shapes
    python bench/gemm.py --threads 2     # ops-style split over 2 OpenMP threads
    python bench/gemm.py --shapes 1x1024x1024 --reps 31
    python bench/gemm.py --isa avx512 --tile-rows 6 7   # AVX-512 tile heights, interleaved

With one thread every candidate runs on the calling thread and is timed by its
CPU time (time.thread_time), so time the OS gives to other processes on a
shared machine does not count; with more threads, wall time.

Two denominators per ISA, both measured in the same run, interleaved, times the
thread count (--peak overrides both):
  %fma   the FMA-loop peak of one core (_testing.fma_peak: 12 register-only FMA
         chains); on a Zen 5 core AVX-512 has twice the AVX2 peak. No GEMM reaches
         it on some Intel cores (PERF-NOTES: MLAS neither).
  %sus   a sustained-with-loads peak: the best of this GEMM on shapes whose
         operands stay in L2 (SUSTAINED_SHAPES: the microkernel with its
         loads, broadcasts, tile edges and epilogue, no memory traffic).
  %adj   (1 thread) the same FMA loop, probed again right before every GEMM
         sample for as long as the sample: the median over the repetitions of
         GEMM GFLOP/s / adjacent FMA-loop GFLOP/s. On a shared host the FMA
         throughput a core gives this process moves within a run (neighbours
         on the physical core, clock changes), by more than the kernel
         differences being measured; a once-measured peak then mixes the two,
         the adjacent ratio much less. --no-adjacent leaves it out.

Calls the raw kernels through tfjs_infer._core._testing with B packed once
(as a model does at load) and C preallocated; numpy gets np.matmul(out=...).
--cold-b: every call reads a different copy of B (copies past COLD_BYTES in
all), so B comes from memory as a model's weights do, not from a cache warmed
by the previous call; the calls are then made one by one from Python (a few
microseconds each, which only the smallest shapes notice).
Each repetition times every candidate once, in turn (interleaved, so machine
noise hits them alike); the table shows medians. GFLOP/s counts 2 m n k.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

# The figure the project brief quotes for one core; the table uses the FMA
# peak measured in this run for each ISA instead (see --peak).
BRIEF_PEAK_PER_CORE = 117.0
# --cold-b: copies of B per shape, together at least this many bytes (more
# than the L3 a core of the development hosts sees).
COLD_BYTES = 320 << 20
# Operands in L2 (A 48-96 rows x k, packed B k x 64-128), k long enough that
# tile set-up is amortized: what the kernel sustains with its loads.
SUSTAINED_SHAPES = [(48, 512, 64), (96, 256, 64), (96, 512, 128)]
SHAPES = [
    (1, 1024, 1024),
    (32, 1024, 1024),
    (3136, 144, 32),
    (12544, 32, 64),
    (256, 784, 512),
    (1024, 1024, 1024),
    # ResNet50's im2col GEMMs at batch 1 (PERF-NOTES): conv5 3x3, conv4 3x3, conv1 7x7
    (49, 4608, 512),
    (196, 2304, 256),
    (12544, 147, 64),
]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--reps", type=int, default=15, help="interleaved repetitions (median)")
    p.add_argument("--min-time", type=float, default=0.02, help="seconds per timed sample")
    p.add_argument("--shapes", nargs="*", help="MxKxN ...")
    p.add_argument("--isa", nargs="*", help="ISAs to run (default: all built but generic)")
    p.add_argument("--peak", type=float, help="per-core GFLOP/s to use for every ISA")
    p.add_argument(
        "--no-adjacent",
        action="store_true",
        help="leave out the %%adj column (an FMA-loop probe before every GEMM sample)",
    )
    p.add_argument(
        "--cold-b",
        action="store_true",
        help="each call reads another copy of B (weights from memory, as in a model)",
    )
    p.add_argument(
        "--tile-rows",
        nargs="*",
        type=int,
        help="AVX-512 only: one column per tile height (6, 7), timed interleaved "
        "(default: the one chosen for this CPU)",
    )
    p.add_argument(
        "--blocking",
        help="L2_BLOCK,K_BLOCK,ROW_CHUNK[,PREFETCH_ROWS] for the run (default: derived from cpuid)",
    )
    return p.parse_args()


def split(threads, m, n, nr):
    """(m_split, n_split) as the ops split work: rows when many, else column panels."""
    if threads == 1:
        return 1, 1
    if m >= 4 * threads:
        return threads, 1
    return 1, min(threads, (n + nr - 1) // nr)


def numpy_runner(np, a, b, out):
    """b: one array, or a list of copies that successive calls cycle through."""
    copies = b if isinstance(b, list) else [b]
    turn = [0]

    def run(reps):
        for _ in range(reps):
            np.matmul(a, copies[turn[0] % len(copies)], out=out)
            turn[0] += 1

    return run


def kernel_runner(t, isa, a, packed, out, m_split, n_split, threads, tile_rows=None):
    """packed: one packed B, or a list of copies that successive calls cycle through.
    tile_rows: the AVX-512 tile height set before each sample (None: leave it)."""
    if tile_rows is not None:
        inner = kernel_runner(t, isa, a, packed, out, m_split, n_split, threads)

        def run_rows(reps):
            t.set_gemm_tile_rows(tile_rows)
            inner(reps)

        return run_rows
    if isinstance(packed, list):
        turn = [0]

        def run_cold(reps):
            for _ in range(reps):
                b = packed[turn[0] % len(packed)]
                turn[0] += 1
                t.gemm(isa, a, b, out=out, m_split=m_split, n_split=n_split, threads=threads)

        return run_cold

    def run(reps):
        t.gemm(
            isa, a, packed, out=out, m_split=m_split, n_split=n_split, threads=threads, reps=reps
        )

    return run


def cold_copies(k, n):
    """How many copies of a k x n B make COLD_BYTES."""
    return max(2, -(-COLD_BYTES // (4 * k * n)))


def time_samples(
    runners, reps, min_time, np, pause=0.0, clock=time.perf_counter, probes=None, ratios=None
):
    """Median seconds per call of each runner, interleaved over `reps` rounds.

    pause: seconds to sleep before each sample, so that the previous
    candidate's spinning worker threads (OpenBLAS, libgomp) have parked and do
    not steal cores from the next one.
    probes: runner name -> probe(seconds) returning a rate (an FMA-loop
    GFLOP/s) measured over about that long, run right before each of that
    runner's samples; ratios[name] then gets, per round, the sample's calls
    per second over the probe's rate (the caller scales it to a fraction).
    """
    inner = {}
    for name, fn in runners.items():
        fn(1)
        r = 1
        while True:
            t0 = clock()
            fn(r)
            if clock() - t0 >= min_time or r >= 1 << 20:
                break
            r *= 2
        inner[name] = r
    samples = {name: [] for name in runners}
    for _ in range(reps):
        for name, fn in runners.items():
            if pause:
                time.sleep(pause)
            rate = probes[name](min_time) if probes and name in probes else None
            t0 = clock()
            fn(inner[name])
            samples[name].append((clock() - t0) / inner[name])
            if rate:
                ratios.setdefault(name, []).append(1.0 / samples[name][-1] / rate)
    return {name: float(np.median(v)) for name, v in samples.items()}


def fma_probe(t, isa, peak_guess):
    """probe(seconds) -> the FMA-loop GFLOP/s of `isa` over about that long."""
    flops_per_iter = 2 * 12 * (16 if isa == "avx512" else 8)

    def probe(seconds):
        return t.fma_peak(isa, max(1000, int(seconds * peak_guess * 1e9 / flops_per_iter)))

    return probe


def measure_peaks(t, isas, reps, np):
    """Per-core FMA GFLOP/s of each ISA (median of interleaved probes)."""
    got = {isa: [] for isa in isas}
    for _ in range(reps):
        for isa in isas:
            got[isa].append(t.fma_peak(isa, 5_000_000))
    return {isa: (float(np.median(v)) if v[0] is not None else None) for isa, v in got.items()}


def measure_sustained(t, isas, reps, np):
    """Per-core GFLOP/s each ISA sustains on SUSTAINED_SHAPES (best shape, median of
    interleaved CPU-time samples)."""
    rng = np.random.default_rng(1)
    best = dict.fromkeys(isas, 0.0)
    for m, k, n in SUSTAINED_SHAPES:
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        runners = {
            isa: kernel_runner(t, isa, a, t.pack_b(isa, b), np.empty((m, n), np.float32), 1, 1, 1)
            for isa in isas
        }
        med = time_samples(runners, reps, 0.02, np, clock=time.thread_time)
        for isa in isas:
            best[isa] = max(best[isa], 2.0 * m * n * k / med[isa] / 1e9)
    return best


def print_header(args, t, np):
    """Command, CPU (model, caches, GEMM parameters), load, library versions."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from _harness import cpu_line

    print("command:", " ".join([os.path.basename(sys.executable), *sys.argv]))
    print(cpu_line())
    if args.cold_b:
        print(f"B cold: each call reads another packed copy (>= {COLD_BYTES >> 20} MiB in all)")
    print(
        f"threads: {args.threads}, numpy {np.__version__}, openmp in _core: {t.openmp()}, "
        f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}"
    )
    try:
        info = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        print(f"numpy blas: {info.get('name')} {info.get('version')}")
    except Exception:  # older numpy
        pass


def main():
    args = parse_args()
    # numpy's BLAS reads its thread count at import.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import numpy as np

    from tfjs_infer import _core

    t = _core._testing
    isas = args.isa or [i for i in t.available_isas() if i != "generic"]
    shapes = SHAPES
    if args.shapes:
        shapes = [tuple(int(v) for v in s.lower().split("x")) for s in args.shapes]
    if args.blocking:
        t.set_gemm_blocking(*(int(v) for v in args.blocking.split(",")))

    # Columns: one per ISA, or per AVX-512 tile height with --tile-rows.
    cands = {}
    for isa in isas:
        for rows in args.tile_rows if args.tile_rows and isa == "avx512" else [None]:
            cands[isa if rows is None else f"{isa}/r{rows}"] = (isa, rows)
    print_header(args, t, np)
    if args.peak:
        peaks = dict.fromkeys(isas, args.peak)
        sustained = dict(peaks)
    else:
        peaks = measure_peaks(t, isas, 7, np)
        sustained = measure_sustained(t, isas, 7, np)
    print(
        "per-core peak (GFLOP/s): "
        + ", ".join(
            f"{isa} FMA loop {peaks[isa]:.0f}, sustained with loads {sustained[isa]:.0f}"
            if peaks[isa]
            else f"{isa} n/a"
            for isa in isas
        )
        + f"  (brief: {BRIEF_PEAK_PER_CORE:.0f})"
    )
    # The adjacent probe needs a one-thread run timed by CPU time.
    adjacent = args.threads == 1 and not args.no_adjacent
    header = f"{'shape (m x k . k x n)':>24} {'numpy':>8}"
    for cand in cands:
        header += f" {cand:>9} {'%fma':>5} {'%sus':>5}"
        header += f" {'%adj':>5}" if adjacent else ""
        header += f" {'x np':>5}"
    print(header + "   (GFLOP/s, medians)")
    rng = np.random.default_rng(0)
    for m, k, n in shapes:
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        c_np = np.empty((m, n), np.float32)
        outs = {cand: np.empty((m, n), np.float32) for cand in cands}
        b_np = [b.copy() for _ in range(cold_copies(k, n))] if args.cold_b else b
        runners = {"numpy": numpy_runner(np, a, b_np, c_np)}
        for cand, (isa, rows) in cands.items():
            ms, ns = split(args.threads, m, n, t.gemm_nr(isa))
            packed = t.pack_b(isa, b)
            if args.cold_b:
                packed = [packed] + [t.pack_b(isa, b) for _ in range(cold_copies(k, n) - 1)]
            runners[cand] = kernel_runner(
                t, isa, a, packed, outs[cand], ms, ns, args.threads, tile_rows=rows
            )
        ratios = {}
        if args.threads == 1:
            probes = None
            if adjacent:
                probes = {c: fma_probe(t, i, peaks[i]) for c, (i, _) in cands.items() if peaks[i]}
            med = time_samples(
                runners,
                args.reps,
                args.min_time,
                np,
                clock=time.thread_time,
                probes=probes,
                ratios=ratios,
            )
        else:
            med = time_samples(runners, args.reps, args.min_time, np, pause=0.05)
        ref = a.astype(np.float64) @ b.astype(np.float64)
        for cand in cands:
            err = np.abs(outs[cand] - ref).max() / max(1.0, np.abs(ref).max())
            if err > 1e-4:
                print(f"  !! {cand} result differs from float64 matmul: {err:.2e}")
        flops = 2.0 * m * n * k
        g_np = flops / med["numpy"] / 1e9
        line = f"{f'{m}x{k} . {k}x{n}':>24} {g_np:8.1f}"
        for cand, (isa, _) in cands.items():
            g = flops / med[cand] / 1e9
            line += f" {g:9.1f}"
            for denom in (peaks[isa], sustained[isa]):
                line += f" {100 * g / (denom * args.threads):4.0f}%" if denom else "   n/a"
            if adjacent:
                adj = ratios.get(cand)
                line += f" {100 * flops / 1e9 * float(np.median(adj)):4.0f}%" if adj else "   n/a"
            line += f" {g / g_np:5.2f}"
        print(line, flush=True)
    print(f"load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
