// im2col for the AVX2 table (kernels/simd/im2col_simd.h): runs of 8 floats
// or more move as whole 8-float vectors, the last one overlapping the one
// before (no masked stores: slow on some cores); shorter runs as the baseline
// chunks. With AVX2 flags GCC still splits the baseline body's 64-byte memcpy
// chunks into 16-byte moves, hence the intrinsics.
#include "kernels/isa_kernels.h"
#include "kernels/simd/im2col_simd.h"
#include "kernels/x86/simd_avx2.h"

namespace tfjs_infer::kernels::avx2 {

namespace {

struct CopyVectors {
  static void run(float* dst, const float* src, int64_t n) {
    using V = VecAvx2;
    if (n < V::kW) {
      CopyChunks::run(dst, src, n);
      return;
    }
    int64_t i = 0;
    for (; i + V::kW <= n; i += V::kW) V::storeu(dst + i, V::loadu(src + i));
    if (i < n) V::storeu(dst + n - V::kW, V::loadu(src + n - V::kW));
  }
};

}  // namespace

void im2col_f32(const Im2colArgs& args) { im2col_body<CopyVectors>(args); }

}  // namespace tfjs_infer::kernels::avx2
