// AVX-512 fused small convolution + pooling (kernels/simd/conv_pool_simd.h):
// two pooled pixels (8 conv pixels) x two vectors of filters, 16 accumulators
// beside the two B vectors and the broadcasts of 32 registers.
#include "kernels/isa_kernels.h"
#include "kernels/simd/conv_pool_simd.h"
#include "kernels/x86/simd_avx512.h"

namespace tfjs_infer::kernels::avx512 {

void conv_pool_f32(const ConvPoolArgs& args) { conv_pool_simd<VecAvx512, 2, 2>(args); }

}  // namespace tfjs_infer::kernels::avx512
