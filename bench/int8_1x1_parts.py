"""Where an int8 1x1 convolution's time goes: range, quantize, GEMM, epilogue.

    python bench/int8_1x1_parts.py                     # ResNet50's 1x1 layers, 2 images
    python bench/int8_1x1_parts.py --shapes 6272x256x64 6272x64x256r --reps 31 --cold
    python bench/int8_1x1_parts.py --k-block 128 --res-prefetch 0   # the Xeon/Zen 5 blocking

A 1x1 int8 convolution is one int8 GEMM over its float32 input rows (the
per-row scheme of kernels/lowp.h: each row's range, its scale and zero point,
the row to uint8, then the exact int32 sums and the dequantizing epilogue with
bias, residual and ReLU). This compiles a small C++ timing program with g++
(the AVX512-VNNI kernel's flags) around a copy of
cpp/kernels/x86/gemm_int8_avx512vnni.cpp and lowp_x86.h, one hook added (the
epilogue skipped: a tile stores its sums to L1 as between k blocks), and times
on one thread (thread CPU time, candidates interleaved in each round, medians):
  float      the kernel as the model runs it: float32 rows in, float32 out
  range      the range pass alone (min/max of every row)
  prepare    range + parameters + quantize of every row (the kernel's own
             prepare_rows); quantize = prepare - range
  u8         the kernel on rows already quantized (GemmArgs::q_rows): the
             GEMM with its row gather and epilogue, no range or quantize
  u8-noepi   u8 without the epilogue; epilogue = u8 - u8-noepi
and prints each part's share of `float`. Rows: a slice of 2 images, as the
int8 model runs ResNet50 (compile/model.cpp's slices); a shape ending in `r`
adds a residual (the expand layers; in place over the output, as the model
plans it). The input stays in cache between rounds like an op's input written
by the op before (--cold: rotate over 64 MiB of inputs, from memory). The
scratch copy is never built into the package. Needs g++ and an AVX512-VNNI CPU.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _kernel_stubs import with_stubs

ROOT = Path(__file__).resolve().parents[1]
# ResNet50's 1x1 layers at 2 images: reduce (stage 2-5, and stage 2's first
# from the pool), expand with the residual.
SHAPES = [
    "6272x64x64",
    "6272x256x64",
    "1568x512x128",
    "392x1024x256",
    "98x2048x512",
    "6272x64x256r",
    "1568x128x512r",
    "392x256x1024r",
    "98x512x2048r",
]
FLAGS = "-std=c++17 -O3 -ffp-contract=off -fno-math-errno -mavx512f -mavx512bw -mavx512dq"
FLAGS += " -mavx512vl -mavx2 -mfma -mf16c -mavx512vnni"

# (file, text, replacement): the hooks; the harness stops if a kernel no
# longer contains one exactly once.
PATCHES = [
    ("lowp_x86.h", "#pragma once", "extern int g_noepi;"),
    ("lowp_x86.h", "if (t.w1 < t.words) {", "if (t.w1 < t.words || g_noepi) {"),
    (
        "lowp_x86.h",
        "if (blocks > 1 && acc_buf.size()",
        "if ((blocks > 1 || g_noepi) && acc_buf.size()",
    ),
    ("lowp_x86.h", "t.acc_buf = blocks > 1 ?", "t.acc_buf = blocks > 1 || g_noepi ?"),
    ("gemm_int8_avx512vnni.cpp", '#include "kernels/x86/lowp_x86.h"', '#include "exp_lowp_x86.h"'),
]

HARNESS = r"""
#include <time.h>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>
int g_noepi = 0;
GEMM_BLOCKING_GLOBAL
#include "exp_gemm_int8_avx512vnni.cpp"
#include "kernels/generic/lowp_generic.cpp"
LINK_STUBS
using namespace tfjs_infer;
namespace vnni = tfjs_infer::kernels::avx512vnni;
static double now() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}
int main(int argc, char** argv) {
  const int64_t m = atol(argv[1]), k = atol(argv[2]), n = atol(argv[3]);
  const int residual = atoi(argv[4]), reps = atoi(argv[5]), cold = atoi(argv[6]);
  g_blocking.int8_k_block_words = atol(argv[7]);
  g_blocking.res_prefetch = atol(argv[8]);
  const int64_t copies = cold ? std::max<int64_t>(2, (64ll << 20) / (m * k * 4) + 1) : 1;
  const int64_t words = (k + 3) / 4;
  std::vector<float> a(copies * m * k), w(k * n), c(m * n, 0.5f), bias(n, 0.01f);
  srand(1);
  for (auto& v : a) v = std::max(0.0f, rand() / (float)RAND_MAX * 2 - 0.5f);  // post-ReLU
  for (auto& v : w) v = rand() / (float)RAND_MAX - 0.5f;
  std::vector<uint8_t> packed(lowp_int8_packed_bytes(k, n));
  lowp_int8_pack(w.data(), k, n, packed.data());
  std::vector<uint8_t> q(copies * m * words * 4);
  std::vector<RowQuant> rq(m);
  std::vector<const uint8_t*> rows(copies * m);
  for (int64_t i = 0; i < copies * m; ++i) rows[i] = q.data() + i * words * 4;
  std::vector<float> lo(m), hi(m);
  const int64_t seg = 0;
  const char* names[] = {"float", "range", "prepare", "u8", "u8-noepi"};
  std::vector<std::vector<double>> t(5);
  for (int r = -1; r < reps; ++r)
    for (int cand = 0; cand < 5; ++cand) {
      const int64_t cp = cold ? (r + 1) * 5 + cand : 0;
      const float* x = a.data() + (cp % copies) * m * k;
      GemmArgs g;
      g.m = m, g.n = n, g.k = k, g.c = c.data(), g.ldc = n, g.n_begin = 0, g.n_end = n;
      g.bias = bias.data();
      g.act.kind = ActKind::kRelu;
      if (residual) g.residual = c.data(), g.ldr = n;  // in place, as the model plans it
      g_noepi = cand == 4;
      const double t0 = now();
      if (cand == 0) {
        g.a = x, g.lda = k;
        vnni::gemm_int8(g, packed.data());
      } else if (cand == 1) {
        for (int64_t i = 0; i < m; ++i) vnni::Int8::range(x + i * k, k, &lo[i], &hi[i]);
      } else if (cand == 2) {
        vnni::Int8::prepare_rows(x, k, m, k, words, q.data() + (cp % copies) * m * words * 4,
                                 words * 4, rq.data());
      } else {
        g.q_rows = rows.data() + (cp % copies) * m, g.seg_off = &seg, g.seg_k = k;
        g.q_scale = 0.02f, g.q_zp = 3;
        vnni::gemm_int8(g, packed.data());
      }
      if (r >= 0) t[cand].push_back(now() - t0);
    }
  for (int cand = 0; cand < 5; ++cand) std::sort(t[cand].begin(), t[cand].end());
  double med[5];
  for (int cand = 0; cand < 5; ++cand) med[cand] = t[cand][t[cand].size() / 2];
  printf("%ldx%ldx%ld%s", m, k, n, residual ? "r" : "");
  for (int cand = 0; cand < 5; ++cand) printf(" %s=%.4f", names[cand], med[cand]);
  printf("\n");
}
"""


def build(workdir: Path) -> Path:
    """Patched kernel copies + harness, compiled; returns the executable."""
    texts = {
        name: (ROOT / "cpp/kernels/x86" / name).read_text()
        for name in ("lowp_x86.h", "gemm_int8_avx512vnni.cpp")
    }
    for name, old, new in PATCHES:
        if texts[name].count(old) != 1:
            sys.exit(f"{name} changed: hook not found once: {old[:60]!r}")
        texts[name] = texts[name].replace(old, new)
    for name, text in texts.items():
        (workdir / f"exp_{name}").write_text(text)
    (workdir / "h.cpp").write_text(with_stubs(HARNESS))
    exe = workdir / "int8_parts"
    cmd = ["g++", *FLAGS.split(), f"-I{ROOT / 'cpp'}", f"-I{workdir}", str(workdir / "h.cpp")]
    print("build: g++", " ".join(cmd[1:3]), "...", flush=True)
    subprocess.run([*cmd, "-o", str(exe)], check=True)
    return exe


def report(line: str) -> None:
    """One shape's medians (ms) and each part's share of the float kernel."""
    shape, *cells = line.split()
    ms = {name: float(value) for name, value in (c.split("=") for c in cells)}
    full = ms["float"]
    shares = {
        "range": ms["range"],
        "quantize": ms["prepare"] - ms["range"],
        "GEMM": ms["u8-noepi"],
        "epilogue": ms["u8"] - ms["u8-noepi"],
    }
    rest = full - sum(shares.values())
    cells = "  ".join(f"{k} {v / full:5.0%}" for k, v in shares.items())
    other = f"other {rest / full:4.0%}"
    m, k, n = (int(v) for v in shape.rstrip("r").split("x"))
    macs = m * ((k + 3) // 4 * 4) * n / 1e6  # k padded to whole words, as vpdpbusd runs it
    rate = f"G MAC/s: float {macs / full:5.1f}, k loop {macs / ms['u8-noepi']:5.1f}"
    print(f"{shape:>15} {full:7.3f} ms  {cells}  {other}  (u8 rows: {ms['u8']:.3f} ms; {rate})")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--shapes", nargs="*", default=SHAPES, help="MxKxN[r] ...")
    p.add_argument("--reps", type=int, default=21, help="interleaved rounds (median)")
    p.add_argument("--cold", action="store_true", help="inputs from memory, not cache")
    p.add_argument("--k-block", type=int, default=0, help="int8_k_block_words (Zen 4's: 0)")
    p.add_argument("--res-prefetch", type=int, default=1, help="res_prefetch (Zen 4's: 1)")
    args = p.parse_args()
    if shutil.which("g++") is None:
        sys.exit("needs g++")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _harness import run_header

    run_header("int8_1x1_parts.py")
    with tempfile.TemporaryDirectory() as tmp:
        exe = build(Path(tmp))
        print(f"int8 1x1 GEMM, 1 thread, thread CPU time, medians of {args.reps}; share of float")
        for shape in args.shapes:
            residual = shape.endswith("r")
            m, k, n = (int(v) for v in shape.rstrip("r").split("x"))
            cmd = [str(exe), str(m), str(k), str(n), str(int(residual)), str(args.reps)]
            cmd += [str(int(args.cold)), str(args.k_block), str(args.res_prefetch)]
            out = subprocess.run(cmd, check=True, capture_output=True)
            report(out.stdout.decode().strip())
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
