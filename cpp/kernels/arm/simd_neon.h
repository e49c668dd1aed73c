// AArch64 Advanced SIMD (NEON) vector traits for the shared kernel templates
// in kernels/simd/. Mirrors x86/simd_avx2.h operation for operation, including
// x86's min/max NaN rule, so the templates compute the same bits.
//
// Include only from *_neon.cpp files; everything is in an anonymous namespace.
#pragma once

#include <arm_neon.h>

#include <cstdint>

namespace tfjs_infer::kernels {
namespace {

struct VecNeon {
  using F = float32x4_t;
  using M = uint32x4_t;  // all-ones / all-zeros lanes
  static constexpr int kW = 4;

  static F zero() { return vdupq_n_f32(0.0f); }
  static F set1(float x) { return vdupq_n_f32(x); }
  static F loadu(const float* p) { return vld1q_f32(p); }
  static void storeu(float* p, F v) { vst1q_f32(p, v); }
  // Lanes [0, n) of p (n in [0, kW]); memory past them is never touched.
  static F load_n(const float* p, int64_t n) { return load_n_or(p, n, zero()); }
  static F load_n_or(const float* p, int64_t n, F fill) {
    float tmp[4];
    vst1q_f32(tmp, fill);
    for (int64_t i = 0; i < n; ++i) tmp[i] = p[i];
    return vld1q_f32(tmp);
  }
  static void store_n(float* p, F v, int64_t n) {
    float tmp[4];
    vst1q_f32(tmp, v);
    for (int64_t i = 0; i < n; ++i) p[i] = tmp[i];
  }

  static F add(F a, F b) { return vaddq_f32(a, b); }
  static F sub(F a, F b) { return vsubq_f32(a, b); }
  static F mul(F a, F b) { return vmulq_f32(a, b); }
  static F div(F a, F b) { return vdivq_f32(a, b); }
  static F fmadd(F a, F b, F c) { return vfmaq_f32(c, a, b); }             // a*b + c
  static F fnmadd(F a, F b, F c) { return vfmsq_f32(c, a, b); }            // c - a*b
  static F fmsub(F a, F b, F c) { return vnegq_f32(vfmsq_f32(c, a, b)); }  // a*b - c
  // x86 semantics: when either operand is NaN the second operand is returned.
  static F max(F a, F b) { return vbslq_f32(vcgtq_f32(a, b), a, b); }
  static F min(F a, F b) { return vbslq_f32(vcltq_f32(a, b), a, b); }
  static F abs(F a) { return vabsq_f32(a); }
  static F sign_bits(F a) {
    return vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(a), vdupq_n_u32(0x80000000u)));
  }
  static F xor_bits(F a, F b) {
    return vreinterpretq_f32_u32(veorq_u32(vreinterpretq_u32_f32(a), vreinterpretq_u32_f32(b)));
  }
  static F round_nearest(F a) { return vrndnq_f32(a); }  // ties to even, as x86
  // 2^n for float-valued integers n in [-126, 127].
  static F pow2(F n) {
    const int32x4_t e = vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127));
    return vreinterpretq_f32_s32(vshlq_n_s32(e, 23));
  }

  static M lt(F a, F b) { return vcltq_f32(a, b); }
  static M le(F a, F b) { return vcleq_f32(a, b); }
  static M gt(F a, F b) { return vcgtq_f32(a, b); }
  static M ge(F a, F b) { return vcgeq_f32(a, b); }
  static M is_nan(F a) { return vmvnq_u32(vceqq_f32(a, a)); }
  static M mask_or(M a, M b) { return vorrq_u32(a, b); }
  static bool all(M m) { return vminvq_u32(m) == 0xFFFFFFFFu; }  // every lane set
  // m ? t : f, lane by lane.
  static F select(M m, F t, F f) { return vbslq_f32(m, t, f); }

  using D2 = float64x2_t;
  static D2 dzero() { return vdupq_n_f64(0.0); }
  static void add_to_f64(D2& acc_lo, D2& acc_hi, F v) {
    acc_lo = vaddq_f64(acc_lo, vcvt_f64_f32(vget_low_f32(v)));
    acc_hi = vaddq_f64(acc_hi, vcvt_high_f64_f32(v));
  }
  // Lane sum in a fixed tree, whatever the data.
  static double dsum(D2 lo, D2 hi) {
    const float64x2_t s = vaddq_f64(lo, hi);
    return vgetq_lane_f64(s, 0) + vgetq_lane_f64(s, 1);
  }
  // float64 halves of a float vector (lanes [0, W/2) and [W/2, W)), and back.
  static void widen(F v, D2& lo, D2& hi) {
    lo = vcvt_f64_f32(vget_low_f32(v));
    hi = vcvt_high_f64_f32(v);
  }
  static F narrow(D2 lo, D2 hi) { return vcvt_high_f32_f64(vcvt_f32_f64(lo), hi); }
  static D2 dset1(double x) { return vdupq_n_f64(x); }
  static D2 dadd(D2 a, D2 b) { return vaddq_f64(a, b); }
  static D2 dsub(D2 a, D2 b) { return vsubq_f64(a, b); }
  static D2 dmul(D2 a, D2 b) { return vmulq_f64(a, b); }
  static D2 ddiv(D2 a, D2 b) { return vdivq_f64(a, b); }
  static D2 dfmadd(D2 a, D2 b, D2 c) { return vfmaq_f64(c, a, b); }  // a*b + c
  // Lane max; NaN lanes may or may not win (callers do not depend on it).
  static float hmax(F v) { return vmaxvq_f32(v); }
  // float64 lanes: (float(v) - a) - b rounded once to float.
  static F sub2_f64(F v, double a, double b) {
    const float64x2_t ad = vdupq_n_f64(a), bd = vdupq_n_f64(b);
    const float64x2_t lo = vsubq_f64(vsubq_f64(vcvt_f64_f32(vget_low_f32(v)), ad), bd);
    const float64x2_t hi = vsubq_f64(vsubq_f64(vcvt_high_f64_f32(v), ad), bd);
    return vcvt_high_f32_f64(vcvt_f32_f64(lo), hi);
  }
};

}  // namespace
}  // namespace tfjs_infer::kernels
