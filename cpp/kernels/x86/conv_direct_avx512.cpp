// AVX-512 direct small convolution (kernels/simd/conv_direct_simd.h): 12
// pixels x two vectors of filters, 24 accumulators beside the two B vectors
// and the broadcast of 32 registers (MobileNetV2's first layer, 32 filters:
// one column block; its 112-pixel rows: 9 blocks, then 4).
#include "kernels/isa_kernels.h"
#include "kernels/simd/conv_direct_simd.h"
#include "kernels/x86/simd_avx512.h"

namespace tfjs_infer::kernels::avx512 {

void conv_direct_f32(const ConvDirectArgs& args) { conv_direct_simd<VecAvx512, 12, 2>(args); }

}  // namespace tfjs_infer::kernels::avx512
