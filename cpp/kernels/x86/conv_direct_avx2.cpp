// AVX2 direct small convolution (kernels/simd/conv_direct_simd.h): 6 pixels x
// two vectors of filters, 12 accumulators beside the two B vectors and the
// broadcast of 16 registers.
#include "kernels/isa_kernels.h"
#include "kernels/simd/conv_direct_simd.h"
#include "kernels/x86/simd_avx2.h"

namespace tfjs_infer::kernels::avx2 {

void conv_direct_f32(const ConvDirectArgs& args) { conv_direct_simd<VecAvx2, 6, 2>(args); }

}  // namespace tfjs_infer::kernels::avx2
