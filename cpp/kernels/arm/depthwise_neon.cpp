// NEON depthwise convolution: forwards to the portable kernel, whose channel
// loop the compiler vectorizes for AArch64 (not yet tuned).
#include "kernels/isa_kernels.h"

namespace tfjs_infer::kernels::neon {

void depthwise_f32(const DepthwiseArgs& args) { generic::depthwise_f32(args); }

}  // namespace tfjs_infer::kernels::neon
