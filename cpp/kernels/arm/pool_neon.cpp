// NEON windowed pooling: the shared template of kernels/simd/pool_simd.h.
#include "kernels/arm/simd_neon.h"
#include "kernels/isa_kernels.h"
#include "kernels/simd/pool_simd.h"

namespace tfjs_infer::kernels::neon {

void pool_f32(const PoolArgs& args) { pool_simd<VecNeon>(args); }

}  // namespace tfjs_infer::kernels::neon
