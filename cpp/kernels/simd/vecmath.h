// Vectorized float32 math shared by the SIMD kernels, written once over a
// traits class V (x86/simd_avx2.h, x86/simd_avx512.h, arm/simd_neon.h). Every
// ISA runs the same operation sequence (explicit FMAs, x86 min/max NaN rules),
// so AVX2 and AVX-512 give bitwise identical results, and NEON should too.
//
// Include only from one ISA's translation units, with that ISA's traits; all
// in an anonymous namespace (internal linkage: no inline symbol compiled with
// ISA flags can be merged into baseline code).
//
// Accuracy, measured against float64 over every float32 input (or dense
// sweeps of the interesting range), in units of the float32 result's ulp;
// "abs" is the absolute error where results are tiny or subnormal:
//   exp_v      <= 1 ulp; overflow to inf above 88.7228, 0 below -103.97,
//              subnormal results correctly scaled.
//   expm1_v    <= 1 ulp for x in [-30, 0] (elu/selu use it for x < 0).
//   log1p01_v  log1p(t) for t in [0, 1]: <= 2 ulp (softplus: 2.63 overall).
//   tanh_v     <= 1.3 ulp.
//   sigmoid_v  <= 2 ulp; sigmoid(x) for x << 0 keeps relative accuracy down to
//              the subnormal range (abs <= 1.5e-45 there).
// The activation errors are listed in activation_simd.h.
#pragma once

#include <cstdint>

namespace tfjs_infer::kernels {
namespace {

constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693147182464599609375f;  // float(ln 2)
constexpr float kLn2Lo = -1.904654299957768e-09f;   // ln 2 - kLn2Hi

// e^r - 1 = r + r^2 P(r) on [-ln2/2, ln2/2] (Cephes expf coefficients).
template <class V>
inline typename V::F expm1_reduced(typename V::F r) {
  using F = typename V::F;
  F p = V::set1(1.9875691500e-4f);
  p = V::fmadd(p, r, V::set1(1.3981999507e-3f));
  p = V::fmadd(p, r, V::set1(8.3334519073e-3f));
  p = V::fmadd(p, r, V::set1(4.1665795894e-2f));
  p = V::fmadd(p, r, V::set1(1.6666665459e-1f));
  p = V::fmadd(p, r, V::set1(5.0000001201e-1f));
  return V::fmadd(V::mul(r, r), p, r);
}

// x = n ln2 + r with n integral (as float) and |r| <= ~0.35.
template <class V>
inline typename V::F exp_reduce(typename V::F x, typename V::F* n_out) {
  using F = typename V::F;
  const F n = V::round_nearest(V::mul(x, V::set1(kLog2e)));
  F r = V::fnmadd(n, V::set1(kLn2Hi), x);  // exact: the product has few bits
  r = V::fnmadd(n, V::set1(kLn2Lo), r);
  *n_out = n;
  return r;
}

template <class V>
inline typename V::F exp_v(typename V::F x) {
  using F = typename V::F;
  // Operand order keeps NaN: max/min return the second operand on NaN.
  x = V::min(V::set1(88.8f), V::max(V::set1(-104.0f), x));
  F n;
  const F q = expm1_reduced<V>(exp_reduce<V>(x, &n));
  // 2^n in two steps so that n in [-150, 128] scales correctly into the
  // subnormal range and overflows to inf.
  const F n1 = V::round_nearest(V::mul(n, V::set1(0.5f)));
  const F n2 = V::sub(n, n1);
  return V::mul(V::fmadd(q, V::pow2(n1), V::pow2(n1)), V::pow2(n2));
}

// e^x - 1 for x <= 88 (larger x is clamped); -1 below -30.
template <class V>
inline typename V::F expm1_v(typename V::F x) {
  using F = typename V::F;
  x = V::min(V::set1(88.0f), V::max(V::set1(-30.0f), x));
  F n;
  const F q = expm1_reduced<V>(exp_reduce<V>(x, &n));
  const F t = V::pow2(n);
  // 2^n (1 + q) - 1 = 2^n q + (2^n - 1); 2^n - 1 is exact for n in [-24, 24]
  // and the fma rounds once, so there is no cancellation near 0.
  return V::fmadd(t, q, V::sub(t, V::set1(1.0f)));
}

// log(1 + t) for t in [0, 1] (NaN passes through): 2 atanh(s), s = t/(2+t)
// in [0, 1/3]; 2 atanh(s) = 2s + s^3 L(s^2), L fitted (minimax) on [0, 1/9].
template <class V>
inline typename V::F log1p01_v(typename V::F t) {
  using F = typename V::F;
  const F s = V::div(t, V::add(t, V::set1(2.0f)));
  const F z = V::mul(s, s);
  F l = V::set1(0.23253782093524933f);
  l = V::fmadd(l, z, V::set1(0.21700040996074677f));
  l = V::fmadd(l, z, V::set1(0.2859281003475189f));
  l = V::fmadd(l, z, V::set1(0.39999696612358093f));
  l = V::fmadd(l, z, V::set1(0.6666666865348816f));
  return V::fmadd(V::mul(s, z), l, V::add(s, s));
}

// tanh with the e^x given: exp_v here; the RNN gates pass exp_normal_v.
template <class V, class Exp>
inline typename V::F tanh_with(typename V::F x, Exp exp) {
  using F = typename V::F;
  const F ax = V::abs(x);
  // |x| < 0.625: x + x^3 P(x^2) (Cephes tanhf coefficients).
  const F z = V::mul(x, x);
  F p = V::set1(-5.70498872745e-3f);
  p = V::fmadd(p, z, V::set1(2.06390887954e-2f));
  p = V::fmadd(p, z, V::set1(-5.37397155531e-2f));
  p = V::fmadd(p, z, V::set1(1.33314422036e-1f));
  p = V::fmadd(p, z, V::set1(-3.33332819422e-1f));
  const F small = V::fmadd(V::mul(x, z), p, x);
  // |x| >= 0.625: 1 - 2 / (e^{2|x|} + 1); tanh(9) rounds to 1.
  const F a9 = V::min(V::set1(9.0f), ax);
  const F e = exp(V::add(a9, a9));
  const F one = V::set1(1.0f);
  const F large = V::sub(one, V::div(V::set1(2.0f), V::add(e, one)));
  return V::select(V::lt(ax, V::set1(0.625f)), small, V::xor_bits(large, V::sign_bits(x)));
}

template <class V>
inline typename V::F tanh_v(typename V::F x) {
  return tanh_with<V>(x, [](typename V::F a) { return exp_v<V>(a); });
}

// 1 / (1 + e^-x), as e^x / (1 + e^x) for x < 0 so tiny results stay accurate;
// the e^x given, as for tanh_with.
template <class V, class Exp>
inline typename V::F sigmoid_with(typename V::F x, Exp exp) {
  using F = typename V::F;
  const F t = exp(V::xor_bits(V::abs(x), V::set1(-0.0f)));  // e^-|x|
  const F one = V::set1(1.0f);
  return V::div(V::select(V::ge(x, V::zero()), one, t), V::add(one, t));
}

template <class V>
inline typename V::F sigmoid_v(typename V::F x) {
  return sigmoid_with<V>(x, [](typename V::F a) { return exp_v<V>(a); });
}

template <class V>
inline typename V::F mul_sigmoid_v(typename V::F y, typename V::F x) {
  using F = typename V::F;
  const F t = exp_v<V>(V::xor_bits(V::abs(x), V::set1(-0.0f)));
  return V::div(V::select(V::ge(x, V::zero()), y, V::mul(y, t)), V::add(V::set1(1.0f), t));
}

// Exact erf for Keras gelu, in the forms the callers need. Returns
// erfc(|z|), z = x / sqrt 2, for |z| >= 0.45, given ax = |x| and z^2 =
// zz_hi + zz_lo exactly:
// erfc(a) = e^{-a^2} Q(a), Q(a) = erfc(a) e^{a^2} fitted (minimax, relative
// error 1.5e-9) as a degree-9 polynomial in t = 1 / (1 + a/2) on [0.4, 10].
// Q is evaluated in float64 (it is smooth but its float32 evaluation and the
// rounding of t cost ~3 ulp); e^{-a^2} in float32 with the lo correction.
template <class V>
inline typename V::F erfc_large_v(typename V::F ax, typename V::F zz_hi, typename V::F zz_lo) {
  using F = typename V::F;
  using D = typename V::D2;
  // t = 1 / (1 + z/2), z = |x| / sqrt 2, in float64.
  const D one = V::dset1(1.0);
  D x_lo, x_hi;
  V::widen(ax, x_lo, x_hi);
  auto t_of = [&](D xd) { return V::ddiv(one, V::dfmadd(xd, V::dset1(0.35355339059327376), one)); };
  auto q_of = [](D t) {
    D q = V::dset1(-0.07417569975405683);
    q = V::dfmadd(q, t, V::dset1(0.3502271736671431));
    q = V::dfmadd(q, t, V::dset1(-0.6091085441755147));
    q = V::dfmadd(q, t, V::dset1(0.40448580531466727));
    q = V::dfmadd(q, t, V::dset1(-0.10695229488241383));
    q = V::dfmadd(q, t, V::dset1(0.2349733350150023));
    q = V::dfmadd(q, t, V::dset1(0.23493026229782327));
    q = V::dfmadd(q, t, V::dset1(0.2836271241629197));
    q = V::dfmadd(q, t, V::dset1(0.28198150140585));
    return V::dfmadd(q, t, V::dset1(3.657248433208693e-06));
  };
  const F q = V::narrow(q_of(t_of(x_lo)), q_of(t_of(x_hi)));
  // e^{-(hi+lo)} = e^{-hi} (1 - lo) to float precision (|lo| <= ulp(hi)/2).
  F e = exp_v<V>(V::xor_bits(zz_hi, V::set1(-0.0f)));
  e = V::fnmadd(e, zz_lo, e);
  return V::mul(e, q);
}

// erf(z) = z E(z^2) for |z| <= 0.5 (minimax, relative error 1.4e-9).
template <class V>
inline typename V::F erf_small_v(typename V::F z) {
  using F = typename V::F;
  const F w = V::mul(z, z);
  F e = V::set1(0.004717990290373564f);
  e = V::fmadd(e, w, V::set1(-0.02675718441605568f));
  e = V::fmadd(e, w, V::set1(0.11282822489738464f));
  e = V::fmadd(e, w, V::set1(-0.37612608075141907f));
  e = V::fmadd(e, w, V::set1(1.1283791065216064f));
  return V::mul(z, e);
}

}  // namespace
}  // namespace tfjs_infer::kernels
