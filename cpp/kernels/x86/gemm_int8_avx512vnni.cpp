// int8 GEMM with AVX512-VNNI: each A row quantized per call to u8 with its own
// scale and zero point, B prepacked as s8 per column, vpdpbusd into exact
// int32 sums, dequantized in the epilogue (kernels/lowp.h; driver: lowp_x86.h).
#include <cmath>

#include "kernels/x86/lowp_x86.h"

namespace tfjs_infer::kernels::avx512vnni {
namespace {

struct Int8 {
  using Acc = __m512i;
  static constexpr int kPerWord = 4;

  static void prepare(const float* x, int64_t k, int64_t words, uint8_t* dst, RowQuant* rq) {
    __m512 lo = _mm512_setzero_ps(), hi = _mm512_setzero_ps();
    __mmask16 nan = 0;
    for (int64_t i = 0; i < k; i += 16) {
      const __mmask16 m = k - i >= 16 ? 0xffff : static_cast<__mmask16>((1u << (k - i)) - 1u);
      const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
      lo = _mm512_min_ps(v, lo);  // a NaN v keeps the second operand
      hi = _mm512_max_ps(v, hi);
      nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    }
    *rq = lowp_row_params(_mm512_reduce_min_ps(lo), nan ? NAN : _mm512_reduce_max_ps(hi));
    const int64_t n = words * 4;
    if (!std::isfinite(rq->scale)) {
      for (int64_t i = 0; i < n; ++i) dst[i] = 0;
      return;
    }
    const __m512 inv = _mm512_set1_ps(rq->inv);
    const __m512i zp = _mm512_set1_epi32(rq->zp);
    const __m512i top = _mm512_set1_epi32(255);
    for (int64_t i = 0; i < n; i += 16) {
      const int64_t left = k - i;
      const __mmask16 in = left >= 16 ? 0xffff
                           : left > 0 ? static_cast<__mmask16>((1u << left) - 1u)
                                      : 0;
      const __mmask16 out = n - i >= 16 ? 0xffff : static_cast<__mmask16>((1u << (n - i)) - 1u);
      const __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(in, x + i), inv);
      __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(v), zp);
      q = _mm512_min_epi32(_mm512_max_epi32(q, _mm512_setzero_si512()), top);
      q = _mm512_maskz_mov_epi32(in, q);  // the k pad is zero
      _mm_mask_storeu_epi8(dst + i, out, _mm512_cvtepi32_epi8(q));
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

  static __m512 to_float(Acc acc, const RowQuant& rq, const float* col_scale,
                         const int32_t* col_sum) {
    const __m512i sums = _mm512_loadu_si512(col_sum);
    const __m512i v = _mm512_sub_epi32(acc, _mm512_mullo_epi32(_mm512_set1_epi32(rq.zp), sums));
    const __m512 s = _mm512_mul_ps(_mm512_set1_ps(rq.scale), _mm512_loadu_ps(col_scale));
    return _mm512_mul_ps(_mm512_cvtepi32_ps(v), s);
  }
};

}  // namespace

void gemm_int8(const GemmArgs& g, const void* packed) { lowp_gemm<Int8>(g, packed); }

}  // namespace tfjs_infer::kernels::avx512vnni
