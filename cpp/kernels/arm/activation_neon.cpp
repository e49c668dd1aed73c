// NEON element-wise activations and row softmax: the shared templates of
// kernels/simd/ over VecNeon (vector math and error bounds: vecmath.h,
// activation_simd.h). Verified against generic under qemu-aarch64 only.
#include "kernels/arm/simd_neon.h"
#include "kernels/isa_kernels.h"
#include "kernels/simd/activation_simd.h"

namespace tfjs_infer::kernels::neon {

void activation_f32(const ActParams& p, float* x, int64_t n) {
  if (p.kind == ActKind::kLinear) return;
  act_apply<VecNeon>(p, x, x, n);
}

void softmax_f32(float* x, int64_t rows, int64_t cols, int32_t log) {
  softmax_rows<VecNeon>(x, rows, cols, log);
}

}  // namespace tfjs_infer::kernels::neon
