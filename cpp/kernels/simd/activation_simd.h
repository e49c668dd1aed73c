// Element-wise activations and row softmax over a traits class V, shared by
// the SIMD kernels and their GEMM epilogues. Same formulas as
// kernels/generic/activation_scalar.h (which evaluates in float64), including
// TF.js's softplus thresholds and its Abramowitz-Stegun erf for kGeluTfjs.
//
// Include only from one ISA's translation units; all in an anonymous namespace.
//
// Max error against the float64 formula of activation_scalar.h (rewritten
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

#include "kernels/kernel_args.h"
#include "kernels/simd/vecmath.h"

namespace tfjs_infer::kernels {
namespace {

template <class V, ActKind K>
inline typename V::F act_one(const ActParams& p, typename V::F x) {
  using F = typename V::F;
  const F zero = V::zero();
  if constexpr (K == ActKind::kLinear) {
    return x;
  } else if constexpr (K == ActKind::kRelu) {
    return V::max(zero, x);  // NaN stays NaN (x86 rule: the second operand), as generic
  } else if constexpr (K == ActKind::kRelu6) {
    return V::min(V::set1(6.0f), V::max(zero, x));
  } else if constexpr (K == ActKind::kReluGeneral) {
    // gamma (x - beta) in float64, rounded once: the generic kernel's bits.
    using D = typename V::D2;
    D x_lo, x_hi;
    V::widen(x, x_lo, x_hi);
    const D g = V::dset1(p.gamma), b = V::dset1(p.beta);
    // No slope: 0 (also for -inf, where gamma (x - beta) would be NaN).
    const F neg = p.gamma == 0.0f
                      ? zero
                      : V::narrow(V::dmul(g, V::dsub(x_lo, b)), V::dmul(g, V::dsub(x_hi, b)));
    const F r = V::select(V::ge(x, V::set1(p.beta)), V::min(x, V::set1(p.alpha)), neg);
    return V::select(V::is_nan(x), x, r);
  } else if constexpr (K == ActKind::kLeakyRelu) {
    return V::select(V::ge(x, zero), x, V::mul(V::set1(p.alpha), x));
  } else if constexpr (K == ActKind::kElu) {
    return V::select(V::ge(x, zero), x, V::mul(V::set1(p.alpha), expm1_v<V>(x)));
  } else if constexpr (K == ActKind::kSelu) {
    return V::select(V::ge(x, zero), V::mul(V::set1(1.0507009873554805f), x),
                     V::mul(V::set1(1.7580993408473769f), expm1_v<V>(x)));
  } else if constexpr (K == ActKind::kSigmoid) {
    return sigmoid_v<V>(x);
  } else if constexpr (K == ActKind::kHardSigmoid) {
    const F v = V::fmadd(V::set1(p.alpha), x, V::set1(p.beta));
    return V::min(V::set1(1.0f), V::max(zero, v));  // NaN stays NaN
  } else if constexpr (K == ActKind::kSoftplus) {
    // TF.js: x above 13.94 -> x; below -13.94 -> e^x; else log1p(e^x),
    // computed as max(x, 0) + log1p(e^-|x|).
    const F thr = V::set1(13.942385152878742f);
    const F t = exp_v<V>(V::xor_bits(V::abs(x), V::set1(-0.0f)));
    const F mid = V::add(V::max(x, zero), log1p01_v<V>(t));
    return V::select(V::gt(x, thr), x,
                     V::select(V::lt(x, V::xor_bits(thr, V::set1(-0.0f))), t, mid));
  } else if constexpr (K == ActKind::kSoftsign) {
    return V::div(x, V::add(V::set1(1.0f), V::abs(x)));
  } else if constexpr (K == ActKind::kTanh) {
    return tanh_v<V>(x);
  } else if constexpr (K == ActKind::kSwish) {
    return mul_sigmoid_v<V>(x, x);
  } else if constexpr (K == ActKind::kMish) {
    // x tanh(softplus(x)) with TF.js's softplus: tanh(log(1 + t)) = n / (n + 2),
    // n = t (t + 2), t = e^x; x above 13.94 -> x, below -13.94 -> x e^x.
    const F thr = V::set1(13.942385152878742f);
    const F t = exp_v<V>(V::min(thr, x));
    const F n = V::fmadd(t, t, V::add(t, t));  // t (t + 2), one rounding
    const F mid = V::mul(x, V::div(n, V::add(n, V::set1(2.0f))));
    return V::select(V::gt(x, thr), x,
                     V::select(V::lt(x, V::xor_bits(thr, V::set1(-0.0f))), V::mul(x, t), mid));
  } else if constexpr (K == ActKind::kGelu || K == ActKind::kGeluTfjs) {
    // 0.5 x (1 + erf(z)), z = x / sqrt 2. With q = 1 - erf(|z|) (= erfc):
    // x >= 0: x - 0.5 x q;  x < 0: 0.5 x q. No cancellation on either side.
    // z^2 = x^2 / 2 is carried as hi + lo so e^{-z^2} keeps full precision.
    const F h = V::mul(x, V::set1(0.5f));
    const F xx = V::mul(x, x);
    const F zz_hi = V::mul(xx, V::set1(0.5f));
    const F zz_lo = V::mul(V::fmsub(x, x, xx), V::set1(0.5f));
    const F az = V::mul(V::abs(x), V::set1(0.7071067690849304f));
    F q;
    if constexpr (K == ActKind::kGelu) {
      q = erfc_large_v<V>(V::abs(x), zz_hi, zz_lo);
    } else {
      // Abramowitz-Stegun 7.1.26: erf(a) = 1 - t P(t) e^{-a^2}, t = 1/(1 + p a);
      // t P(t) in float64 (its float32 evaluation near a = 0 costs ~6 ulp).
      using D = typename V::D2;
      D a_lo, a_hi;
      V::widen(V::abs(x), a_lo, a_hi);
      auto tp = [](D ax) {
        const D one = V::dset1(1.0);
        const D a = V::dmul(ax, V::dset1(0.70710678118654752));
        const D t = V::ddiv(one, V::dfmadd(a, V::dset1(0.3275911), one));
        D p = V::dset1(1.061405429);
        p = V::dfmadd(p, t, V::dset1(-1.453152027));
        p = V::dfmadd(p, t, V::dset1(1.421413741));
        p = V::dfmadd(p, t, V::dset1(-0.284496736));
        p = V::dfmadd(p, t, V::dset1(0.254829592));
        return V::dmul(p, t);
      };
      const F poly = V::narrow(tp(a_lo), tp(a_hi));
      F e = exp_v<V>(V::xor_bits(zz_hi, V::set1(-0.0f)));
      e = V::fnmadd(e, zz_lo, e);
      q = V::mul(poly, e);
    }
    F r = V::select(V::ge(x, zero), V::fnmadd(h, q, x), V::mul(h, q));
    if constexpr (K == ActKind::kGelu) {
      // |z| < 0.45: the erf series, 0.5 x + 0.5 x erf(z).
      const F z = V::mul(x, V::set1(0.7071067690849304f));
      r = V::select(V::lt(az, V::set1(0.45f)), V::fmadd(h, erf_small_v<V>(z), h), r);
    }
    // Far right the result is x, far left -0 (NaN at -inf, as generic); this
    // also keeps inf * 0 out of the formulas above.
    r = V::select(V::lt(x, V::set1(-20.0f)), V::mul(x, zero), r);
    return V::select(V::gt(x, V::set1(10.0f)), x, r);
  } else if constexpr (K == ActKind::kGeluTanh) {
    // 0.5 x (1 + tanh(u)) = x sigmoid(2u) = x / (1 + e^{-2u}), 2u = x (k1 + k2 x^2).
    // e^{-2u} is sensitive to the rounding of 2u (|2u| ulp), so 2u is formed in
    // float64 and carried as hi + lo: e^{-|hi| - lo'} = e^{-|hi|} (1 - lo').
    using D = typename V::D2;
    D x_lo, x_hi;
    V::widen(x, x_lo, x_hi);
    auto arg = [](D xd) {
      return V::dmul(xd, V::dfmadd(V::dset1(0.07135481627260025), V::dmul(xd, xd),
                                   V::dset1(1.5957691216057308)));
    };
    const D y_lo = arg(x_lo), y_hi = arg(x_hi);
    const F y = V::narrow(y_lo, y_hi);
    D r_lo, r_hi;
    V::widen(y, r_lo, r_hi);
    // lo' = sign(y) (2u - y): the part of |2u| below float precision.
    const F yl = V::xor_bits(V::narrow(V::dsub(y_lo, r_lo), V::dsub(y_hi, r_hi)), V::sign_bits(y));
    F t = exp_v<V>(V::xor_bits(V::abs(y), V::set1(-0.0f)));
    // (When 2u overflows float, lo' is not finite and the product NaN; then
    // e^{-|y|} = 0 is already exact.)
    const F tc = V::fnmadd(t, yl, t);
    t = V::select(V::is_nan(tc), t, tc);
    return V::div(V::select(V::ge(y, zero), x, V::mul(x, t)), V::add(V::set1(1.0f), t));
  } else if constexpr (K == ActKind::kThresholdedRelu) {
    return V::select(V::gt(x, V::set1(p.alpha)), x, V::mul(x, zero));  // x (x > theta)
  } else if constexpr (K == ActKind::kExp) {
    return exp_v<V>(x);
  } else {
    return x;
  }
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
#define TFJS_INFER_ACT_CASE(K)               \
  case ActKind::K:                           \
    act_loop<V, ActKind::K>(p, src, dst, n); \
    return;
    TFJS_INFER_ACT_CASE(kLinear)
    TFJS_INFER_ACT_CASE(kRelu)
    TFJS_INFER_ACT_CASE(kRelu6)
    TFJS_INFER_ACT_CASE(kReluGeneral)
    TFJS_INFER_ACT_CASE(kLeakyRelu)
    TFJS_INFER_ACT_CASE(kElu)
    TFJS_INFER_ACT_CASE(kSelu)
    TFJS_INFER_ACT_CASE(kSigmoid)
    TFJS_INFER_ACT_CASE(kHardSigmoid)
    TFJS_INFER_ACT_CASE(kSoftplus)
    TFJS_INFER_ACT_CASE(kSoftsign)
    TFJS_INFER_ACT_CASE(kTanh)
    TFJS_INFER_ACT_CASE(kSwish)
    TFJS_INFER_ACT_CASE(kMish)
    TFJS_INFER_ACT_CASE(kGelu)
    TFJS_INFER_ACT_CASE(kGeluTfjs)
    TFJS_INFER_ACT_CASE(kGeluTanh)
    TFJS_INFER_ACT_CASE(kThresholdedRelu)
    TFJS_INFER_ACT_CASE(kExp)
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
