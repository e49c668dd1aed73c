// CategoryEncoding: a check of every id (bad ones reported through an
// atomicMin), then one thread per output value counting its row's matches.
#include "cuda/kernels/category_encoding.h"
#include "cuda/kernels/common.cuh"

namespace tfjs_infer::cuda {

namespace {

// Float ids truncate toward zero, as TF.js and Keras cast them.
__device__ __forceinline__ double id_at(const CategoryEncodingArgs& a, int64_t i) {
  return a.ids_i32 ? static_cast<double>(a.ids_i32[i]) : trunc(static_cast<double>(a.ids_f32[i]));
}

__global__ void check_ids_kernel(CategoryEncodingArgs a) {
  for (int64_t i = global_index(); i < a.rows * a.k; i += grid_stride()) {
    const double id = id_at(a, i);
    if (!(id >= 0 && id < static_cast<double>(a.tokens)) && a.bad)
      atomicMin(reinterpret_cast<long long*>(a.bad), static_cast<long long>(i));
  }
}

__global__ void encode_kernel(CategoryEncodingArgs a) {
  for (int64_t e = global_index(); e < a.rows * a.tokens; e += grid_stride()) {
    const int64_t r = e / a.tokens;
    const double t = static_cast<double>(e % a.tokens);
    float v = 0.0f;
    for (int64_t j = 0; j < a.k; ++j)
      if (id_at(a, r * a.k + j) == t) v = a.count ? v + 1.0f : 1.0f;
    a.y[e] = v;
  }
}

}  // namespace

cudaError_t category_encoding_f32(const CategoryEncodingArgs& a, cudaStream_t stream) {
  if (a.rows <= 0 || a.tokens <= 0) return cudaSuccess;
  if (a.k > 0)
    TFJS_LAUNCH_FLAT(check_ids_kernel, dim3(blocks_for(a.rows * a.k)), dim3(kThreads), 0, stream,
                     a);
  TFJS_LAUNCH_FLAT(encode_kernel, dim3(blocks_for(a.rows * a.tokens)), dim3(kThreads), 0, stream,
                   a);
  return launch_status();
}

}  // namespace tfjs_infer::cuda
