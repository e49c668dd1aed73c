// bf16 GEMM with AVX512-BF16: A rows rounded to bfloat16 per call
// (vcvtneps2bf16, round to nearest even), B prepacked in k pairs, vdpbf16ps
// into float32 accumulators (kernels/lowp.h; driver: lowp_x86.h).
#include "kernels/x86/lowp_x86.h"

namespace tfjs_infer::kernels::avx512bf16 {
namespace {

struct Bf16 {
  using Acc = __m512;
  static constexpr int kPerWord = 2;

  static void prepare(const float* x, int64_t k, int64_t words, uint8_t* dst, RowQuant*) {
    uint16_t* out = reinterpret_cast<uint16_t*>(dst);
    const int64_t n = words * 2;  // k rounded up to even: the pad is zero
    for (int64_t i = 0; i < n; i += 16) {
      const int64_t left = k - i;
      const __mmask16 in = left >= 16 ? 0xffff
                           : left > 0 ? static_cast<__mmask16>((1u << left) - 1u)
                                      : 0;
      const __mmask16 out_mask =
          n - i >= 16 ? 0xffff : static_cast<__mmask16>((1u << (n - i)) - 1u);
      const __m256bh h = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(in, x + i));
      _mm256_mask_storeu_epi16(out + i, out_mask, reinterpret_cast<const __m256i&>(h));
    }
  }

  static void prepare_rows(const float* a, int64_t lda, int64_t rows, int64_t k, int64_t words,
                           uint8_t* dst, int64_t dst_stride, RowQuant* rq) {
    for (int64_t i = 0; i < rows; ++i) prepare(a + i * lda, k, words, dst + i * dst_stride, rq + i);
  }

  static Acc zero() { return _mm512_setzero_ps(); }

  // In asm, as the int8 kernel's vpdpbusd: with the intrinsic GCC 12 copies
  // each accumulator every k step and spills the tile; "+v" keeps it in place.
  static Acc step(Acc acc, __m512i a, __m512i b) {
#if defined(__GNUC__)
    asm("vdpbf16ps %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
    return acc;
#else
    return _mm512_dpbf16_ps(acc, reinterpret_cast<const __m512bh&>(a),
                            reinterpret_cast<const __m512bh&>(b));
#endif
  }

  struct Col {};
  struct Row {};
  static Col col(const float*, const int32_t*) { return {}; }
  static Row row(const RowQuant&) { return {}; }
  static __m512 to_float(Acc acc, Row, Col) { return acc; }
};

}  // namespace

void gemm_bf16(const GemmArgs& g, const void* packed) { lowp_gemm<Bf16>(g, packed); }

}  // namespace tfjs_infer::kernels::avx512bf16
