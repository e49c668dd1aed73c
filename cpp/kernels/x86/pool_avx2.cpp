// AVX2 windowed pooling: the shared template of kernels/simd/pool_simd.h.
#include "kernels/isa_kernels.h"
#include "kernels/simd/pool_simd.h"
#include "kernels/x86/simd_avx2.h"

namespace tfjs_infer::kernels::avx2 {

void pool_f32(const PoolArgs& args) { pool_simd<VecAvx2>(args); }

}  // namespace tfjs_infer::kernels::avx2
