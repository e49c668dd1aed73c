// bf16 GEMM with AVX512-BF16: A rows rounded to bfloat16 per call
// (vcvtneps2bf16, round to nearest even), B prepacked in k pairs, vdpbf16ps
// into float32 accumulators (kernels/lowp.h; driver: lowp_x86.h).
#include "core/env_switch.h"
#include "kernels/gemm_blocking.h"
#include "kernels/x86/lowp_x86.h"

namespace tfjs_infer::kernels::avx512bf16 {
namespace {

struct Bf16 {
  using Acc = __m512;
  static constexpr int kPerWord = 2;

  // Values [i, n) of a row (n = the row's words * 2; values past k are zero).
  static void prepare_tail(const float* x, int64_t i, int64_t k, int64_t n, uint16_t* out) {
    for (; i < n; i += 16) {
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

  // 32 values at a time by vcvtne2ps2bf16 (the same rounding as
  // vcvtneps2bf16: the same bits), then the tail. See prepare_rows.
  static void prepare(const float* x, int64_t k, int64_t words, uint16_t* out) {
    int64_t i = 0;
    for (; i + 32 <= k; i += 32) {
      const __m512bh h = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(x + i));
      _mm512_storeu_si512(out + i, reinterpret_cast<const __m512i&>(h));
    }
    prepare_tail(x, i, k, words * 2, out);
  }

  // Rows stored back to back with an even k (a contiguous A, as the
  // project convolutions' depthwise output) are one array: converted
  // whole, without a short tail per row. The conversion took 12 % of
  // MobileNetV2's bf16 time at batch 32 (perf, Zen 4): its project GEMMs
  // have few columns (16-32) for each converted value.
  static void prepare_rows(const float* a, int64_t lda, int64_t rows, int64_t k, int64_t words,
                           uint8_t* dst, int64_t dst_stride, RowQuant*) {
    uint16_t* out = reinterpret_cast<uint16_t*>(dst);
    if (lda == k && words * 2 == k && dst_stride == k * 2 && !old_convert()) {
      prepare(a, rows * k, rows * words, out);
      return;
    }
    if (words * 2 <= 32 && !old_convert() && short_rows()) {
      prepare_short(a, lda, rows, k, words, out, dst_stride / 2);
      return;
    }
    for (int64_t i = 0; i < rows; ++i)
      if (old_convert())
        prepare_tail(a + i * lda, 0, k, words * 2, out + i * dst_stride / 2);
      else
        prepare(a + i * lda, k, words, out + i * dst_stride / 2);
  }

  // Rows of at most 32 values that are not one array (odd k: the im2col rows
  // of MobileNetV2's first layer, 27 taps), one vector per row: two masked
  // loads, one vcvtne2ps2bf16, one masked store (zeros from k to words * 2),
  // the masks set once. prepare's tail cost two masked passes per row with
  // their masks: 12544x27x32 took 191 us against 160 us for 12544x28x32 (the
  // same tiles, converted as one array), kernel alone, 1 thread, AMD EPYC
  // family 25 model 17 (Zen 4). Same bits (the same rounding, lowp.h).
  static void prepare_short(const float* a, int64_t lda, int64_t rows, int64_t k, int64_t words,
                            uint16_t* out, int64_t out_stride) {
    const __mmask16 lo = k >= 16 ? 0xffff : static_cast<__mmask16>((1u << k) - 1u);
    const __mmask16 hi = k > 16 ? static_cast<__mmask16>((1u << (k - 16)) - 1u) : 0;
    const __mmask32 keep = words * 2 >= 32 ? ~0u : (1u << (words * 2)) - 1u;
    for (int64_t i = 0; i < rows; ++i) {
      const float* x = a + i * lda;
      const __m512bh h =
          _mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(hi, x + 16), _mm512_maskz_loadu_ps(lo, x));
      _mm512_mask_storeu_epi16(out + i * out_stride, keep, reinterpret_cast<const __m512i&>(h));
    }
  }

  // TFJS_INFER_BF16_SHORT_ROWS=0: rows of at most 32 values through prepare
  // (before), for A/B measurements. Same bits.
  static bool short_rows() {
    static const bool on = !env_is("TFJS_INFER_BF16_SHORT_ROWS", "0");
    return on;
  }

  // TFJS_INFER_BF16_CONVERT=16: the conversion 16 values at a time, row by
  // row (before), for A/B measurements. Same bits.
  static bool old_convert() {
    static const bool old = env_is("TFJS_INFER_BF16_CONVERT", "16");
    return old;
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

  // A last panel of at most 8 columns on 256-bit vectors (lowp_x86.h
  // lowp_tile H) where lowp_bf16_half_panels() says (kernels/lowp.h; the
  // measurement behind it in kernels/cpu_params.cpp): the projections to 24
  // channels of MobileNetV2's blocks 1 and 2 (a second panel of 8 columns).
  static bool half_panels() { return lowp_bf16_half_panels(); }
  static __m256 step_half(__m256 acc, __m256i a, __m256i b) {
#if defined(__GNUC__)
    asm("vdpbf16ps %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
    return acc;
#else
    return _mm256_dpbf16_ps(acc, reinterpret_cast<const __m256bh&>(a),
                            reinterpret_cast<const __m256bh&>(b));
#endif
  }

  struct Col {};
  struct Row {};
  static Col col(const float*, const int32_t*) { return {}; }
  static Row row(const RowQuant&) { return {}; }
  static __m512 to_float(Acc acc, Row, Col) { return acc; }
};

// Bf16 with each A word read by vdpbf16ps itself as an embedded broadcast
// (lowp_x86.h T::step_mem) where lowp_bf16_mem_broadcast() says (kernels/
// lowp.h; the measurement behind it in kernels/cpu_params.cpp). The same
// products in the same order: the same bits.
struct Bf16Mem : Bf16 {
  // Tiles compiled for k = 16, 24, 32 (lowp_x86.h lowp_tiles_fixed_k) where
  // GemmBlocking::fixed_k says (kernels/cpu_params.cpp: Zen 4), unless
  // TFJS_INFER_BF16_FIXED_K=0 (for A/B measurements of the bf16 tiles
  // alone). Same bits.
  static bool fixed_k() {
    static const bool off = env_is("TFJS_INFER_BF16_FIXED_K", "0");
    return !off && gemm_blocking().fixed_k != 0;
  }
#if defined(__GNUC__)
  static Acc step_mem(Acc acc, const void* word, __m512i b) {
    asm("vdpbf16ps %2%{1to16%}, %1, %0"
        : "+v"(acc)
        : "v"(b), "m"(*static_cast<const int32_t*>(word)));
    return acc;
  }
  static __m256 step_half_mem(__m256 acc, const void* word, __m256i b) {
    asm("vdpbf16ps %2%{1to8%}, %1, %0"
        : "+v"(acc)
        : "v"(b), "m"(*static_cast<const int32_t*>(word)));
    return acc;
  }
#else
  static Acc step_mem(Acc acc, const void* word, __m512i b) {
    return step(acc, _mm512_set1_epi32(*static_cast<const int32_t*>(word)), b);
  }
  static __m256 step_half_mem(__m256 acc, const void* word, __m256i b) {
    return step_half(acc, _mm256_set1_epi32(*static_cast<const int32_t*>(word)), b);
  }
#endif
};

}  // namespace

void gemm_bf16(const GemmArgs& g, const void* packed) {
  if (lowp_bf16_mem_broadcast())
    lowp_gemm<Bf16Mem>(g, packed);
  else
    lowp_gemm<Bf16>(g, packed);
}

}  // namespace tfjs_infer::kernels::avx512bf16
