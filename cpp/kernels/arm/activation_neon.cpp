// NEON activation and softmax entry points: forward to the portable reference
// (float64 per element, like TF.js) until a vectorized version exists.
#include "kernels/isa_kernels.h"

namespace tfjs_infer::kernels::neon {

void activation_f32(const ActParams& p, float* x, int64_t n) { generic::activation_f32(p, x, n); }

void softmax_f32(float* x, int64_t rows, int64_t cols, int32_t log) {
  generic::softmax_f32(x, rows, cols, log);
}

}  // namespace tfjs_infer::kernels::neon
