// AVX512 windowed pooling: the shared template of kernels/simd/pool_simd.h.
#include "kernels/isa_kernels.h"
#include "kernels/simd/pool_simd.h"
#include "kernels/x86/simd_avx512.h"

namespace tfjs_infer::kernels::avx512 {

void pool_f32(const PoolArgs& args) { pool_simd<VecAvx512>(args); }

}  // namespace tfjs_infer::kernels::avx512
