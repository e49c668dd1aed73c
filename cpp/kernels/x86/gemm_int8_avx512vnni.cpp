// int8 GEMM with AVX512-VNNI: each A row quantized per call to u8 with its own
// scale and zero point, B prepacked as s8 per column, vpdpbusd into exact
// int32 sums, dequantized in the epilogue (kernels/lowp.h; driver: lowp_x86.h).
#include "kernels/x86/int8_avx512vnni.h"

namespace tfjs_infer::kernels::avx512vnni {

using Int8 = Int8Vnni;

void gemm_int8(const GemmArgs& g, const void* packed) {
  const GemmBlocking& b = gemm_blocking();
  lowp_gemm<Int8>(g, packed, b.res_prefetch, b.int8_k_block_words);
}

void int8_range(const float* x, int64_t n, float* lo, float* hi) { Int8::range(x, n, lo, hi); }

void int8_quantize(const float* x, int64_t n, float inv, int32_t zp, uint8_t* dst) {
  // Whole 16-value vectors in the kernel's loop, the last n % 16 one by one
  // (the same rounding and clamp; no byte written past n).
  const int64_t vec = n / 16 * 16;
  RowQuant q;
  q.scale = 1.0f;
  q.inv = inv;
  q.zp = zp;
  if (vec > 0) Int8::quantize(x, vec, vec / 4, dst, q);
  for (int64_t i = vec; i < n; ++i) dst[i] = quantize_value(x[i], inv, zp);
}

}  // namespace tfjs_infer::kernels::avx512vnni
