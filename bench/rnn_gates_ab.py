"""The LSTM gate kernel (kernels/simd/rnn_simd.h) with the gates' own tanh and
sigmoid (a cheaper e^x where the argument allows, bit for bit the same
results) against the activation kernels' tanh_v / sigmoid_v (vecmath.h), AVX-512
and AVX2, one scratch binary, interleaved.

    python bench/rnn_gates_ab.py [--rows 32,256] [--units 128]

Builds a scratch copy with g++ (the flags of the AVX-512 kernels) that calls
gates_rows<V> with either pair of functors, and rnn_gates<V> (the gates'
functors in groups of vectors, VecPair; its bits checked equal to the single
vector's), on rows x 4 units pre-activations
(normal, sd 2), 31 interleaved rounds (order reversed each round), medians of
the thread's CPU time per step. Prints the command, the CPU model and the
load average. Never built into the package; needs g++ and an AVX-512 CPU.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _harness import run_header

ROOT = Path(__file__).resolve().parent.parent
FLAGS = "-std=c++17 -O3 -ffp-contract=off -fno-math-errno -mavx512f -mavx512bw -mavx512dq"
FLAGS += " -mavx512vl -mavx2 -mfma -mf16c"

SOURCE = r"""
#include <time.h>

#include <cstdlib>
#include <algorithm>
#include <cstdio>
#include <random>
#include <vector>
#include "kernels/simd/rnn_simd.h"
#include "kernels/simd/vec_pair.h"
#include "kernels/x86/simd_avx512.h"
#include "kernels/x86/simd_avx2.h"
using namespace tfjs_infer;
using namespace tfjs_infer::kernels;
static double now() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}
template <class V>
void run_old(const RnnGateArgs& a) {
  gates_rows<V>(a, FixedAct<V, ActKind::kTanh>{a.act}, FixedAct<V, ActKind::kSigmoid>{a.ract});
}
template <class V>
void run_new(const RnnGateArgs& a) {
  gates_rows<V>(a, GateTanh<V>{}, GateSigmoid<V>{});
}
template <class V>
void run_pair(const RnnGateArgs& a) {
  rnn_gates<V>(a);
}
int main(int argc, char** argv) {
  int m = argc > 1 ? atoi(argv[1]) : 32, u = argc > 2 ? atoi(argv[2]) : 128;
  std::mt19937 g(1);
  std::normal_distribution<float> nd(0, 2);
  std::vector<float> pre(m * 4 * u), pre0, h(m * u), c(m * u);
  for (auto& v : pre) v = nd(g);
  pre0 = pre;
  RnnGateArgs a;
  a.kind = RnnGateKind::kLstm;
  a.m = m;
  a.units = u;
  a.act.kind = ActKind::kTanh;
  a.ract.kind = ActKind::kSigmoid;
  a.pre = pre.data();
  a.ldp = 4 * u;
  a.h = h.data();
  a.ldh = u;
  a.c = c.data();
  a.ldc = u;
  int reps = 20000 / m;
  const char* names[6] = {"avx512 vecmath", "avx512 gate", "avx512 rnn_gates",
                          "avx2 vecmath",   "avx2 gate",   "avx2 rnn_gates"};
  void (*fns[6])(const RnnGateArgs&) = {run_old<VecAvx512>, run_new<VecAvx512>,
                                        run_pair<VecAvx512>, run_old<VecAvx2>,
                                        run_new<VecAvx2>,    run_pair<VecAvx2>};
  // rnn_gates' bits are the single vector's (same ISA).
  std::vector<float> h1, c1;
  for (int f = 0; f < 6; ++f) {
    std::fill(c.begin(), c.end(), 0.5f);
    fns[f](a);
    if (f % 3 == 1) {
      h1 = h;
      c1 = c;
    } else if (f % 3 == 2 && (h != h1 || c != c1)) {
      printf("%s: bits differ from the single vector's\n", names[f]);
      return 1;
    }
  }
  std::vector<double> s[6];
  for (int r = 0; r < 31; ++r)
    for (int q = 0; q < 6; ++q) {
      int f = r % 2 ? 5 - q : q;
      std::fill(c.begin(), c.end(), 0.f);
      double t0 = now();
      for (int i = 0; i < reps; ++i) fns[f](a);
      s[f].push_back((now() - t0) / reps);
    }
  for (int f = 0; f < 6; ++f) std::sort(s[f].begin(), s[f].end());
  for (int f = 0; f < 6; ++f)
    printf("rows %d units %d %-16s %8.2f us/step (%.3f of vecmath)\n", m, u, names[f], s[f][15],
           s[f][15] / s[f / 3 * 3][15]);
}
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", default="32,256")
    ap.add_argument("--units", type=int, default=128)
    args = ap.parse_args()
    if shutil.which("g++") is None:
        sys.exit("needs g++")
    run_header("rnn_gates_ab.py")
    with tempfile.TemporaryDirectory() as tmp:
        cpp, exe = Path(tmp) / "gates.cpp", Path(tmp) / "gates"
        cpp.write_text(SOURCE)
        cmd = ["g++", *FLAGS.split(), f"-I{ROOT / 'cpp'}", str(cpp), "-o", str(exe)]
        subprocess.run(cmd, check=True)
        for rows in args.rows.split(","):
            subprocess.run([str(exe), rows, str(args.units)], check=True)
    print("load average after:", " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
