// AVX-512 (F/BW/DQ/VL) vector traits for the shared x86 kernel templates.
//
// Include only from *_avx512.cpp files. Everything is in an anonymous
// namespace so each translation unit gets its own internal copy: no inline
// symbol compiled with -mavx512f can be merged into baseline code.
#pragma once

// GCC 12's AVX-512 intrinsics start from _mm512_undefined_ps() (__Y = __Y),
// which -Wmaybe-uninitialized reports at every inlined call (GCC PR 105593,
// fixed in GCC 13). The rest of this translation unit is ours; silence it.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <immintrin.h>

#include <cstdint>

namespace tfjs_infer::kernels {
namespace {

struct VecAvx512 {
  using F = __m512;   // 16 floats
  using I = __m512i;  // 16 int32
  using M = __mmask16;
  static constexpr int kW = 16;

  static F zero() { return _mm512_setzero_ps(); }
  static F set1(float x) { return _mm512_set1_ps(x); }
  static F loadu(const float* p) { return _mm512_loadu_ps(p); }
  static void storeu(float* p, F v) { _mm512_storeu_ps(p, v); }
  // Lanes [0, n) set; n in [0, kW].
  static M first_n(int64_t n) { return static_cast<M>((1u << n) - 1u); }
  // Masked-off lanes read as 0 and are never touched in memory.
  static F load_n(const float* p, int64_t n) { return _mm512_maskz_loadu_ps(first_n(n), p); }
  static void store_n(float* p, F v, int64_t n) { _mm512_mask_storeu_ps(p, first_n(n), v); }
  // Masked-off lanes read as `fill`.
  static F load_n_or(const float* p, int64_t n, F fill) {
    return _mm512_mask_loadu_ps(fill, first_n(n), p);
  }

  static F add(F a, F b) { return _mm512_add_ps(a, b); }
  static F sub(F a, F b) { return _mm512_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F div(F a, F b) { return _mm512_div_ps(a, b); }
  static F fmadd(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }    // a*b + c
  static F fmsub(F a, F b, F c) { return _mm512_fmsub_ps(a, b, c); }    // a*b - c
  static F fnmadd(F a, F b, F c) { return _mm512_fnmadd_ps(a, b, c); }  // c - a*b
  // x86 max/min: when either operand is NaN the second operand is returned.
  static F max(F a, F b) { return _mm512_max_ps(a, b); }
  static F min(F a, F b) { return _mm512_min_ps(a, b); }
  static F abs(F a) {
    return _mm512_castsi512_ps(
        _mm512_and_si512(_mm512_castps_si512(a), _mm512_set1_epi32(0x7fffffff)));
  }
  static F sign_bits(F a) {
    return _mm512_castsi512_ps(
        _mm512_and_si512(_mm512_castps_si512(a), _mm512_set1_epi32(INT32_MIN)));
  }
  static F xor_bits(F a, F b) {
    return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(a), _mm512_castps_si512(b)));
  }
  static F round_nearest(F a) {
    return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  // 2^n for float-valued integers n in [-126, 127].
  static F pow2(F n) {
    const I e = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
    return _mm512_castsi512_ps(_mm512_slli_epi32(e, 23));
  }

  static M lt(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static M le(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_LE_OQ); }
  static M gt(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
  static M ge(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
  static M is_nan(F a) { return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q); }
  static M mask_or(M a, M b) { return static_cast<M>(a | b); }
  static bool all(M m) { return m == 0xFFFF; }  // every lane set
  // m ? t : f, lane by lane.
  static F select(M m, F t, F f) { return _mm512_mask_blend_ps(m, f, t); }

  // Lane sum in a fixed tree: ((l0+l8)+(l4+l12))+... as float64, whatever
  // the data; used where a reduction order must not depend on the caller.
  static void add_to_f64(__m512d& acc_lo, __m512d& acc_hi, F v) {
    acc_lo = _mm512_add_pd(acc_lo, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
    acc_hi = _mm512_add_pd(
        acc_hi, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))));
  }
  using D2 = __m512d;
  static D2 dzero() { return _mm512_setzero_pd(); }
  static double dsum(D2 lo, D2 hi) {
    __m512d s = _mm512_add_pd(lo, hi);
    __m256d s4 = _mm256_add_pd(_mm512_castpd512_pd256(s), _mm512_extractf64x4_pd(s, 1));
    __m128d s2 = _mm_add_pd(_mm256_castpd256_pd128(s4), _mm256_extractf128_pd(s4, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s2, _mm_unpackhi_pd(s2, s2)));
  }
  // float64 halves of a float vector (lanes [0, W/2) and [W/2, W)), and back.
  static void widen(F v, D2& lo, D2& hi) {
    lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
    hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
  }
  static F narrow(D2 lo, D2 hi) {
    return _mm512_insertf32x8(_mm512_castps256_ps512(_mm512_cvtpd_ps(lo)), _mm512_cvtpd_ps(hi), 1);
  }
  static D2 dset1(double x) { return _mm512_set1_pd(x); }
  static D2 dadd(D2 a, D2 b) { return _mm512_add_pd(a, b); }
  static D2 dsub(D2 a, D2 b) { return _mm512_sub_pd(a, b); }
  static D2 dmul(D2 a, D2 b) { return _mm512_mul_pd(a, b); }
  static D2 ddiv(D2 a, D2 b) { return _mm512_div_pd(a, b); }
  static D2 dfmadd(D2 a, D2 b, D2 c) { return _mm512_fmadd_pd(a, b, c); }
  // Lane max; NaN lanes may or may not win (callers do not depend on it).
  static float hmax(F v) { return _mm512_reduce_max_ps(v); }
  // float64 lanes: (float(v) - a) - b rounded once to float.
  static F sub2_f64(F v, double a, double b) {
    const __m512d ad = _mm512_set1_pd(a), bd = _mm512_set1_pd(b);
    const __m256 lo = _mm512_cvtpd_ps(
        _mm512_sub_pd(_mm512_sub_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(v)), ad), bd));
    const __m256 hi = _mm512_cvtpd_ps(_mm512_sub_pd(
        _mm512_sub_pd(
            _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))), ad),
        bd));
    return _mm512_insertf32x8(_mm512_castps256_ps512(lo), hi, 1);
  }
};

}  // namespace
}  // namespace tfjs_infer::kernels
