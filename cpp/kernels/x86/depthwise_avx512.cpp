// AVX-512 depthwise convolution: 16 channels per vector, four interior pixels
// per weight load. Algorithm and order of operations: depthwise_x86.h.
#include "kernels/isa_kernels.h"
#include "kernels/x86/simd_avx512.h"
#include "kernels/x86/depthwise_x86.h"

namespace tfjs_infer::kernels::avx512 {

void depthwise_f32(const DepthwiseArgs& args) { depthwise<VecAvx512>(args); }

}  // namespace tfjs_infer::kernels::avx512
