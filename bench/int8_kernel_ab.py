"""The AVX512-VNNI int8 GEMM kernel of a git revision against the worktree's,
in one program, interleaved: what a kernel change does to ResNet50's int8
shapes, before the whole package is rebuilt.

    python bench/int8_kernel_ab.py [--base HEAD] [--reps 31] [--k-block 0]
        [--res-prefetch 1] [--b-copies 1] [--huge-b base|worktree]
        [--shapes 3136x64x256 3136x256x64 784x128x512r]

Each side's cpp/kernels/x86/gemm_int8_avx512vnni.cpp (with its lowp_x86.h and
lowp.h) is compiled by g++ with the kernel's flags into its own namespace (the
base's `tfjs_infer` renamed by the preprocessor), with the GemmBlocking the
kernel reads fixed by --k-block and --res-prefetch (int8_k_block_words and
res_prefetch; a base without those fields ignores them). A shape MxKxN is one
1x1 convolution of M float32 rows (per-row quantization, as the int8 model's
1x1 layers run), `r` adds a residual written over by C (as the model plans
it), `u` gives the kernel rows already quantized (GemmArgs::q_rows, as the
per-sample KxK convolutions do). C, the residual and the rows cycle through
--buffers copies (1: in cache; 16: from memory), the packed B through
--b-copies (32 x ResNet50's stage-5 weights: from memory, as the int8 model's
weights come between its 1-image slices); --huge-b puts one side's B copies on
transparent huge pages (MADV_HUGEPAGE), the other's in 4 KiB pages. One thread, thread CPU time,
the two sides in turns (order reversed each round), medians in microseconds
per call, their ratio, and whether the outputs are equal bit for bit. Prints
the command, the CPU model and the load average. Needs g++ and an
AVX512-VNNI CPU. Nothing of it is built into the package.
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
SHAPES = [
    "3136x64x64",
    "3136x64x256",
    "3136x256x64",
    "3136x64x256r",
    "784x128x512r",
    "784x512x128",
    "196x1024x256",
    "3136x576x64u",
    "196x2304x256u",
    "49x4608x512u",
]
FLAGS = "-std=c++17 -O3 -ffp-contract=off -fno-math-errno -mavx512f -mavx512bw -mavx512dq"
FLAGS += " -mavx512vl -mavx2 -mfma -mf16c -mavx512vnni"
FILES = [
    "cpp/kernels/x86/gemm_int8_avx512vnni.cpp",
    "cpp/kernels/x86/lowp_x86.h",
    "cpp/kernels/x86/simd_avx512.h",
    "cpp/kernels/lowp.h",
    "cpp/kernels/generic/lowp_generic.cpp",
]

# One side: the kernel and a timing entry, all inside namespace tfjs_infer
# (renamed per side with -Dtfjs_infer=...); SIDE_FN names the entry.
SIDE = r"""
#include <time.h>
#include <sys/mman.h>
#include <cstdint>
#include <cstdlib>
static uint8_t* g_pk = nullptr;
#include <cstring>
#include <vector>
GEMM_BLOCKING_GLOBAL
#include "kernels/x86/gemm_int8_avx512vnni.cpp"
#include "kernels/generic/lowp_generic.cpp"
LINK_STUBS
namespace tfjs_infer {
template <class B>
auto set_blocking(B& b, long kb, long pf, int) -> decltype(b.int8_k_block_words, void()) {
  b.int8_k_block_words = kb;
  b.res_prefetch = pf;
}
template <class B>
void set_blocking(B&, long, long, long) {}

struct Case {
  int64_t m, k, n, copies, b_copies;
  bool res, u8;
  std::vector<float> a, c, bias;
  std::vector<uint8_t> packed, q;
  std::vector<const uint8_t*> rows;
  size_t packed_bytes;
};
}  // namespace tfjs_infer
// Microseconds of `calls` kernel calls' mean; out: the first copy of C.
extern "C" double SIDE_FN(const float* a, const float* w, const float* c0, int64_t m, int64_t k,
                          int64_t n, int res, int u8, int64_t copies, int64_t b_copies, long kb,
                          long pf, int64_t calls, int64_t first, float* out) {
  using namespace tfjs_infer;
  set_blocking(g_blocking, kb, pf, 0);
  static Case* cs = nullptr;
  if (!cs || cs->m != m || cs->k != k || cs->n != n || cs->res != (res != 0) ||
      cs->u8 != (u8 != 0) || cs->copies != copies || cs->b_copies != b_copies) {
    delete cs;
    cs = new Case{m, k, n, copies, b_copies, res != 0, u8 != 0, {}, {}, {}, {}, {}, {}, 0};
    cs->a.assign(a, a + copies * m * k);
    cs->c.assign(c0, c0 + copies * m * n);
    cs->bias.assign(n, 0.01f);
    // B in b_copies copies (64-byte aligned), cycled like the inputs: more
    // than the L3 holds brings B from memory, as the model's weights come
    // between its 1-image slices.
    cs->packed_bytes = (lowp_int8_packed_bytes(k, n) + 63) / 64 * 64;
    {  // 2 MiB aligned; on transparent huge pages where INT8_AB_HUGE_B names this side
      const size_t huge = size_t{2} << 20;
      const size_t bytes = (b_copies * cs->packed_bytes + huge) / huge * huge;
      free(g_pk);
      g_pk = static_cast<uint8_t*>(aligned_alloc(huge, bytes));
      const char* side = getenv("INT8_AB_HUGE_B");
      if (side && strcmp(side, "SIDE_FN") == 0) madvise(g_pk, bytes, MADV_HUGEPAGE);
    }
    for (int64_t j = 0; j < b_copies; ++j) lowp_int8_pack(w, k, n, g_pk + j * cs->packed_bytes);
    const int64_t words = (k + 3) / 4;
    cs->q.resize(copies * m * words * 4);
    for (size_t i = 0; i < cs->q.size(); ++i) cs->q[i] = static_cast<uint8_t>(a[i % (m * k)] * 40);
    for (int64_t i = 0; i < copies * m; ++i) cs->rows.push_back(cs->q.data() + i * words * 4);
  }
  static const int64_t seg = 0;
  timespec t0, t1;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
  for (int64_t i = 0; i < calls; ++i) {
    const int64_t j = (first + i) % copies;
    GemmArgs g;
    g.m = m, g.n = n, g.k = k, g.n_begin = 0, g.n_end = n;
    g.c = cs->c.data() + j * m * n, g.ldc = n;
    g.bias = cs->bias.data();
    g.act.kind = ActKind::kRelu;
    if (res) g.residual = g.c, g.ldr = n;
    if (u8) {
      g.q_rows = cs->rows.data() + j * m, g.seg_off = &seg, g.seg_k = k;
      g.q_scale = 0.025f, g.q_zp = 7;
    } else {
      g.a = cs->a.data() + j * m * k, g.lda = k;
    }
    kernels::avx512vnni::gemm_int8(g, g_pk + ((first + i) % b_copies) * cs->packed_bytes);
  }
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
  if (out) {  // a fresh call on copy 0's inputs, C over a fresh residual
    GemmArgs g;
    g.m = m, g.n = n, g.k = k, g.n_begin = 0, g.n_end = n, g.c = out, g.ldc = n;
    g.bias = cs->bias.data();
    g.act.kind = ActKind::kRelu;
    std::memcpy(out, c0, sizeof(float) * m * n);
    if (res) g.residual = out, g.ldr = n;
    if (u8) {
      g.q_rows = cs->rows.data(), g.seg_off = &seg, g.seg_k = k, g.q_scale = 0.025f, g.q_zp = 7;
    } else {
      g.a = cs->a.data(), g.lda = k;
    }
    kernels::avx512vnni::gemm_int8(g, g_pk);
  }
  return ((t1.tv_sec - t0.tv_sec) * 1e6 + (t1.tv_nsec - t0.tv_nsec) / 1e3) / calls;
}
"""

MAIN = r"""
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <vector>
extern "C" double side_base(const float*, const float*, const float*, int64_t, int64_t, int64_t,
                            int, int, int64_t, int64_t, long, long, int64_t, int64_t, float*);
extern "C" double side_head(const float*, const float*, const float*, int64_t, int64_t, int64_t,
                            int, int, int64_t, int64_t, long, long, int64_t, int64_t, float*);
int main(int argc, char** argv) {
  const int64_t m = atol(argv[1]), k = atol(argv[2]), n = atol(argv[3]);
  const int res = atoi(argv[4]), u8 = atoi(argv[5]), reps = atoi(argv[6]);
  const int64_t copies = atol(argv[7]);
  const long kb = atol(argv[8]), pf = atol(argv[9]);
  const int64_t b_copies = atol(argv[10]);
  std::vector<float> a(copies * m * k), w(k * n), c(copies * m * n);
  srand(1);
  for (auto& v : a) v = std::max(0.0f, rand() / (float)RAND_MAX * 2 - 0.5f);  // post-ReLU
  for (auto& v : w) v = rand() / (float)RAND_MAX - 0.5f;
  for (auto& v : c) v = rand() / (float)RAND_MAX - 0.5f;
  const int64_t calls = std::max<int64_t>(4, 400000000 / (2 * m * k * n));
  std::vector<double> tb, th;
  int64_t first = 0;
  for (int r = -1; r < reps; ++r) {
    for (int s = 0; s < 2; ++s) {
      const bool base = (s == 0) == (r % 2 == 0);
      const double t = (base ? side_base : side_head)(a.data(), w.data(), c.data(), m, k, n, res,
                                                       u8, copies, b_copies, kb, pf, calls, first,
                                                       nullptr);
      if (r >= 0) (base ? tb : th).push_back(t);
    }
    first += calls;
  }
  std::vector<float> ob(m * n), oh(m * n);
  side_base(a.data(), w.data(), c.data(), m, k, n, res, u8, copies, b_copies, kb, pf, 1, 0,
            ob.data());
  side_head(a.data(), w.data(), c.data(), m, k, n, res, u8, copies, b_copies, kb, pf, 1, 0,
            oh.data());
  std::sort(tb.begin(), tb.end());
  std::sort(th.begin(), th.end());
  const bool same = std::equal(ob.begin(), ob.end(), oh.begin(), [](float x, float y) {
    return *reinterpret_cast<const uint32_t*>(&x) == *reinterpret_cast<const uint32_t*>(&y);
  });
  printf("%.2f %.2f %d\n", tb[tb.size() / 2], th[th.size() / 2], same ? 1 : 0);
}
"""


def export(rev: str, dest: Path) -> None:
    """The kernel files of git revision `rev` (or the worktree's) under dest; the
    headers not listed come from the worktree (after dest on the include path)."""
    for name in [*FILES, "cpp/kernels/kernel_args.h", "cpp/kernels/gemm_blocking.h"]:
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if rev == "WORKTREE":
            shutil.copy(ROOT / name, target)
        else:
            text = subprocess.run(
                ["git", "-C", str(ROOT), "show", f"{rev}:{name}"], capture_output=True, check=True
            ).stdout
            target.write_bytes(text)


def build(base: str, work: Path) -> Path:
    objs = []
    for side, rev in (("base", base), ("head", "WORKTREE")):
        tree = work / side
        export(rev, tree)
        src = tree / "side.cpp"
        src.write_text(with_stubs(SIDE.replace("SIDE_FN", f"side_{side}")))
        obj = work / f"{side}.o"
        cmd = ["g++", *FLAGS.split(), f"-I{tree / 'cpp'}", f"-I{ROOT / 'cpp'}"]
        cmd += [f"-Dtfjs_infer=tfjs_{side}", "-c", str(src), "-o", str(obj)]
        subprocess.run(cmd, check=True)
        objs.append(str(obj))
    (work / "main.cpp").write_text(MAIN)
    exe = work / "int8_ab"
    cmd = ["g++", "-O2", "-std=c++17", str(work / "main.cpp"), *objs, "-o", str(exe)]
    subprocess.run(cmd, check=True)
    return exe


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--base", default="HEAD", help="git revision of the base kernel")
    p.add_argument("--shapes", nargs="*", default=SHAPES, help="MxKxN[r|u] ...")
    p.add_argument("--reps", type=int, default=31, help="interleaved rounds (median)")
    p.add_argument("--buffers", type=int, default=1, help="input/C copies cycled")
    p.add_argument("--b-copies", type=int, default=1, help="packed B copies cycled (B from memory)")
    p.add_argument(
        "--huge-b",
        choices=["base", "worktree"],
        default=None,
        help="that side's B copies on transparent huge pages (MADV_HUGEPAGE)",
    )
    p.add_argument("--k-block", type=int, default=0, help="int8_k_block_words (both sides)")
    p.add_argument("--res-prefetch", type=int, default=1, help="res_prefetch (both sides)")
    args = p.parse_args()
    if shutil.which("g++") is None:
        sys.exit("needs g++")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _harness import run_header

    run_header("int8_kernel_ab.py")
    print(
        f"base {args.base} vs worktree; int8_k_block_words {args.k_block}, res_prefetch "
        f"{args.res_prefetch}, {args.buffers} buffer(s), {args.b_copies} B copies"
        f"{', B on huge pages: ' + args.huge_b if args.huge_b else ''}; 1 thread, thread CPU time, "
        f"medians of {args.reps}, us per call"
    )
    with tempfile.TemporaryDirectory() as tmp:
        exe = build(args.base, Path(tmp))
        for shape in args.shapes:
            res, u8 = "r" in shape, "u" in shape
            m, k, n = (int(v) for v in shape.rstrip("ru").split("x"))
            cmd = [str(exe), str(m), str(k), str(n), str(int(res)), str(int(u8)), str(args.reps)]
            cmd += [
                str(args.buffers),
                str(args.k_block),
                str(args.res_prefetch),
                str(args.b_copies),
            ]
            env = dict(os.environ)
            if args.huge_b:
                env["INT8_AB_HUGE_B"] = "side_base" if args.huge_b == "base" else "side_head"
            run = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
            out = run.stdout.split()
            tb, th, same = float(out[0]), float(out[1]), out[2] == "1"
            print(
                f"{shape:>15}  base {tb:9.1f}  worktree {th:9.1f}  {th / tb:6.3f}x"
                f"  {'same bits' if same else 'BITS DIFFER'}",
                flush=True,
            )
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
