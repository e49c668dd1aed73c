// Windowed and global pooling.
#pragma once

#include "cuda/kernels/launch.h"

namespace tfjs_infer::cuda {

// The CPU's PoolArgs (kernels/kernel_args.h: channels-last (N, D, H, W, C),
// window cells visited in (d, h, w) order, NaN skipped by max, max_init for
// empty/all-NaN windows, padded cells skipped, average over real cells; with
// zero_pad every cell, a padded one reading +0) over every output row:
// row_begin/row_end are ignored, x and y are device pointers.
using ::tfjs_infer::PoolArgs;
cudaError_t pool_f32(const PoolArgs& args, int64_t n, cudaStream_t stream);

// Global pooling of x [n, spatial, c] (channels_first: [n, c, spatial]) to
// y [n, c], as the CPU op: max keeps NaN (`v > m || v != v ? v : m` from
// -inf, a reduce_max), average sums in float64 over positions in order and
// divides in float64. One thread per (batch, channel).
struct GlobalPoolArgs {
  int32_t max = 0;
  int32_t channels_first = 0;
  const float* x = nullptr;
  float* y = nullptr;
  int64_t n = 0, spatial = 0, c = 0;
};

cudaError_t global_pool_f32(const GlobalPoolArgs& args, cudaStream_t stream);

}  // namespace tfjs_infer::cuda
