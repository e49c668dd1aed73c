// Embedding gather: one thread per output element; a bad id poisons its row
// with NaN and reports its position through an atomicMin.
#include "cuda/kernels/common.cuh"
#include "cuda/kernels/embedding.h"

namespace tfjs_infer::cuda {

namespace {

__global__ void embedding_kernel(EmbeddingArgs a) {
  for (int64_t e = global_index(); e < a.n * a.dim; e += grid_stride()) {
    const int64_t i = e / a.dim, j = e % a.dim;
    // Float ids truncate toward zero, as TF.js casts them.
    const double id = a.ids_i32 ? static_cast<double>(a.ids_i32[i]) : trunc(double(a.ids_f32[i]));
    if (!(id >= 0 && id < static_cast<double>(a.rows))) {
      a.y[e] = __int_as_float(0x7fc00000);
      if (a.bad && j == 0)
        atomicMin(reinterpret_cast<long long*>(a.bad), static_cast<long long>(i));
      continue;
    }
    a.y[e] = a.table[static_cast<int64_t>(id) * a.dim + j];
  }
}

}  // namespace

cudaError_t embedding_f32(const EmbeddingArgs& a, cudaStream_t stream) {
  if (a.n * a.dim <= 0) return cudaSuccess;
  TFJS_LAUNCH_FLAT(embedding_kernel, dim3(blocks_for(a.n * a.dim)), dim3(kThreads), 0, stream, a);
  return launch_status();
}

}  // namespace tfjs_infer::cuda
