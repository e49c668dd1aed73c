// im2col for the AVX-512 table (kernels/simd/im2col_simd.h): a run of floats
// moves as whole 16-float vectors and one masked vector for the rest, so the
// 21-float runs of a 7x7 convolution over 3 channels (ResNet50's conv1) take
// two loads and two stores instead of eight 16-byte moves.
#include "kernels/isa_kernels.h"
#include "kernels/simd/im2col_simd.h"
#include "kernels/x86/simd_avx512.h"

namespace tfjs_infer::kernels::avx512 {

namespace {

struct CopyVectors {
  static void run(float* dst, const float* src, int64_t n) {
    using V = VecAvx512;
    int64_t i = 0;
    for (; i + V::kW <= n; i += V::kW) V::storeu(dst + i, V::loadu(src + i));
    if (i < n) V::store_n(dst + i, V::load_n(src + i, n - i), n - i);
  }
};

}  // namespace

void im2col_f32(const Im2colArgs& args) { im2col_body<CopyVectors>(args); }

}  // namespace tfjs_infer::kernels::avx512
