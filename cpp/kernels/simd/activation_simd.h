// Element-wise activations and row softmax over a traits class V, shared by
// the SIMD kernels and their GEMM epilogues. The per-kind vector formulas are
// the Act<K>::vec of kernels/activation_math.h, beside their float64
// references (Act<K>::scalar), including TF.js's softplus thresholds and its
// Abramowitz-Stegun erf for kGeluTfjs.
//
// Include only from one ISA's translation units; all in an anonymous namespace.
//
// Max error against the float64 formula of Act<K>::scalar (rewritten
// without cancellation for the gelus' left tails), over every 64th float32 in
// (-120, 120) both signs, in ulps of the float32 result, where |result| >=
// 1e-30 (below that, in the subnormal neighbourhood, only |error| <= 1e-30 is
// promised). Checked, with a little margin, by tests/kernels/test_activation.py:
//   linear, relu, relu6, leaky_relu, thresholded_relu, hard_sigmoid,
//     relu_general: exact (bitwise equal to the generic kernel).
//   exp 0.99   elu 0.84   selu 1.71   softsign 1.49   tanh 1.28
//   sigmoid 2.40   softplus 2.63   swish 2.99   mish 3.67
//   gelu 3.43 (exact erf; float64 Q for erfc, see vecmath.h)
//   gelu_tfjs 3.29 (the A&S formula itself is ~1.5e-7 from the true erf)
//   gelu_tanh 3.41 (its e^{-2u} argument formed in float64)
// NaN in gives NaN out wherever the generic kernel gives NaN; +-inf and the
// overflow thresholds (exp above 88.72) give the generic kernel's values.
// AVX2, AVX-512 and NEON run the same operation sequence: identical bits.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/activation_math.h"
#include "kernels/kernel_args.h"
#include "kernels/simd/vecmath.h"

namespace tfjs_infer::kernels {
namespace {

// Activation K over one vector (its Act<K>::vec in activation_math.h).
template <class V, ActKind K>
inline typename V::F act_one(const ActParams& p, typename V::F x) {
  return Act<K>::template vec<V>(p, x);
}

template <class V, ActKind K>
void act_loop(const ActParams& p, const float* src, float* dst, int64_t n) {
  constexpr int64_t W = V::kW;
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    const auto y0 = act_one<V, K>(p, V::loadu(src + i));
    const auto y1 = act_one<V, K>(p, V::loadu(src + i + W));
    V::storeu(dst + i, y0);
    V::storeu(dst + i + W, y1);
  }
  for (; i < n; i += W) {
    const int64_t left = n - i;
    if (left >= W) {
      V::storeu(dst + i, act_one<V, K>(p, V::loadu(src + i)));
    } else {
      V::store_n(dst + i, act_one<V, K>(p, V::load_n(src + i, left)), left);
    }
  }
}

// dst[0:n] = act(src[0:n]); src == dst is fine.
template <class V>
void act_apply(const ActParams& p, const float* src, float* dst, int64_t n) {
  switch (p.kind) {
#define TFJS_INFER_ACT_CASE(kind, name)         \
  case ActKind::kind:                           \
    act_loop<V, ActKind::kind>(p, src, dst, n); \
    return;
    TFJS_INFER_ACTIVATIONS(TFJS_INFER_ACT_CASE)
#undef TFJS_INFER_ACT_CASE
    case ActKind::kCount:
      break;
  }
  if (src != dst)
    for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
}

// e^(x - m) with x - m carried as hi + lo (TwoSum), so large |x - m| keeps
// full relative precision: e^(hi + lo) = e^hi (1 + lo).
template <class V>
inline typename V::F exp_diff_v(typename V::F x, typename V::F m) {
  using F = typename V::F;
  const F hi = V::sub(x, m);
  const F bx = V::sub(hi, x);  // the -m part actually added
  const F lo = V::add(V::sub(x, V::sub(hi, bx)), V::sub(V::xor_bits(m, V::set1(-0.0f)), bx));
  const F e = exp_v<V>(hi);
  // lo is NaN when hi is not finite; e is then already exact (0, inf or NaN).
  return V::select(V::is_nan(lo), e, V::fmadd(e, lo, e));
}

// Row softmax / log-softmax: max pass, exp pass (stores e^(x - max) and sums
// it in float64 lanes, lane j taking the elements j, j + W, ... of the row, then
// a fixed reduction tree: the order depends only on cols), then a scale pass.
template <class V>
void softmax_rows(float* x, int64_t rows, int64_t cols, int32_t log) {
  using F = typename V::F;
  constexpr int64_t W = V::kW;
  const F ninf = V::set1(-INFINITY);
  for (int64_t r = 0; r < rows; ++r) {
    float* row = x + r * cols;
    F mv = ninf;
    int64_t j = 0;
    for (; j + W <= cols; j += W) mv = V::max(V::loadu(row + j), mv);
    if (j < cols) mv = V::max(V::load_n_or(row + j, cols - j, ninf), mv);
    const float mx = V::hmax(mv);
    const F mxv = V::set1(mx);
    typename V::D2 s_lo = V::dzero(), s_hi = V::dzero();
    for (j = 0; j + W <= cols; j += W) {
      const F e = exp_diff_v<V>(V::loadu(row + j), mxv);
      if (!log) V::storeu(row + j, e);
      V::add_to_f64(s_lo, s_hi, e);
    }
    if (j < cols) {
      // Masked lanes load -inf: e^-inf = 0 adds nothing.
      const F e = exp_diff_v<V>(V::load_n_or(row + j, cols - j, ninf), mxv);
      if (!log) V::store_n(row + j, e, cols - j);
      V::add_to_f64(s_lo, s_hi, e);
    }
    const double sum = V::dsum(s_lo, s_hi);
    if (log) {
      // (x - max) - log(sum) in float64, rounded once.
      const double lse = std::log(sum);
      for (j = 0; j + W <= cols; j += W)
        V::storeu(row + j, V::sub2_f64(V::loadu(row + j), mx, lse));
      if (j < cols)
        V::store_n(row + j, V::sub2_f64(V::load_n(row + j, cols - j), mx, lse), cols - j);
    } else {
      const F inv = V::set1(static_cast<float>(1.0 / sum));
      for (j = 0; j + W <= cols; j += W) V::storeu(row + j, V::mul(V::loadu(row + j), inv));
      if (j < cols) V::store_n(row + j, V::mul(V::load_n(row + j, cols - j), inv), cols - j);
    }
  }
}

}  // namespace
}  // namespace tfjs_infer::kernels
