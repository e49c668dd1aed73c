// im2col with baseline flags (kernels/simd/im2col_simd.h): the generic and
// AVX2 tables' kernel.
#include <cstring>

#include "kernels/isa_kernels.h"
#include "kernels/simd/im2col_simd.h"

namespace tfjs_infer::kernels::generic {

namespace {

// Short copies (a few channels of a tap) dominate im2col for thin inputs:
// fixed-size chunks compile to plain vector moves instead of memcpy calls.
struct CopyChunks {
  static void run(float* dst, const float* src, int64_t n) {
    // Fixed-size chunks, the last one overlapping the previous: no scalar tail.
    if (n >= 16) {
      int64_t i = 0;
      for (; i + 16 <= n; i += 16) std::memcpy(dst + i, src + i, 64);
      if (i < n) std::memcpy(dst + n - 16, src + n - 16, 64);
    } else if (n >= 8) {
      std::memcpy(dst, src, 32);
      std::memcpy(dst + n - 8, src + n - 8, 32);
    } else if (n >= 4) {
      std::memcpy(dst, src, 16);
      std::memcpy(dst + n - 4, src + n - 4, 16);
    } else {
      for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
    }
  }
};

}  // namespace

void im2col_f32(const Im2colArgs& args) { im2col_body<CopyChunks>(args); }

}  // namespace tfjs_infer::kernels::generic
