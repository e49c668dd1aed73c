// Embedding: gather rows of a table by integer (or float, truncated) ids.
#pragma once

#include "cuda/kernels/launch.h"

namespace tfjs_infer::cuda {

// y[i, :] = table[id_i, :] for i < n. An id outside [0, rows) writes NaN to
// its row and lowers *bad to the smallest such i (atomicMin on a device
// int64 the caller sets to INT64_MAX first and reads after the stream syncs,
// to raise the CPU op's error naming the position).
struct EmbeddingArgs {
  const int32_t* ids_i32 = nullptr;  // one of ids_i32 / ids_f32
  const float* ids_f32 = nullptr;
  const float* table = nullptr;
  float* y = nullptr;
  int64_t n = 0, rows = 0, dim = 0;
  int64_t* bad = nullptr;  // may be nullptr
};

cudaError_t embedding_f32(const EmbeddingArgs& args, cudaStream_t stream);

}  // namespace tfjs_infer::cuda
