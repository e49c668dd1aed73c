// CategoryEncoding: integer (or float, truncated) ids -> multi-hot, count or
// one-hot vectors of `tokens` entries.
#pragma once

#include "cuda/kernels/launch.h"

namespace tfjs_infer::cuda {

// Over rows of k ids: y[r, t] = (count ? how many : whether any) ids of row r
// equal t (one-hot: rows of k = 1). An id outside [0, tokens) lowers *bad to
// its flat position (atomicMin; the caller sets INT64_MAX first) and is
// skipped; the CPU op raises then, so the caller reads *bad after a sync.
struct CategoryEncodingArgs {
  const int32_t* ids_i32 = nullptr;  // one of ids_i32 / ids_f32
  const float* ids_f32 = nullptr;
  float* y = nullptr;
  int64_t rows = 0, k = 1, tokens = 0;
  int32_t count = 0;
  int64_t* bad = nullptr;
};

cudaError_t category_encoding_f32(const CategoryEncodingArgs& args, cudaStream_t stream);

}  // namespace tfjs_infer::cuda
