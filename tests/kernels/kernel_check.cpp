// Standalone check of one ISA's kernels against the generic ones, for ISAs
// that this machine cannot run natively (NEON under qemu-aarch64): built and
// run by test_neon_qemu.py. Exit status 0 when everything holds.
//
//   aarch64-linux-gnu-g++ -std=c++17 -O2 -ffp-contract=off -static -Icpp -DCHECK_NS=neon
//       tests/kernels/kernel_check.cpp cpp/kernels/generic/*.cpp cpp/kernels/arm/*_neon.cpp
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "kernels/isa_kernels.h"

#ifndef CHECK_NS
#define CHECK_NS neon
#endif

namespace ti = tfjs_infer;
namespace isa = tfjs_infer::kernels::CHECK_NS;
namespace gen = tfjs_infer::kernels::generic;

namespace {

int failures = 0;

void fail(const char* what, long a, long b, long c, double got, double want) {
  if (failures < 20)
    std::printf("FAIL %s (%ld, %ld, %ld): got %.9g want %.9g\n", what, a, b, c, got, want);
  ++failures;
}

uint64_t rng_state = 88172645463325252ull;
float frand() {  // xorshift, uniform-ish in [-1, 1)
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return static_cast<float>((rng_state >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}

std::vector<float> rand_vec(size_t n, float scale = 1.0f) {
  std::vector<float> v(n);
  for (auto& x : v) x = frand() * scale;
  return v;
}

bool same_bits(float a, float b) {
  uint32_t x, y;
  std::memcpy(&x, &a, 4);
  std::memcpy(&y, &b, 4);
  return x == y;
}

// C = act(A B + bias + res) for rows [0, m) through `gemm` with B packed by `pack`.
template <class Pack, class Size, class Gemm>
std::vector<float> run_gemm(Pack pack, Size size, Gemm gemm, int64_t nr,
                            const std::vector<float>& a, const std::vector<float>& b,
                            const float* bias, const float* res, int64_t m, int64_t k, int64_t n,
                            ti::ActKind act, int64_t n_split) {
  std::vector<float> packed(size(k, n));
  pack(b.data(), k, n, nullptr, packed.data());
  std::vector<float> c(static_cast<size_t>(m * n), NAN);
  const int64_t panels = (n + nr - 1) / nr;
  for (int64_t s = 0; s < n_split; ++s) {
    ti::GemmArgs g;
    g.m = m;
    g.n = n;
    g.k = k;
    g.a = a.data();
    g.lda = k;
    g.packed_b = packed.data();
    g.c = c.data();
    g.ldc = n;
    g.n_begin = std::min(n, panels * s / n_split * nr);
    g.n_end = std::min(n, panels * (s + 1) / n_split * nr);
    g.bias = bias;
    g.residual = res;
    g.ldr = n;
    g.act.kind = act;
    if (g.n_end > g.n_begin) gemm(g);
  }
  return c;
}

void check_gemm() {
  const int64_t sizes[] = {1, 3, 4, 5, 7, 16, 17, 33, 64, 100};
  for (int64_t m : sizes)
    for (int64_t n : sizes)
      for (int64_t k : {int64_t{1}, int64_t{9}, int64_t{100}}) {
        auto a = rand_vec(m * k), b = rand_vec(k * n), bias = rand_vec(n), res = rand_vec(m * n);
        auto want = run_gemm(gen::gemm_pack_b, gen::gemm_packed_b_size, gen::gemm_f32, gen::kGemmNr,
                             a, b, bias.data(), res.data(), m, k, n, ti::ActKind::kRelu, 1);
        auto got = run_gemm(isa::gemm_pack_b, isa::gemm_packed_b_size, isa::gemm_f32, isa::kGemmNr,
                            a, b, bias.data(), res.data(), m, k, n, ti::ActKind::kRelu, 1);
        for (int64_t i = 0; i < m * n; ++i)
          if (!(std::fabs(got[i] - want[i]) <= 1e-5f * (k + 2)))
            fail("gemm", m, n, k, got[i], want[i]);
        // Determinism: each row alone, and column splits, give the same bits.
        auto split =
            run_gemm(isa::gemm_pack_b, isa::gemm_packed_b_size, isa::gemm_f32, isa::kGemmNr, a, b,
                     bias.data(), res.data(), m, k, n, ti::ActKind::kRelu, 3);
        for (int64_t i = 0; i < m * n; ++i)
          if (!same_bits(split[i], got[i])) fail("gemm n-split bits", m, n, k, split[i], got[i]);
        for (int64_t r = 0; r < m; r += 3) {
          std::vector<float> row(a.begin() + r * k, a.begin() + (r + 1) * k);
          auto one =
              run_gemm(isa::gemm_pack_b, isa::gemm_packed_b_size, isa::gemm_f32, isa::kGemmNr, row,
                       b, bias.data(), res.data() + r * n, 1, k, n, ti::ActKind::kRelu, 1);
          for (int64_t j = 0; j < n; ++j)
            if (!same_bits(one[j], got[r * n + j])) fail("gemm row bits", m, n, r, one[j], 0);
        }
      }
  // Large k (the k-blocked path, with several row chunks): rows alone give the same bits.
  {
    const int64_t m = 200, k = 4099, n = 37;
    auto a = rand_vec(m * k), b = rand_vec(k * n), bias = rand_vec(n);
    auto want = run_gemm(gen::gemm_pack_b, gen::gemm_packed_b_size, gen::gemm_f32, gen::kGemmNr, a,
                         b, bias.data(), nullptr, m, k, n, ti::ActKind::kLinear, 1);
    auto got = run_gemm(isa::gemm_pack_b, isa::gemm_packed_b_size, isa::gemm_f32, isa::kGemmNr, a,
                        b, bias.data(), nullptr, m, k, n, ti::ActKind::kLinear, 1);
    for (int64_t i = 0; i < m * n; ++i)
      if (!(std::fabs(got[i] - want[i]) <= 1e-3f)) fail("gemm large k", m, n, k, got[i], want[i]);
    for (int64_t r : {int64_t{0}, int64_t{101}, int64_t{199}}) {
      std::vector<float> row(a.begin() + r * k, a.begin() + (r + 1) * k);
      auto one = run_gemm(isa::gemm_pack_b, isa::gemm_packed_b_size, isa::gemm_f32, isa::kGemmNr,
                          row, b, bias.data(), nullptr, 1, k, n, ti::ActKind::kLinear, 1);
      for (int64_t j = 0; j < n; ++j)
        if (!same_bits(one[j], got[r * n + j])) fail("gemm large k row bits", r, j, k, one[j], 0);
    }
  }
  // The epilogue of every activation equals the activation kernel on the linear result.
  for (int kind = 0; kind < static_cast<int>(ti::ActKind::kCount); ++kind) {
    const int64_t m = 7, k = 13, n = 37;
    auto a = rand_vec(m * k), b = rand_vec(k * n), bias = rand_vec(n);
    auto lin = run_gemm(isa::gemm_pack_b, isa::gemm_packed_b_size, isa::gemm_f32, isa::kGemmNr, a,
                        b, bias.data(), nullptr, m, k, n, ti::ActKind::kLinear, 1);
    auto act = run_gemm(isa::gemm_pack_b, isa::gemm_packed_b_size, isa::gemm_f32, isa::kGemmNr, a,
                        b, bias.data(), nullptr, m, k, n, static_cast<ti::ActKind>(kind), 1);
    ti::ActParams p;
    p.kind = static_cast<ti::ActKind>(kind);
    isa::activation_f32(p, lin.data(), m * n);
    for (int64_t i = 0; i < m * n; ++i)
      if (!same_bits(lin[i], act[i])) fail("gemm epilogue bits", kind, i, 0, act[i], lin[i]);
  }
}

void check_activations() {
  std::vector<float> x;
  for (float v = -110.0f; v <= 110.0f; v += 0.01337f) x.push_back(v);
  const float special[] = {NAN,     INFINITY, -INFINITY, 0.0f,   -0.0f,  1e-45f, -1e-45f,
                           1e-40f,  -1e-40f,  88.7f,     -88.7f, 89.0f,  -89.0f, 104.0f,
                           -104.0f, 13.94f,   -13.94f,   3e38f,  -3e38f, 0.5f,   -0.5f};
  for (float v : special) x.push_back(v);
  for (int kind = 0; kind < static_cast<int>(ti::ActKind::kCount); ++kind) {
    ti::ActParams p;
    p.kind = static_cast<ti::ActKind>(kind);
    p.alpha = kind == static_cast<int>(ti::ActKind::kHardSigmoid) ? 0.2f : 0.3f;
    p.beta = 0.5f;
    p.gamma = 0.1f;
    if (p.kind == ti::ActKind::kReluGeneral) p.alpha = 6.0f;
    for (int64_t len :
         {int64_t{0}, int64_t{1}, int64_t{3}, int64_t{5}, static_cast<int64_t>(x.size())}) {
      std::vector<float> got(x.begin(), x.begin() + len), want(got);
      isa::activation_f32(p, got.data(), len);
      gen::activation_f32(p, want.data(), len);
      for (int64_t i = 0; i < len; ++i) {
        const double g = got[i], w = want[i];
        const bool ok =
            (std::isnan(g) && std::isnan(w)) || g == w ||
            std::fabs(g - w) <= 2e-6 * std::fabs(w) + 1e-30 ||
            // the generic gelus cancel for x << 0: only absolute accuracy there
            (kind >= static_cast<int>(ti::ActKind::kGelu) &&
             kind <= static_cast<int>(ti::ActKind::kGeluTanh) && std::fabs(g - w) <= 1e-7);
        if (!ok) fail("activation", kind, i, 0, g, w);
      }
    }
  }
}

void check_softmax() {
  for (int64_t cols : {int64_t{1}, int64_t{3}, int64_t{4}, int64_t{5}, int64_t{17}, int64_t{100}})
    for (int32_t log : {0, 1}) {
      const int64_t rows = 5;
      auto x = rand_vec(rows * cols, 8.0f);
      x[0] = -INFINITY;
      auto got = x, want = x;
      isa::softmax_f32(got.data(), rows, cols, log);
      gen::softmax_f32(want.data(), rows, cols, log);
      for (int64_t i = 0; i < rows * cols; ++i) {
        const double g = got[i], w = want[i];
        const bool ok = (std::isnan(g) && std::isnan(w)) || g == w ||
                        std::fabs(g - w) <= 1e-6 * std::fabs(w) + 1e-12;
        if (!ok) fail("softmax", cols, log, i, g, w);
      }
    }
}

// One recurrent step of every gate kind through `gates`, rows at padded
// leading dimensions; returns every operand after the call, concatenated.
template <class Gates>
std::vector<float> run_gates(Gates gates, ti::RnnGateKind kind, int64_t m, int64_t u,
                             ti::ActKind ract, uint64_t seed) {
  rng_state = seed;
  const int64_t ld = 4 * u + 3;  // room for any kind's widest operand plus padding
  std::vector<float> x = rand_vec(m * ld, 2.0f), pre = rand_vec(m * ld, 2.0f);
  std::vector<float> h = rand_vec(m * ld), c = rand_vec(m * ld), aux = rand_vec(m * ld);
  ti::RnnGateArgs a;
  a.kind = kind;
  a.m = m;
  a.units = u;
  a.act.kind = ti::ActKind::kTanh;
  a.ract.kind = ract;
  a.ract.alpha = 0.2f;
  a.ract.beta = 0.5f;
  a.x = x.data();
  a.pre = pre.data();
  a.h = h.data();
  a.c = c.data();
  a.aux = aux.data();
  a.ldx = a.ldp = a.ldh = a.ldc = a.lda = ld;
  gates(a);
  std::vector<float> all;
  for (const auto* v : {&pre, &h, &c, &aux}) all.insert(all.end(), v->begin(), v->end());
  return all;
}

void check_rnn_gates() {
  const ti::RnnGateKind kinds[] = {ti::RnnGateKind::kSimple, ti::RnnGateKind::kLstm,
                                   ti::RnnGateKind::kGruResetAfter, ti::RnnGateKind::kGruZr,
                                   ti::RnnGateKind::kGruH};
  for (ti::RnnGateKind kind : kinds)
    for (ti::ActKind ract : {ti::ActKind::kSigmoid, ti::ActKind::kHardSigmoid})
      for (int64_t u : {int64_t{1}, int64_t{3}, int64_t{4}, int64_t{7}, int64_t{13}, int64_t{17}}) {
        const uint64_t seed = 1234567ull + static_cast<uint64_t>(u) * 31;
        const auto got = run_gates(isa::rnn_gates_f32, kind, 3, u, ract, seed);
        const auto want = run_gates(gen::rnn_gates_f32, kind, 3, u, ract, seed);
        for (size_t i = 0; i < got.size(); ++i) {
          const double g = got[i], w = want[i];
          if (!(g == w || std::fabs(g - w) <= 1e-5 * std::fabs(w) + 1e-6))
            fail("rnn gates", static_cast<long>(kind), u, static_cast<long>(i), g, w);
        }
      }
}

// The packed recurrent GEMV gives the bits of the same ISA's GEMM on one row.
void check_rnn_gemv() {
  for (int64_t k : {int64_t{1}, int64_t{5}, int64_t{33}})
    for (int64_t n : {int64_t{1}, int64_t{7}, int64_t{17}, int64_t{100}}) {
      auto x = rand_vec(k), b = rand_vec(k * n), bias = rand_vec(n), res = rand_vec(n);
      std::vector<float> packed(isa::rnn_gemv_packed_size(k, n)), y(n, NAN);
      isa::rnn_gemv_pack(b.data(), k, n, packed.data());
      ti::RnnGemvArgs g;
      g.k = k;
      g.n = n;
      g.x = x.data();
      g.packed = packed.data();
      g.bias = bias.data();
      g.residual = res.data();
      g.y = y.data();
      isa::rnn_gemv_f32(g);
      const auto want =
          run_gemm(isa::gemm_pack_b, isa::gemm_packed_b_size, isa::gemm_f32, isa::kGemmNr, x, b,
                   bias.data(), res.data(), 1, k, n, ti::ActKind::kLinear, 1);
      for (int64_t j = 0; j < n; ++j)
        if (!same_bits(y[j], want[j])) fail("rnn gemv bits", k, n, j, y[j], want[j]);
    }
}
// Implicit A (GemmArgs::a_rows, the implicit-GEMM convolution): rows read
// through pointers and segment offsets give the bits of the same values read
// as a plain A, on the small-m path, the blocked path and the k-blocked one
// (k blocks that end inside a segment).
void check_gemm_implicit() {
  const int64_t shapes[][2] = {{9, 3}, {192, 64}, {100, 100}, {4104, 456}};  // k, seg_k
  for (int64_t m : {int64_t{1}, int64_t{3}, int64_t{4}, int64_t{7}, int64_t{13}, int64_t{200}})
    for (const auto& shape : shapes) {
      const int64_t k = shape[0], seg_k = shape[1], segs = k / seg_k, n = 37;
      // Segment s of row i at src[(s m + i) seg_k]: rows seg_k apart, segments m seg_k apart.
      auto src = rand_vec(m * k), b = rand_vec(k * n), bias = rand_vec(n);
      std::vector<float> a(static_cast<size_t>(m * k));
      for (int64_t i = 0; i < m; ++i)
        for (int64_t kk = 0; kk < k; ++kk)
          a[i * k + kk] = src[((kk / seg_k) * m + i) * seg_k + kk % seg_k];
      auto want = run_gemm(isa::gemm_pack_b, isa::gemm_packed_b_size, isa::gemm_f32, isa::kGemmNr,
                           a, b, bias.data(), nullptr, m, k, n, ti::ActKind::kRelu, 1);
      std::vector<const float*> rows(static_cast<size_t>(m));
      std::vector<int64_t> seg_off(static_cast<size_t>(segs));
      for (int64_t i = 0; i < m; ++i) rows[i] = src.data() + i * seg_k;
      for (int64_t s = 0; s < segs; ++s) seg_off[s] = s * m * seg_k;
      std::vector<float> packed(isa::gemm_packed_b_size(k, n));
      isa::gemm_pack_b(b.data(), k, n, nullptr, packed.data());
      std::vector<float> got(static_cast<size_t>(m * n), NAN);
      ti::GemmArgs g;
      g.m = m;
      g.n = n;
      g.k = k;
      g.a_rows = rows.data();
      g.seg_off = seg_off.data();
      g.seg_k = seg_k;
      g.packed_b = packed.data();
      g.c = got.data();
      g.ldc = n;
      g.n_begin = 0;
      g.n_end = n;
      g.bias = bias.data();
      g.act.kind = ti::ActKind::kRelu;
      isa::gemm_f32(g);
      for (int64_t i = 0; i < m * n; ++i)
        if (!same_bits(got[i], want[i])) fail("gemm implicit A bits", m, k, i, got[i], want[i]);
    }
}

}  // namespace

int main() {
  check_gemm();
  check_gemm_implicit();
  check_activations();
  check_softmax();
  check_rnn_gates();
  check_rnn_gemv();
  std::printf("%s: %d failure(s)\n", failures ? "FAILED" : "ok", failures);
  return failures ? 1 : 0;
}
