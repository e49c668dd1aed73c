// AVX2 element-wise activations and row softmax (vector math and error
// bounds: vecmath.h, activation_simd.h).
#include "kernels/isa_kernels.h"
#include "kernels/simd/activation_simd.h"
#include "kernels/x86/simd_avx2.h"

namespace tfjs_infer::kernels::avx2 {

void activation_f32(const ActParams& p, float* x, int64_t n) {
  if (p.kind == ActKind::kLinear) return;
  act_apply<VecAvx2>(p, x, x, n);
}

void softmax_f32(float* x, int64_t rows, int64_t cols, int32_t log) {
  softmax_rows<VecAvx2>(x, rows, cols, log);
}

}  // namespace tfjs_infer::kernels::avx2
