"""Where an AVX-512 GEMM shape loses: a scratch build of the kernel with parts removed.

    python bench/gemm_where.py                         # the short shapes of bench/gemm.py
    python bench/gemm_where.py --shapes 49x4608x512 --reps 15

Copies cpp/kernels/simd/gemm_simd.h into a temporary directory, adds two hooks
to the row-tile loop and the A prefetch, compiles a small C++ timing program
with g++ (the flags of the AVX-512 kernels) and runs it: one thread, thread CPU
time, candidates interleaved; medians of each candidate's time and of its time
over r7's in the same round:
  r7, r6      the kernel as built for this CPU, with 7- and 6-row tiles
  noPfA       r7 without the prefetch of the next row tile's A
  noA         every row tile reads the same 24 rows of A (A from L1)
  noC         every row tile writes the same 24 rows of C (C in L1)
  noAC        both
  strAC/strB  no FMAs: read A once and write C once / read packed B once (the
              memory traffic alone; its time against the GEMM's says how
              close to bandwidth-bound a shape is)
The scratch copy is never built into the package. Needs g++ and an AVX-512 CPU.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHAPES = ["3136x144x32", "12544x32x64", "12544x147x64", "49x4608x512", "32x1024x1024"]
FLAGS = "-std=c++17 -O3 -ffp-contract=off -fno-math-errno -mavx512f -mavx512bw -mavx512dq"
FLAGS += " -mavx512vl -mavx2 -mfma -mf16c"

# (text in gemm_simd.h, replacement): the hooks. The harness fails loudly if
# the kernel no longer contains them.
PATCHES = [
    ("#pragma once", ""),
    ("namespace {\n\nstruct TileArgs", "namespace EXPNS {\n\nstruct TileArgs"),
    (
        "    t.a = g.a_rows ? nullptr : g.a + row0 * g.lda + k0;",
        "    t.a = g.a_rows ? nullptr : g.a + (g_noa ? row0 % 24 : row0) * g.lda + k0;",
    ),
    (
        "    float* c_row = g.c + row0 * g.ldc;\n    const float* r_row = g.residual ? g.residual"
        " + row0 * g.ldr : nullptr;\n    for (int64_t c = col;",
        "    float* c_row = g.c + (g_noc ? row0 % 24 : row0) * g.ldc;\n    const float* r_row ="
        " g.residual ? g.residual + row0 * g.ldr : nullptr;\n    for (int64_t c = col;",
    ),
    (
        "if constexpr (MR > 4 && W >= 16) __builtin_prefetch(",
        "if constexpr (MR > 4 && W >= 16 && EXP_PFA) __builtin_prefetch(",
    ),
]

HARNESS = r"""
#include <time.h>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>
#include "kernels/kernel_args.h"
#include "kernels/simd/activation_simd.h"
#include "kernels/x86/simd_avx512.h"
int g_noa = 0, g_noc = 0;
namespace tfjs_infer {
GemmBlocking g_blk;
const GemmBlocking& gemm_blocking() { return g_blk; }
}  // namespace tfjs_infer
#define EXPNS cur
#define EXP_PFA 1
#include "exp.h"
#undef EXPNS
#undef EXP_PFA
#define EXPNS nopfa
#define EXP_PFA 0
#include "exp.h"
#undef EXPNS
#undef EXP_PFA
using namespace tfjs_infer;
namespace cur = tfjs_infer::kernels::cur;
namespace nopfa = tfjs_infer::kernels::nopfa;
template <int R> struct Cfg {  // gemm_avx512.cpp's Cfg<2, R>
  using V = tfjs_infer::kernels::VecAvx512;
  static constexpr int NV = 2, NR = 32, MR = R, MR1 = 2 * R, MRH = 2 * R, kBlockNp = 2;
  static constexpr int kGroup = 2, kSmallM = 4;
  static constexpr int kSmallNp[5] = {1, 2, 2, 2, 2};
  static constexpr int kSmallGroups[5] = {0, 2, 2, 0, 0};
};
static double tsec() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}
__attribute__((noinline)) void stream_ac(const GemmArgs& g) {
  for (int64_t i = 0; i < g.m; ++i) {
    __m512 s = _mm512_setzero_ps();
    const float* a = g.a + i * g.lda;
    for (int64_t kk = 0; kk + 16 <= g.k; kk += 16) s = _mm512_add_ps(s, _mm512_loadu_ps(a + kk));
    for (int64_t j = 0; j + 16 <= g.n; j += 16) _mm512_storeu_ps(g.c + i * g.ldc + j, s);
  }
}
__attribute__((noinline)) void stream_b(const GemmArgs& g) {
  const int64_t len = g.k * ((g.n + 31) / 32) * 32;
  __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  for (int64_t i = 0; i + 64 <= len; i += 64) {
    s0 = _mm512_add_ps(s0, _mm512_loadu_ps(g.packed_b + i));
    s1 = _mm512_add_ps(s1, _mm512_loadu_ps(g.packed_b + i + 16));
    s2 = _mm512_add_ps(s2, _mm512_loadu_ps(g.packed_b + i + 32));
    s3 = _mm512_add_ps(s3, _mm512_loadu_ps(g.packed_b + i + 48));
  }
  _mm512_storeu_ps(g.c, _mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}
struct Variant { const char* name; void (*fn)(const GemmArgs&); int noa, noc; };
int main(int argc, char** argv) {
  const int m = atoi(argv[1]), k = atoi(argv[2]), n = atoi(argv[3]), reps = atoi(argv[4]);
  g_blk.l2_block_bytes = atol(argv[5]);
  g_blk.k_block = atol(argv[6]);
  g_blk.row_chunk = atol(argv[7]);
  g_blk.prefetch_rows = atol(argv[8]);
  g_blk.next_prefetch = atol(argv[9]);
  g_blk.l1_block_bytes = atol(argv[10]);
  std::vector<float> a((size_t)m * k), b((size_t)k * n), c((size_t)m * n);
  for (auto& x : a) x = rand() / (float)RAND_MAX - 0.5f;
  for (auto& x : b) x = rand() / (float)RAND_MAX - 0.5f;
  using tfjs_infer::kernels::VecAvx512;
  std::vector<float> pb(tfjs_infer::kernels::packed_b_size<VecAvx512, 32>(k, n));
  tfjs_infer::kernels::pack_b<Cfg<7>>(b.data(), k, n, nullptr, pb.data());
  GemmArgs g;
  g.m = m; g.n = n; g.k = k; g.a = a.data(); g.lda = k; g.packed_b = pb.data();
  g.c = c.data(); g.ldc = n; g.n_begin = 0; g.n_end = n;
  const std::vector<Variant> vs = {
      {"r7", &cur::gemm<Cfg<7>>, 0, 0},       {"r6", &cur::gemm<Cfg<6>>, 0, 0},
      {"noPfA", &nopfa::gemm<Cfg<7>>, 0, 0},  {"noA", &cur::gemm<Cfg<7>>, 1, 0},
      {"noC", &cur::gemm<Cfg<7>>, 0, 1},      {"noAC", &cur::gemm<Cfg<7>>, 1, 1},
      {"strAC", &stream_ac, 0, 0},            {"strB", &stream_b, 0, 0}};
  const double flops = 2.0 * m * n * k;
  const int inner = std::max(1, (int)(0.02 * 150e9 / flops));
  std::vector<std::vector<double>> ratio(vs.size()), us(vs.size());
  double t_r7 = 1;
  for (int r = 0; r < reps; ++r)
    for (size_t i = 0; i < vs.size(); ++i) {
      g_noa = vs[i].noa;
      g_noc = vs[i].noc;
      const double t0 = tsec();
      for (int j = 0; j < inner; ++j) vs[i].fn(g);
      const double s = (tsec() - t0) / inner;
      if (i == 0) t_r7 = s;
      us[i].push_back(s * 1e6);
      ratio[i].push_back(s / t_r7);
    }
  for (size_t i = 0; i < vs.size(); ++i) {
    std::sort(ratio[i].begin(), ratio[i].end());
    std::sort(us[i].begin(), us[i].end());
    const std::string shape = std::to_string(m) + "x" + std::to_string(k) + " . " +
                              std::to_string(k) + "x" + std::to_string(n);
    const double t = us[i][reps / 2];
    printf("%24s %-6s %9.1f us %9.1f GFLOP/s  time / r7 %5.2f\n", shape.c_str(), vs[i].name, t,
           flops / t / 1e3, ratio[i][reps / 2]);
  }
}
"""


def build(workdir: Path) -> Path:
    """Patched kernel copy + harness, compiled; returns the executable."""
    text = (ROOT / "cpp/kernels/simd/gemm_simd.h").read_text()
    for old, new in PATCHES:
        if text.count(old) != 1:
            sys.exit(f"gemm_simd.h changed: hook not found once: {old[:60]!r}")
        text = text.replace(old, new)
    (workdir / "exp.h").write_text(text)
    (workdir / "h.cpp").write_text(HARNESS)
    exe = workdir / "gemm_where"
    cmd = ["g++", *FLAGS.split(), f"-I{ROOT / 'cpp'}", str(workdir / "h.cpp"), "-o", str(exe)]
    print("build:", " ".join(cmd[:1] + cmd[1:3]), "...", flush=True)
    subprocess.run(cmd, check=True)
    return exe


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--shapes", nargs="*", default=SHAPES, help="MxKxN ...")
    p.add_argument("--reps", type=int, default=9, help="interleaved rounds (median)")
    args = p.parse_args()
    if shutil.which("g++") is None:
        sys.exit("needs g++")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _harness import cpu_line

    import tfjs_infer

    gemm = tfjs_infer.build_info()["cpu"]["gemm"]
    keys = ("l2_block_bytes", "k_block", "row_chunk", "prefetch_rows")
    blocking = [gemm[k] for k in (*keys, "next_prefetch", "l1_block_bytes")]
    print("command:", " ".join([os.path.basename(sys.executable), *sys.argv]))
    print(cpu_line())
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        exe = build(Path(tmp))
        for shape in args.shapes:
            m, k, n = shape.lower().split("x")
            run = [str(exe), m, k, n, str(args.reps), *(str(v) for v in blocking)]
            subprocess.run(run, check=True)
    print(f"load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
