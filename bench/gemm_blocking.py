"""GEMM blockings side by side: the one derived from this CPU's cpuid against others.

    python bench/gemm_blocking.py                      # derived vs Zen 5 vs no prefetch
    python bench/gemm_blocking.py --isa avx2 --reps 21
    python bench/gemm_blocking.py --candidate big=2M,4096,192,16 --shapes 49x4608x512
    python bench/gemm_blocking.py --cold-b --shapes 49x4608x512 3136x64x256

Candidates (L2_BLOCK,K_BLOCK,ROW_CHUNK,PREFETCH_ROWS[,NEXT_PREFETCH,L1_BLOCK,GEMV_PREFETCH];
sizes take K/M suffixes; the last three default to the derived ones; GEMV_PREFETCH: k rows
ahead the m <= 4 tiles prefetch B):
  derived   what build_info()["cpu"]["gemm"] reports (cpuid + TFJS_INFER_* overrides)
  zen5      the parameters the rules give a Zen 5 core (48 KiB L1D, 1 MiB L2):
            what the kernels used before they were derived, tuned there
  no-pf     derived without the first-tile B prefetch
  no-next   derived without the next B block's L2 prefetch
  no-l1     derived without the thin-k L1 column blocks
--cold-b: every call reads another copy of B (320 MiB of copies in all), so the
weights come from memory as in a model, not from a cache the previous call warmed.
One thread, CPU time (time.thread_time), every candidate once per round in turn,
order reversed each round, medians; ratios are candidate / derived GFLOP/s (above 1:
the candidate is faster). Blocking never changes a result bit (checked each shape).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
from _harness import cpu_line
from gemm import SHAPES

from tfjs_infer import _core, build_info

T = _core._testing


def parse_size(text: str) -> int:
    """'512K' -> 524288."""
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    text = text.strip().lower()
    if text and text[-1] in units:
        return int(text[:-1]) * units[text[-1]]
    return int(text)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--isa", default="avx512" if "avx512" in T.available_isas() else None)
    p.add_argument("--reps", type=int, default=15, help="interleaved rounds (median)")
    p.add_argument("--min-time", type=float, default=0.02, help="seconds per sample")
    p.add_argument("--shapes", nargs="*", help="MxKxN ...")
    p.add_argument(
        "--candidate",
        action="append",
        default=[],
        help="NAME=L2,K,ROWS,PREFETCH[,NEXT,L1,GEMV] (repeatable)",
    )
    p.add_argument("--cold-b", action="store_true", help="B from memory (a copy per call)")
    return p.parse_args()


# Copies of B per shape with --cold-b: together at least this many bytes.
COLD_BYTES = 320 << 20


def candidates(extra: list[str]) -> dict[str, tuple[int, ...]]:
    """Name -> (l2_block_bytes, k_block, row_chunk, prefetch_rows[, next_prefetch,
    l1_block_bytes, gemv_prefetch_rows])."""
    d = build_info()["cpu"]["gemm"]
    keys = ("l2_block_bytes", "k_block", "row_chunk", "prefetch_rows")
    derived = (
        *(d[k] for k in keys),
        d["next_prefetch"],
        d["l1_block_bytes"],
        d["gemv_prefetch_rows"],
    )
    out = {
        "derived": derived,
        "zen5": (512 << 10, 2048, 192, *derived[3:]),
        "no-pf": (*derived[:3], 0, *derived[4:]),
        "no-next": (*derived[:4], 0, *derived[5:]),
        "no-l1": (*derived[:5], 0, derived[6]),
    }
    for spec in extra:
        name, values = spec.split("=", 1)
        out[name] = tuple(parse_size(v) for v in values.split(","))  # type: ignore[assignment]
    return out


def time_shape(isa, m, k, n, cands, reps, min_time, cold=False) -> dict[str, float]:
    """Median seconds per call of each candidate on one shape (cold: a B copy per call)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    copies = max(2, -(-COLD_BYTES // (4 * k * n))) if cold else 1
    packed = [T.pack_b(isa, b) for _ in range(copies)]
    outs = {name: np.empty((m, n), np.float32) for name in cands}
    inner = max(1, int(min_time * 100e9 / (2.0 * m * n * k)))  # ~min_time at 100 GFLOP/s
    samples: dict[str, list[float]] = {name: [] for name in cands}
    names = list(cands)
    turn = 0
    for r in range(reps):
        for name in names if r % 2 == 0 else names[::-1]:
            T.set_gemm_blocking(*cands[name])
            t0 = time.thread_time()
            if cold:
                for _ in range(inner):
                    T.gemm(isa, a, packed[turn % copies], out=outs[name])
                    turn += 1
            else:
                T.gemm(isa, a, packed[0], out=outs[name], reps=inner)
            samples[name].append((time.thread_time() - t0) / inner)
    first = outs[names[0]].view(np.uint32)
    for name in names[1:]:
        if not np.array_equal(outs[name].view(np.uint32), first):
            print(f"  !! {name} changed result bits on {m}x{k}x{n}")
    return {name: float(np.median(v)) for name, v in samples.items()}


def main() -> None:
    args = parse_args()
    print("command:", " ".join([os.path.basename(sys.executable), *sys.argv]))
    print(cpu_line())
    print(f"isa: {args.isa}, load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    cands = candidates(args.candidate)
    for name, c in cands.items():
        print(
            f"  {name}: l2_block={c[0]} k_block={c[1]} row_chunk={c[2]} prefetch_rows={c[3]}"
            + (f" next_prefetch={c[4]} l1_block={c[5]}" if len(c) > 5 else "")
            + (f" gemv_prefetch_rows={c[6]}" if len(c) > 6 else "")
        )
    if args.cold_b:
        print("B from memory: a different copy of B per call (--cold-b)")
    shapes = SHAPES
    if args.shapes:
        shapes = [tuple(int(v) for v in s.lower().split("x")) for s in args.shapes]
    saved = build_info()["cpu"]["gemm"]
    print(f"{'shape (m x k . k x n)':>24} " + " ".join(f"{n:>16}" for n in cands))
    try:
        for m, k, n in shapes:
            med = time_shape(args.isa, m, k, n, cands, args.reps, args.min_time, args.cold_b)
            flops = 2.0 * m * n * k
            base = flops / med["derived"] / 1e9
            cells = []
            for name in cands:
                g = flops / med[name] / 1e9
                cells.append(f"{g:7.1f} ({g / base:4.2f}x)")
            print(f"{f'{m}x{k} . {k}x{n}':>24} " + " ".join(f"{c:>16}" for c in cells), flush=True)
    finally:
        T.set_gemm_blocking(**saved)
    print(f"load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
