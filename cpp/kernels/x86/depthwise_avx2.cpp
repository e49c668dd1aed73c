// AVX2 depthwise convolution: 8 channels per vector, four interior pixels
// per weight load. Algorithm and order of operations: depthwise_x86.h.
#include "kernels/isa_kernels.h"
#include "kernels/x86/simd_avx2.h"
#include "kernels/x86/depthwise_x86.h"

namespace tfjs_infer::kernels::avx2 {

void depthwise_f32(const DepthwiseArgs& args) { depthwise<VecAvx2>(args); }

}  // namespace tfjs_infer::kernels::avx2
