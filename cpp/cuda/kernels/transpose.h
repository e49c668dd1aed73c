// Axis permutation (the "transpose" op: Permute layers, layout changes).
#pragma once

#include "cuda/kernels/launch.h"

namespace tfjs_infer::cuda {

// y[o] = x[sum_d o_d * x_strides[d]] over y's row-major index o of out_dims
// (rank <= kMaxRank), with x_strides[d] the input stride of the axis that
// becomes output axis d: out_dims[d] = in_dims[perm[d]],
// x_strides[d] = in_stride[perm[d]], both made on the host.
struct TransposeArgs {
  const float* x = nullptr;
  float* y = nullptr;
  int32_t rank = 1;
  int64_t out_dims[kMaxRank] = {};
  int64_t x_strides[kMaxRank] = {};
};

cudaError_t transpose_f32(const TransposeArgs& args, cudaStream_t stream);

}  // namespace tfjs_infer::cuda
