// AVX2 fused small convolution + pooling (kernels/simd/conv_pool_simd.h):
// one pooled pixel (4 conv pixels) x two vectors of filters, 8 accumulators
// beside the two B vectors and the broadcasts of 16 registers.
#include "kernels/isa_kernels.h"
#include "kernels/simd/conv_pool_simd.h"
#include "kernels/x86/simd_avx2.h"

namespace tfjs_infer::kernels::avx2 {

void conv_pool_f32(const ConvPoolArgs& args) { conv_pool_simd<VecAvx2, 1, 2>(args); }

}  // namespace tfjs_infer::kernels::avx2
