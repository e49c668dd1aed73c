// The AVX512-VNNI int8 traits of lowp_gemm (kernels/x86/lowp_x86.h): A rows
// quantized to u8 (range, parameters, quantize), vpdpbusd, and the dequant of
// the epilogue. Shared by the AVX512-VNNI GEMM (gemm_int8_avx512vnni.cpp) and
// the AMX-INT8 GEMM (gemm_int8_amxint8.cpp, whose flags include VNNI's), so
// both quantize A and dequantize the sums with the same instructions: the
// same bits.
//
// Include only from those ISAs' translation units; in an anonymous namespace.
#pragma once

#include <cmath>
#include <cstring>

#include "kernels/x86/lowp_x86.h"

namespace tfjs_infer::kernels {
namespace {

struct Int8Vnni {
  using Acc = __m512i;
  static constexpr int kPerWord = 4;

  // A row's range: *lo = min(0, min x), *hi = max(0, max x), NaN when the
  // row holds a NaN.
  static void range(const float* x, int64_t k, float* lo, float* hi) {
    __m512 lo0 = _mm512_setzero_ps(), hi0 = lo0, lo1 = lo0, hi1 = lo0;
    __mmask16 nan = 0;
    int64_t i = 0;
    for (; i + 32 <= k; i += 32) {  // two chains: min/max latency, not width, bounds short rows
      const __m512 v0 = _mm512_loadu_ps(x + i), v1 = _mm512_loadu_ps(x + i + 16);
      lo0 = _mm512_min_ps(v0, lo0);  // a NaN v keeps the second operand
      hi0 = _mm512_max_ps(v0, hi0);
      lo1 = _mm512_min_ps(v1, lo1);
      hi1 = _mm512_max_ps(v1, hi1);
      nan |= _mm512_cmp_ps_mask(v0, v1, _CMP_UNORD_Q);
    }
    for (; i < k; i += 16) {
      const __mmask16 m = k - i >= 16 ? 0xffff : static_cast<__mmask16>((1u << (k - i)) - 1u);
      const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
      lo0 = _mm512_min_ps(v, lo0);
      hi0 = _mm512_max_ps(v, hi0);
      nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    }
    *lo = _mm512_reduce_min_ps(_mm512_min_ps(lo0, lo1));
    *hi = nan ? NAN : _mm512_reduce_max_ps(_mm512_max_ps(hi0, hi1));
  }

  // row_params_inline (kernels/lowp.h) for 16 rows at once, the same IEEE
  // steps (min/max against +0 as its comparisons, exact divisions, rint):
  // the scalar rule's latency chain per row cost as much as short rows.
  static void params16(const float* lo_in, const float* hi_in, int64_t count, RowQuant* rq) {
    const __mmask16 live = count >= 16 ? 0xffff : static_cast<__mmask16>((1u << count) - 1u);
    const __m512 zero = _mm512_setzero_ps(), one = _mm512_set1_ps(1.0f);
    const __m512 lo_raw = _mm512_maskz_loadu_ps(live, lo_in);
    const __m512 hi_raw = _mm512_maskz_loadu_ps(live, hi_in);
    const __mmask16 bad = _mm512_fpclass_ps_mask(lo_raw, 0x99) |
                          _mm512_fpclass_ps_mask(hi_raw, 0x99) |
                          _mm512_fpclass_ps_mask(_mm512_sub_ps(hi_raw, lo_raw), 0x99);
    const __m512 lo = _mm512_min_ps(lo_raw, zero);  // equal zeros give the second: +0
    const __m512 hi = _mm512_max_ps(hi_raw, zero);
    const __mmask16 flat_eq = _mm512_cmp_ps_mask(hi, lo, _CMP_EQ_OQ);
    const __m512 scale = _mm512_div_ps(_mm512_sub_ps(hi, lo), _mm512_set1_ps(255.0f));
    const __m512 inv_raw = _mm512_div_ps(one, scale);
    // A range too small for 1 / s to be finite counts as flat, as hi == lo.
    const __mmask16 flat = flat_eq | _mm512_fpclass_ps_mask(inv_raw, 0x99);
    const __m512 inv = inv_raw;
    const __m512 neg_lo = _mm512_xor_ps(lo, _mm512_set1_ps(-0.0f));
    __m512 zp = _mm512_roundscale_ps(_mm512_mul_ps(neg_lo, inv),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    zp = _mm512_min_ps(zp, _mm512_set1_ps(255.0f));
    const __mmask16 plain =
        static_cast<__mmask16>(bad | flat);  // scale 1 (NaN if bad), inv 1, zp 0
    alignas(64) float s[16], v[16];
    alignas(64) int32_t z[16];
    _mm512_store_ps(
        s, _mm512_mask_blend_ps(bad, _mm512_mask_blend_ps(flat, scale, one), _mm512_set1_ps(NAN)));
    _mm512_store_ps(v, _mm512_mask_blend_ps(plain, inv, one));
    _mm512_store_si512(z, _mm512_maskz_cvttps_epi32(static_cast<__mmask16>(~plain), zp));
    for (int64_t r = 0; r < count && r < 16; ++r) rq[r] = RowQuant{s[r], v[r], z[r]};
  }

  // The range pass is the first touch of each A row (a conv's input streams
  // from memory): ask for the row kAhead rows on while this one is scanned.
  static constexpr int64_t kAhead = 4;
  static void prefetch_row(const float* x, int64_t k) {
    for (int64_t i = 0; i < k; i += 16)
      _mm_prefetch(reinterpret_cast<const char*>(x + i), _MM_HINT_T0);
  }

  // A block of rows to u8 (kernels/lowp.h): every row's range, the
  // parameters 16 rows at a time, then each row quantized.
  static void prepare_rows(const float* a, int64_t lda, int64_t rows, int64_t k, int64_t words,
                           uint8_t* dst, int64_t dst_stride, RowQuant* rq) {
    alignas(64) float lo[16], hi[16];
    for (int64_t r0 = 0; r0 < rows; r0 += 16) {
      const int64_t count = rows - r0 < 16 ? rows - r0 : 16;
      for (int64_t r = 0; r < count; ++r) {
        if (r0 + r + kAhead < rows) prefetch_row(a + (r0 + r + kAhead) * lda, k);
        range(a + (r0 + r) * lda, k, &lo[r], &hi[r]);
      }
      params16(lo, hi, count, rq + r0);
      for (int64_t r = 0; r < count; ++r)
        quantize(a + (r0 + r) * lda, k, words, dst + (r0 + r) * dst_stride, rq[r0 + r]);
    }
  }

  // One row with its parameters: rint(x inv) + zp clamped to [0, 255];
  // bytes past k are zero. Whole vectors unmasked.
  static void quantize(const float* x, int64_t k, int64_t words, uint8_t* dst, const RowQuant& q) {
    const RowQuant* rq = &q;
    int64_t i = 0;
    const int64_t n = words * 4;
    if (!std::isfinite(rq->scale)) {
      std::memset(dst, 0, static_cast<size_t>(n));
      return;
    }
    const __m512 inv = _mm512_set1_ps(rq->inv);
    const __m512i zp = _mm512_set1_epi32(rq->zp);
    const __m512i zero = _mm512_setzero_si512();
    // 64 values at a time: packssdw (the sums lie within +-600, no
    // saturation) then packuswb, whose unsigned saturation is the clamp to
    // [0, 255]; vpermd puts the 4-byte groups the per-lane packs interleave
    // back in order. Five instructions where vpmovusdb needed sixteen.
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    i = 0;
    for (; i + 64 <= k; i += 64) {
      __m512i q[4];
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j)
        q[j] = _mm512_add_epi32(
            _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + i + 16 * j), inv)), zp);
      const __m512i bytes =
          _mm512_packus_epi16(_mm512_packs_epi32(q[0], q[1]), _mm512_packs_epi32(q[2], q[3]));
      _mm512_storeu_si512(dst + i, _mm512_permutexvar_epi32(order, bytes));
    }
    // Values >= 0 after the max; vpmovusdb saturates the rest to 255.
    for (; i + 16 <= k; i += 16) {
      const __m512i q =
          _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + i), inv)), zp);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i),
                       _mm512_cvtusepi32_epi8(_mm512_max_epi32(q, zero)));
    }
    for (; i < n; i += 16) {  // the tail of k, then the zero pad up to n
      const int64_t left = k - i;
      const __mmask16 in = left >= 16 ? 0xffff
                           : left > 0 ? static_cast<__mmask16>((1u << left) - 1u)
                                      : 0;
      const __mmask16 out = n - i >= 16 ? 0xffff : static_cast<__mmask16>((1u << (n - i)) - 1u);
      const __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(in, x + i), inv);
      const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(v), zp);
      _mm_mask_storeu_epi8(dst + i, out,
                           _mm512_maskz_cvtusepi32_epi8(in, _mm512_max_epi32(q, zero)));
    }
  }

  static Acc zero() { return _mm512_setzero_si512(); }

  // vpdpbusd in asm: its accumulator is both source and destination, and
  // GCC 12 allocates the intrinsic's result apart from the source, copying
  // every accumulator each k step and spilling a 24-accumulator tile to the
  // stack (half the kernel's time). "+v" updates it in place.
  static Acc step(Acc acc, __m512i a, __m512i b) {
#if defined(__GNUC__)
    asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
    return acc;
#else
    return _mm512_dpbusd_epi32(acc, a, b);
#endif
  }

  // float(acc - zp colsum) * (s_a scale_w) (kernels/lowp.h), its factors
  // loaded once per tile (columns) and once per row.
  struct Col {
    __m512 scale;
    __m512i sum;
  };
  struct Row {
    __m512 scale;
    __m512i zp;
  };
  static Col col(const float* col_scale, const int32_t* col_sum) {
    return {_mm512_loadu_ps(col_scale), _mm512_loadu_si512(col_sum)};
  }
  static Row row(const RowQuant& rq) {
    return {_mm512_set1_ps(rq.scale), _mm512_set1_epi32(rq.zp)};
  }
  static __m512 to_float(Acc acc, const Row& r, const Col& c) {
    const __m512i v = _mm512_sub_epi32(acc, _mm512_mullo_epi32(r.zp, c.sum));
    return _mm512_mul_ps(_mm512_cvtepi32_ps(v), _mm512_mul_ps(r.scale, c.scale));
  }
};

}  // namespace
}  // namespace tfjs_infer::kernels
