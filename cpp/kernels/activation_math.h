// The math of every activation in kernels/activation_list.h: one
// Act<ActKind::k...> per entry, with
//   scalar(p, x)   the reference formula, evaluated in float64 and rounded
//                  once to float32, as the TF.js CPU backend does (the
//                  generic kernels);
//   vec<V>(p, x)   the same function over a SIMD traits class V (the AVX2,
//                  AVX-512 and NEON kernels and their GEMM epilogues), with
//                  the error bounds listed in kernels/simd/activation_simd.h.
// A list entry without its Act<> does not compile.
//
// Internal linkage on purpose (anonymous namespace): every translation unit
// that includes this gets its own copy, so a copy compiled with AVX flags can
// never be picked by the linker for baseline code. vec<V> is a template, only
// instantiated by the ISA translation units.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/kernel_args.h"
#include "kernels/simd/vecmath.h"

// The scalar formulas are also the CUDA kernels' (cuda/kernels/activation.cuh
// expands the same list over Act<>::scalar): nvcc compiles them for host and
// device, every other compiler sees plain functions.
#if defined(__CUDACC__)
#define TFJS_INFER_HOST_DEVICE __host__ __device__
#else
#define TFJS_INFER_HOST_DEVICE
#endif

namespace tfjs_infer::kernels {
namespace {

// Abramowitz-Stegun 7.1.26, the erf TF.js uses for gelu.
TFJS_INFER_HOST_DEVICE inline double erf_tfjs(double x) {
  const double p = 0.3275911, a1 = 0.254829592, a2 = -0.284496736, a3 = 1.421413741,
               a4 = -1.453152027, a5 = 1.061405429;
  const double sign = x < 0 ? -1.0 : 1.0;
  const double ax = std::fabs(x);
  const double t = 1.0 / (1.0 + p * ax);
  const double poly = ((((a5 * t + a4) * t + a3) * t + a2) * t + a1) * t;
  return sign * (1.0 - poly * std::exp(-ax * ax));
}

// TF.js softplus: thresholds at log(2^-23) + 2 keep exp from overflowing.
TFJS_INFER_HOST_DEVICE inline double softplus_tfjs(double x) {
  const double threshold = std::log(1.1920928955078125e-7) + 2.0;
  if (x > -threshold) return x;
  if (x < threshold) return std::exp(x);
  return std::log1p(std::exp(x));
}

TFJS_INFER_HOST_DEVICE inline double sigmoid_d(double x) { return 1.0 / (1.0 + std::exp(-x)); }

template <class V>
using VecF = typename V::F;

template <ActKind K>
struct Act;

template <>
struct Act<ActKind::kLinear> {
  TFJS_INFER_HOST_DEVICE static float scalar(const ActParams&, float x) { return x; }
  template <class V>
  static VecF<V> vec(const ActParams&, VecF<V> x) {
    return x;
  }
};

// NaN stays NaN in every relu (TF.js's Math.max(0, x), TF's max(x, 0)); each
// is written as the x86 max(0, x) / min(6, .) the SIMD kernels use
// (`a > b ? a : b` gives b when either is NaN), so the bits agree.
template <>
struct Act<ActKind::kRelu> {  // max(x, 0)
  TFJS_INFER_HOST_DEVICE static float scalar(const ActParams&, float x) {
    return 0.0f > x ? 0.0f : x;
  }
  template <class V>
  static VecF<V> vec(const ActParams&, VecF<V> x) {
    return V::max(V::zero(), x);
  }
};

template <>
struct Act<ActKind::kRelu6> {  // min(max(x, 0), 6)
  TFJS_INFER_HOST_DEVICE static float scalar(const ActParams&, float x) {
    const float r = 0.0f > x ? 0.0f : x;
    return 6.0f < r ? 6.0f : r;
  }
  template <class V>
  static VecF<V> vec(const ActParams&, VecF<V> x) {
    return V::min(V::set1(6.0f), V::max(V::zero(), x));
  }
};

// The Keras ReLU layer: x >= beta ? min(x, alpha) : gamma * (x - beta).
template <>
struct Act<ActKind::kReluGeneral> {
  TFJS_INFER_HOST_DEVICE static float scalar(const ActParams& p, float xf) {
    if (xf >= p.beta) return xf < p.alpha ? xf : p.alpha;
    if (xf != xf) return xf;
    // With no negative slope the branch is a plain 0 (-inf too, not 0 * -inf).
    if (p.gamma == 0.0f) return 0.0f;
    return static_cast<float>(static_cast<double>(p.gamma) * (static_cast<double>(xf) - p.beta));
  }
  template <class V>
  static VecF<V> vec(const ActParams& p, VecF<V> x) {
    // gamma (x - beta) in float64, rounded once: the generic kernel's bits.
    using D = typename V::D2;
    D x_lo, x_hi;
    V::widen(x, x_lo, x_hi);
    const D g = V::dset1(p.gamma), b = V::dset1(p.beta);
    // No slope: 0 (also for -inf, where gamma (x - beta) would be NaN).
    const VecF<V> neg = p.gamma == 0.0f
                            ? V::zero()
                            : V::narrow(V::dmul(g, V::dsub(x_lo, b)), V::dmul(g, V::dsub(x_hi, b)));
    const VecF<V> r = V::select(V::ge(x, V::set1(p.beta)), V::min(x, V::set1(p.alpha)), neg);
    return V::select(V::is_nan(x), x, r);
  }
};

template <>
struct Act<ActKind::kLeakyRelu> {  // x >= 0 ? x : alpha * x
  TFJS_INFER_HOST_DEVICE static float scalar(const ActParams& p, float xf) {
    const double x = xf;
    return xf >= 0.0f ? xf : static_cast<float>(p.alpha * x);
  }
  template <class V>
  static VecF<V> vec(const ActParams& p, VecF<V> x) {
    return V::select(V::ge(x, V::zero()), x, V::mul(V::set1(p.alpha), x));
  }
};

template <>
struct Act<ActKind::kElu> {  // x >= 0 ? x : alpha * (exp(x) - 1)
  TFJS_INFER_HOST_DEVICE static float scalar(const ActParams& p, float xf) {
    return xf >= 0.0f ? xf : static_cast<float>(p.alpha * std::expm1(static_cast<double>(xf)));
  }
  template <class V>
  static VecF<V> vec(const ActParams& p, VecF<V> x) {
    return V::select(V::ge(x, V::zero()), x, V::mul(V::set1(p.alpha), expm1_v<V>(x)));
  }
};

// 1.0507009873554805 * (x >= 0 ? x : 1.6732632423543772 * (exp(x) - 1))
template <>
struct Act<ActKind::kSelu> {
  TFJS_INFER_HOST_DEVICE static float scalar(const ActParams&, float xf) {
    const double x = xf;
    return static_cast<float>(x >= 0 ? 1.0507009873554805 * x : 1.7580993408473769 * std::expm1(x));
  }
  template <class V>
  static VecF<V> vec(const ActParams&, VecF<V> x) {
    return V::select(V::ge(x, V::zero()), V::mul(V::set1(1.0507009873554805f), x),
                     V::mul(V::set1(1.7580993408473769f), expm1_v<V>(x)));
  }
};

template <>
struct Act<ActKind::kSigmoid> {  // 1 / (1 + exp(-x))
  TFJS_INFER_HOST_DEVICE static float scalar(const ActParams&, float x) {
    return static_cast<float>(sigmoid_d(x));
  }
  template <class V>
  static VecF<V> vec(const ActParams&, VecF<V> x) {
    return sigmoid_v<V>(x);
  }
};

template <>
struct Act<ActKind::kHardSigmoid> {  // clip(alpha * x + beta, 0, 1)
  TFJS_INFER_HOST_DEVICE static float scalar(const ActParams& p, float xf) {
    const double v = static_cast<double>(p.alpha) * xf + p.beta;
    return static_cast<float>(v < 0 ? 0 : (v > 1 ? 1 : v));
  }
  template <class V>
  static VecF<V> vec(const ActParams& p, VecF<V> x) {
    const VecF<V> v = V::fmadd(V::set1(p.alpha), x, V::set1(p.beta));
    return V::min(V::set1(1.0f), V::max(V::zero(), v));  // NaN stays NaN
  }
};

template <>
struct Act<ActKind::kSoftplus> {  // log(1 + exp(x)) with TF.js's thresholds
  TFJS_INFER_HOST_DEVICE static float scalar(const ActParams&, float x) {
    return static_cast<float>(softplus_tfjs(x));
  }
  template <class V>
  static VecF<V> vec(const ActParams&, VecF<V> x) {
    // TF.js: x above 13.94 -> x; below -13.94 -> e^x; else log1p(e^x),
    // computed as max(x, 0) + log1p(e^-|x|).
    const VecF<V> thr = V::set1(13.942385152878742f);
    const VecF<V> t = exp_v<V>(V::xor_bits(V::abs(x), V::set1(-0.0f)));
    const VecF<V> mid = V::add(V::max(x, V::zero()), log1p01_v<V>(t));
    return V::select(V::gt(x, thr), x,
                     V::select(V::lt(x, V::xor_bits(thr, V::set1(-0.0f))), t, mid));
  }
};

template <>
struct Act<ActKind::kSoftsign> {  // x / (1 + |x|)
  TFJS_INFER_HOST_DEVICE static float scalar(const ActParams&, float xf) {
    const double x = xf;
    return static_cast<float>(x / (1.0 + std::fabs(x)));
  }
  template <class V>
  static VecF<V> vec(const ActParams&, VecF<V> x) {
    return V::div(x, V::add(V::set1(1.0f), V::abs(x)));
  }
};

template <>
struct Act<ActKind::kTanh> {
  TFJS_INFER_HOST_DEVICE static float scalar(const ActParams&, float x) {
    return static_cast<float>(std::tanh(static_cast<double>(x)));
  }
  template <class V>
  static VecF<V> vec(const ActParams&, VecF<V> x) {
    return tanh_v<V>(x);
  }
};

template <>
struct Act<ActKind::kSwish> {  // x * sigmoid(x)
  TFJS_INFER_HOST_DEVICE static float scalar(const ActParams&, float xf) {
    const double x = xf;
    return static_cast<float>(x * sigmoid_d(x));
  }
  template <class V>
  static VecF<V> vec(const ActParams&, VecF<V> x) {
    return mul_sigmoid_v<V>(x, x);
  }
};

template <>
struct Act<ActKind::kMish> {  // x * tanh(softplus(x))
  TFJS_INFER_HOST_DEVICE static float scalar(const ActParams&, float xf) {
    const double x = xf;
    return static_cast<float>(x * std::tanh(softplus_tfjs(x)));
  }
  template <class V>
  static VecF<V> vec(const ActParams&, VecF<V> x) {
    // x tanh(softplus(x)) with TF.js's softplus: tanh(log(1 + t)) = n / (n + 2),
    // n = t (t + 2), t = e^x; x above 13.94 -> x, below -13.94 -> x e^x.
    const VecF<V> thr = V::set1(13.942385152878742f);
    const VecF<V> t = exp_v<V>(V::min(thr, x));
    const VecF<V> n = V::fmadd(t, t, V::add(t, t));  // t (t + 2), one rounding
    const VecF<V> mid = V::mul(x, V::div(n, V::add(n, V::set1(2.0f))));
    return V::select(V::gt(x, thr), x,
                     V::select(V::lt(x, V::xor_bits(thr, V::set1(-0.0f))), V::mul(x, t), mid));
  }
};

// 0.5 x (1 + erf(z)), z = x / sqrt 2, erf exact (Keras's gelu) or by
// Abramowitz-Stegun 7.1.26 (TF.js's). With q = 1 - erf(|z|) (= erfc):
// x >= 0: x - 0.5 x q;  x < 0: 0.5 x q. No cancellation on either side.
template <class V, bool ExactErf>
VecF<V> gelu_v(VecF<V> x) {
  using F = VecF<V>;
  const F zero = V::zero();
  // z^2 = x^2 / 2 is carried as hi + lo so e^{-z^2} keeps full precision.
  const F h = V::mul(x, V::set1(0.5f));
  const F xx = V::mul(x, x);
  const F zz_hi = V::mul(xx, V::set1(0.5f));
  const F zz_lo = V::mul(V::fmsub(x, x, xx), V::set1(0.5f));
  const F az = V::mul(V::abs(x), V::set1(0.7071067690849304f));
  F q;
  if constexpr (ExactErf) {
    q = erfc_large_v<V>(V::abs(x), zz_hi, zz_lo);
  } else {
    // erf(a) = 1 - t P(t) e^{-a^2}, t = 1/(1 + p a); t P(t) in float64 (its
    // float32 evaluation near a = 0 costs ~6 ulp).
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
  if constexpr (ExactErf) {
    // |z| < 0.45: the erf series, 0.5 x + 0.5 x erf(z).
    const F z = V::mul(x, V::set1(0.7071067690849304f));
    r = V::select(V::lt(az, V::set1(0.45f)), V::fmadd(h, erf_small_v<V>(z), h), r);
  }
  // Far right the result is x, far left -0 (NaN at -inf, as generic); this
  // also keeps inf * 0 out of the formulas above.
  r = V::select(V::lt(x, V::set1(-20.0f)), V::mul(x, zero), r);
  return V::select(V::gt(x, V::set1(10.0f)), x, r);
}

template <>
struct Act<ActKind::kGelu> {  // 0.5 x (1 + erf(x / sqrt 2)), erf exact (Keras)
  TFJS_INFER_HOST_DEVICE static float scalar(const ActParams&, float xf) {
    const double x = xf;
    return static_cast<float>(0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))));
  }
  template <class V>
  static VecF<V> vec(const ActParams&, VecF<V> x) {
    return gelu_v<V, true>(x);
  }
};

template <>
struct Act<ActKind::kGeluTfjs> {  // 0.5 x (1 + erf(x / sqrt 2)), erf by A&S 7.1.26 (TF.js)
  TFJS_INFER_HOST_DEVICE static float scalar(const ActParams&, float xf) {
    const double x = xf;
    return static_cast<float>(0.5 * x * (1.0 + erf_tfjs(x / std::sqrt(2.0))));
  }
  template <class V>
  static VecF<V> vec(const ActParams&, VecF<V> x) {
    return gelu_v<V, false>(x);
  }
};

template <>
struct Act<ActKind::kGeluTanh> {  // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
  TFJS_INFER_HOST_DEVICE static float scalar(const ActParams&, float xf) {
    const double x = xf;
    const double c = std::sqrt(2.0 / 3.14159265358979323846);
    return static_cast<float>(0.5 * x * (1.0 + std::tanh(c * (x + 0.044715 * x * x * x))));
  }
  template <class V>
  static VecF<V> vec(const ActParams&, VecF<V> x) {
    // 0.5 x (1 + tanh(u)) = x sigmoid(2u) = x / (1 + e^{-2u}), 2u = x (k1 + k2 x^2).
    // e^{-2u} is sensitive to the rounding of 2u (|2u| ulp), so 2u is formed in
    // float64 and carried as hi + lo: e^{-|hi| - lo'} = e^{-|hi|} (1 - lo').
    using D = typename V::D2;
    using F = VecF<V>;
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
    return V::div(V::select(V::ge(y, V::zero()), x, V::mul(x, t)), V::add(V::set1(1.0f), t));
  }
};

template <>
struct Act<ActKind::kThresholdedRelu> {  // x > alpha ? x : 0
  // TF.js and Keras: x * (x > theta), so NaN and -inf give NaN.
  TFJS_INFER_HOST_DEVICE static float scalar(const ActParams& p, float x) {
    return x > p.alpha ? x : x * 0.0f;
  }
  template <class V>
  static VecF<V> vec(const ActParams& p, VecF<V> x) {
    return V::select(V::gt(x, V::set1(p.alpha)), x, V::mul(x, V::zero()));
  }
};

template <>
struct Act<ActKind::kExp> {
  TFJS_INFER_HOST_DEVICE static float scalar(const ActParams&, float x) {
    return static_cast<float>(std::exp(static_cast<double>(x)));
  }
  template <class V>
  static VecF<V> vec(const ActParams&, VecF<V> x) {
    return exp_v<V>(x);
  }
};

}  // namespace
}  // namespace tfjs_infer::kernels
