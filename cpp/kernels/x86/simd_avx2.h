// AVX2 + FMA vector traits for the shared x86 kernel templates.
//
// Include only from *_avx2.cpp files. Everything is in an anonymous
// namespace so each translation unit gets its own internal copy: no inline
// symbol compiled with -mavx2 can be merged into baseline code.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace tfjs_infer::kernels {
namespace {

struct VecAvx2 {
  using F = __m256;  // 8 floats
  using I = __m256i;
  using M = __m256;  // all-ones / all-zeros lanes
  static constexpr int kW = 8;

  static F zero() { return _mm256_setzero_ps(); }
  static F set1(float x) { return _mm256_set1_ps(x); }
  static F loadu(const float* p) { return _mm256_loadu_ps(p); }
  static void storeu(float* p, F v) { _mm256_storeu_ps(p, v); }
  static I first_n_i(int64_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  // Lanes [0, n) set; n in [0, kW].
  static M first_n(int64_t n) { return _mm256_castsi256_ps(first_n_i(n)); }
  // Masked-off lanes read as 0 and are never touched in memory.
  static F load_n(const float* p, int64_t n) { return _mm256_maskload_ps(p, first_n_i(n)); }
  static void store_n(float* p, F v, int64_t n) { _mm256_maskstore_ps(p, first_n_i(n), v); }
  // Masked-off lanes read as `fill`.
  static F load_n_or(const float* p, int64_t n, F fill) {
    const I m = first_n_i(n);
    return _mm256_blendv_ps(fill, _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
  }

  static F add(F a, F b) { return _mm256_add_ps(a, b); }
  static F sub(F a, F b) { return _mm256_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F div(F a, F b) { return _mm256_div_ps(a, b); }
  static F fmadd(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }    // a*b + c
  static F fmsub(F a, F b, F c) { return _mm256_fmsub_ps(a, b, c); }    // a*b - c
  static F fnmadd(F a, F b, F c) { return _mm256_fnmadd_ps(a, b, c); }  // c - a*b
  // x86 max/min: when either operand is NaN the second operand is returned.
  static F max(F a, F b) { return _mm256_max_ps(a, b); }
  static F min(F a, F b) { return _mm256_min_ps(a, b); }
  static F abs(F a) { return _mm256_and_ps(a, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff))); }
  static F sign_bits(F a) {
    return _mm256_and_ps(a, _mm256_castsi256_ps(_mm256_set1_epi32(INT32_MIN)));
  }
  static F xor_bits(F a, F b) { return _mm256_xor_ps(a, b); }
  static F round_nearest(F a) {
    return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  // 2^n for float-valued integers n in [-126, 127].
  static F pow2(F n) {
    const I e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
  }

  static M lt(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
  static M le(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_LE_OQ); }
  static M gt(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
  static M ge(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
  static M is_nan(F a) { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
  static M mask_or(M a, M b) { return _mm256_or_ps(a, b); }
  static bool all(M m) { return _mm256_movemask_ps(m) == 0xFF; }  // every lane set
  // m ? t : f, lane by lane.
  static F select(M m, F t, F f) { return _mm256_blendv_ps(f, t, m); }

  using D2 = __m256d;
  static D2 dzero() { return _mm256_setzero_pd(); }
  static void add_to_f64(D2& acc_lo, D2& acc_hi, F v) {
    acc_lo = _mm256_add_pd(acc_lo, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
    acc_hi = _mm256_add_pd(acc_hi, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
  }
  // Lane sum in a fixed tree, whatever the data.
  static double dsum(D2 lo, D2 hi) {
    const __m256d s4 = _mm256_add_pd(lo, hi);
    const __m128d s2 = _mm_add_pd(_mm256_castpd256_pd128(s4), _mm256_extractf128_pd(s4, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s2, _mm_unpackhi_pd(s2, s2)));
  }
  // float64 halves of a float vector (lanes [0, W/2) and [W/2, W)), and back.
  static void widen(F v, D2& lo, D2& hi) {
    lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
    hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
  }
  static F narrow(D2 lo, D2 hi) {
    return _mm256_insertf128_ps(_mm256_castps128_ps256(_mm256_cvtpd_ps(lo)), _mm256_cvtpd_ps(hi),
                                1);
  }
  static D2 dset1(double x) { return _mm256_set1_pd(x); }
  static D2 dadd(D2 a, D2 b) { return _mm256_add_pd(a, b); }
  static D2 dsub(D2 a, D2 b) { return _mm256_sub_pd(a, b); }
  static D2 dmul(D2 a, D2 b) { return _mm256_mul_pd(a, b); }
  static D2 ddiv(D2 a, D2 b) { return _mm256_div_pd(a, b); }
  static D2 dfmadd(D2 a, D2 b, D2 c) { return _mm256_fmadd_pd(a, b, c); }
  // Lane max; NaN lanes may or may not win (callers do not depend on it).
  static float hmax(F v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
  }
  // float64 lanes: (float(v) - a) - b rounded once to float.
  static F sub2_f64(F v, double a, double b) {
    const __m256d ad = _mm256_set1_pd(a), bd = _mm256_set1_pd(b);
    const __m128 lo = _mm256_cvtpd_ps(
        _mm256_sub_pd(_mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), ad), bd));
    const __m128 hi = _mm256_cvtpd_ps(
        _mm256_sub_pd(_mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), ad), bd));
    return _mm256_insertf128_ps(_mm256_castps128_ps256(lo), hi, 1);
  }
};

}  // namespace
}  // namespace tfjs_infer::kernels
