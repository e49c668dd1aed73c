// NaN / +-inf through one ISA's kernels against the generic ones, for ISAs
// this machine cannot run natively (NEON under qemu-aarch64): built and run by
// test_neon_nonfinite.py. The NaN, +inf and -inf cells must sit exactly where
// the generic kernel puts them; other values agree to rounding (bits for max
// pooling). Exit status 0 when everything holds.
//
//   aarch64-linux-gnu-g++ -std=c++17 -O2 -ffp-contract=off -static -Icpp -DCHECK_NS=neon
//       tests/nonfinite/neon_nonfinite_check.cpp cpp/kernels/generic/*.cpp
//       cpp/kernels/arm/*_neon.cpp
#include <algorithm>
#include <cfloat>
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
int checked_nonfinite = 0;

uint64_t rng_state = 0x9e3779b97f4a7c15ull;
float frand() {  // xorshift, in [-1, 1)
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return static_cast<float>((rng_state >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}

// Random values in [-scale, scale) with about one cell in `every` set to NaN,
// +inf or -inf in turn.
std::vector<float> with_specials(size_t n, float scale, size_t every) {
  const float special[] = {NAN, INFINITY, -INFINITY};
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = frand() * scale;
  for (size_t i = 3; i < n; i += every) v[i] = special[(i / every) % 3];
  return v;
}

bool same_bits(float a, float b) {
  uint32_t x, y;
  std::memcpy(&x, &a, 4);
  std::memcpy(&y, &b, 4);
  return x == y;
}

// NaN and infinities in the same cells with the same sign; finite values close.
void compare(const char* what, int tag, const std::vector<float>& got,
             const std::vector<float>& want, double rtol, bool bits) {
  for (size_t i = 0; i < want.size(); ++i) {
    const float g = got[i], w = want[i];
    bool ok;
    if (!std::isfinite(w) || !std::isfinite(g)) {
      ok = (std::isnan(g) && std::isnan(w)) || g == w;
      ++checked_nonfinite;
    } else {
      ok = bits ? same_bits(g, w) : std::fabs(g - w) <= rtol * std::fabs(w) + 1e-6;
    }
    if (!ok) {
      if (failures < 20)
        std::printf("FAIL %s [%d] cell %zu: got %.9g want %.9g\n", what, tag, i, g, w);
      ++failures;
    }
  }
}

template <class Pack, class Size, class Gemm>
std::vector<float> run_gemm(Pack pack, Size size, Gemm gemm, const std::vector<float>& a,
                            const std::vector<float>& b, const std::vector<float>& bias, int64_t m,
                            int64_t k, int64_t n, const ti::ActParams& act) {
  std::vector<float> packed(size(k, n));
  pack(b.data(), k, n, nullptr, packed.data());
  std::vector<float> c(static_cast<size_t>(m * n), 0.0f);
  ti::GemmArgs g;
  g.m = m;
  g.n = n;
  g.k = k;
  g.a = a.data();
  g.lda = k;
  g.packed_b = packed.data();
  g.c = c.data();
  g.ldc = n;
  g.n_begin = 0;
  g.n_end = n;
  g.bias = bias.data();
  g.act = act;
  gemm(g);
  return c;
}

std::vector<ti::ActParams> activations() {
  std::vector<ti::ActParams> out;
  for (int kind = 0; kind < static_cast<int>(ti::ActKind::kCount); ++kind) {
    ti::ActParams p;
    p.kind = static_cast<ti::ActKind>(kind);
    p.alpha = kind == static_cast<int>(ti::ActKind::kHardSigmoid) ? 0.2f : 0.3f;
    p.beta = 0.5f;
    out.push_back(p);
  }
  ti::ActParams relu_max;  // Keras ReLU(max_value=2.5): no slope, so -inf -> 0
  relu_max.kind = ti::ActKind::kReluGeneral;
  relu_max.alpha = 2.5f;
  out.push_back(relu_max);
  ti::ActParams relu_slope = relu_max;  // with a slope, -inf -> -inf
  relu_slope.gamma = 0.1f;
  out.push_back(relu_slope);
  return out;
}

void check_activations() {
  std::vector<float> x = {NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 3.0f, -3.0f, 7.0f, -7.0f};
  const std::vector<float> more = with_specials(203, 30.0f, 7);
  x.insert(x.end(), more.begin(), more.end());
  int tag = 0;
  for (const ti::ActParams& p : activations()) {
    std::vector<float> got = x, want = x;
    isa::activation_f32(p, got.data(), static_cast<int64_t>(got.size()));
    gen::activation_f32(p, want.data(), static_cast<int64_t>(want.size()));
    compare("activation", tag++, got, want, 1e-5, false);
  }
}

void check_gemm_epilogues() {
  const int64_t m = 9, k = 11, n = 37;
  const auto a = with_specials(m * k, 2.0f, 13), b = with_specials(k * n, 1.0f, 1000000);
  const auto bias = with_specials(n, 1.0f, 1000000);
  int tag = 0;
  for (const ti::ActParams& p : activations()) {
    auto want =
        run_gemm(gen::gemm_pack_b, gen::gemm_packed_b_size, gen::gemm_f32, a, b, bias, m, k, n, p);
    auto got =
        run_gemm(isa::gemm_pack_b, isa::gemm_packed_b_size, isa::gemm_f32, a, b, bias, m, k, n, p);
    compare("gemm epilogue", tag++, got, want, 1e-4, false);
  }
}

void check_max_pool() {
  const int64_t h = 6, w = 6, c = 11;
  auto x = with_specials(h * w * c, 3.0f, 5);
  // A 2x2 window of only NaN and one of only -inf, in channel 0.
  for (int64_t dy : {0, 1})
    for (int64_t dx : {0, 1}) {
      x[((2 + dy) * w + 2 + dx) * c] = NAN;
      x[((4 + dy) * w + dx) * c] = -INFINITY;
    }
  for (float init : {-INFINITY, -FLT_MAX})
    for (int64_t k : {2, 3}) {
      ti::PoolArgs p;
      p.max = 1;
      p.max_init = init;
      p.x = x.data();
      p.c = c;
      p.in_h = h;
      p.in_w = w;
      p.k_h = p.s_h = p.k_w = p.s_w = k;
      p.out_h = h / k;
      p.out_w = w / k;
      p.row_begin = 0;
      p.row_end = p.out_h;
      std::vector<float> got(static_cast<size_t>(p.out_h * p.out_w * c)), want(got);
      p.y = want.data();
      gen::pool_f32(p);
      p.y = got.data();
      isa::pool_f32(p);
      compare("max pool", static_cast<int>(k), got, want, 0.0, true);
    }
}

void check_depthwise() {
  const int64_t h = 5, w = 5, c = 7;
  const auto x = with_specials(h * w * c, 2.0f, 9), wt = with_specials(9 * c, 1.0f, 1000000);
  for (ti::ActKind kind : {ti::ActKind::kLinear, ti::ActKind::kRelu, ti::ActKind::kRelu6}) {
    ti::DepthwiseArgs a;
    a.x = x.data();
    a.w = wt.data();
    a.in_h = a.out_h = h;
    a.in_w = a.out_w = w;
    a.c = c;
    a.kh = a.kw = 3;
    a.pad_top = a.pad_left = 1;
    a.row_begin = 0;
    a.row_end = h;
    a.act.kind = kind;
    std::vector<float> got(static_cast<size_t>(h * w * c)), want(got);
    a.y = want.data();
    gen::depthwise_f32(a);
    a.y = got.data();
    isa::depthwise_f32(a);
    compare("depthwise", static_cast<int>(kind), got, want, 1e-5, false);
  }
}

}  // namespace

int main() {
  check_activations();
  check_gemm_epilogues();
  check_max_pool();
  check_depthwise();
  std::printf("%s: %d failure(s), %d non-finite cells compared\n", failures ? "FAILED" : "ok",
              failures, checked_nonfinite);
  return failures || checked_nonfinite == 0 ? 1 : 0;
}
