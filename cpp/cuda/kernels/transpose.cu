// Axis permutation: one thread per output element, a gather from the input.
#include "cuda/kernels/common.cuh"
#include "cuda/kernels/transpose.h"

namespace tfjs_infer::cuda {

namespace {

__global__ void transpose_kernel(TransposeArgs a, int64_t total) {
  for (int64_t e = global_index(); e < total; e += grid_stride()) {
    int64_t rest = e, src = 0;
    for (int d = a.rank - 1; d >= 0; --d) {
      src += (rest % a.out_dims[d]) * a.x_strides[d];
      rest /= a.out_dims[d];
    }
    a.y[e] = a.x[src];
  }
}

}  // namespace

cudaError_t transpose_f32(const TransposeArgs& a, cudaStream_t stream) {
  if (a.rank < 1 || a.rank > kMaxRank) return cudaErrorInvalidValue;
  int64_t total = 1;
  for (int d = 0; d < a.rank; ++d) total *= a.out_dims[d];
  if (total <= 0) return cudaSuccess;
  TFJS_LAUNCH_FLAT(transpose_kernel, dim3(blocks_for(total)), dim3(kThreads), 0, stream, a, total);
  return launch_status();
}

}  // namespace tfjs_infer::cuda
