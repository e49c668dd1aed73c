// AVX-512 depthwise convolution whose results are stored as bfloat16 for a
// bf16 product that reads them as its A (kernels.h depthwise_bf16): the float
// kernel of depthwise_x86.h, every vector rounded by vcvtneps2bf16 (round to
// nearest even) as it is stored, the instruction gemm_bf16_avx512bf16.cpp
// rounds a float A with: the same bits, without the float store, its reload
// and the conversion pass in the GEMM.
#include "kernels/x86/simd_avx512.h"
// (blank line: keeps clang-format from reordering the includes)
#include "kernels/lowp.h"
#include "kernels/x86/depthwise_x86.h"

namespace tfjs_infer::kernels {
namespace {

struct VecAvx512ToBf16 : VecAvx512 {
  using DwOut = uint16_t;
  using VecAvx512::store_n;
  using VecAvx512::storeu;

  static __m256i round(F v) {
    const __m256bh h = _mm512_cvtneps_pbh(v);
    return reinterpret_cast<const __m256i&>(h);
  }
  static void storeu(uint16_t* p, F v) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), round(v));
  }
  static void store_n(uint16_t* p, F v, int64_t n) {
    _mm256_mask_storeu_epi16(p, first_n(n), round(v));
  }
};

}  // namespace

namespace avx512bf16 {

void depthwise_bf16(const DepthwiseArgs& args) { depthwise<VecAvx512ToBf16>(args); }

}  // namespace avx512bf16
}  // namespace tfjs_infer::kernels
