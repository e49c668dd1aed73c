// The gather half of a transposed convolution: one thread per output element
// sums its taps' GEMM columns in (kd, kh, kw) order, as the CPU op does.
#include "cuda/kernels/activation.cuh"
#include "cuda/kernels/conv_transpose.h"

namespace tfjs_infer::cuda {

namespace {

// The input index along axis i that tap kk sends to output index o, or -1.
__device__ __forceinline__ int64_t source(const ConvTransposeGatherArgs& a, int i, int64_t o,
                                          int64_t kk) {
  const int64_t num = o + a.pad_before[i] - kk * a.dil[i];
  if (num < 0 || num % a.stride[i] != 0) return -1;
  const int64_t src = num / a.stride[i];
  return src < a.in[i] ? src : -1;
}

__global__ void gather_kernel(ConvTransposeGatherArgs a, int64_t total) {
  const int64_t m_in = a.in[0] * a.in[1] * a.in[2];
  const int64_t cols = a.k[0] * a.k[1] * a.k[2] * a.cout;
  for (int64_t e = global_index(); e < total; e += grid_stride()) {
    const int64_t c = e % a.cout;
    int64_t rest = e / a.cout;
    const int64_t ox = rest % a.out[2];
    rest /= a.out[2];
    const int64_t oy = rest % a.out[1];
    rest /= a.out[1];
    const int64_t oz = rest % a.out[0], b = rest / a.out[0];
    float acc = 0.0f;
    for (int64_t kz = 0; kz < a.k[0]; ++kz) {
      const int64_t iz = source(a, 0, oz, kz);
      if (iz < 0) continue;
      for (int64_t ky = 0; ky < a.k[1]; ++ky) {
        const int64_t iy = source(a, 1, oy, ky);
        if (iy < 0) continue;
        for (int64_t kx = 0; kx < a.k[2]; ++kx) {
          const int64_t ix = source(a, 2, ox, kx);
          if (ix < 0) continue;
          const int64_t pixel = b * m_in + (iz * a.in[1] + iy) * a.in[2] + ix;
          const int64_t kk = (kz * a.k[1] + ky) * a.k[2] + kx;
          acc = add(acc, a.col[pixel * cols + kk * a.cout + c]);
        }
      }
    }
    if (a.bias) acc = add(acc, a.bias[c]);
    a.y[e] = activate(a.act, acc);
  }
}

}  // namespace

cudaError_t conv_transpose_gather_f32(const ConvTransposeGatherArgs& a, cudaStream_t stream) {
  const int64_t total = a.n * a.out[0] * a.out[1] * a.out[2] * a.cout;
  if (total <= 0) return cudaSuccess;
  for (int i = 0; i < 3; ++i)
    if (a.stride[i] < 1 || a.dil[i] < 1) return cudaErrorInvalidValue;
  TFJS_LAUNCH_FLAT(gather_kernel, dim3(blocks_for(total)), dim3(kThreads), 0, stream, a, total);
  return launch_status();
}

}  // namespace tfjs_infer::cuda
