// im2col with baseline flags (kernels/simd/im2col_simd.h): the generic and
// NEON tables' kernel.
#include "kernels/isa_kernels.h"
#include "kernels/simd/im2col_simd.h"

namespace tfjs_infer::kernels::generic {

void im2col_f32(const Im2colArgs& args) { im2col_body<CopyChunks>(args); }

}  // namespace tfjs_infer::kernels::generic
