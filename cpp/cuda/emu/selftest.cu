// Planted-bug kernels for the emulator's self-tests (selftest.h).
#include "cuda/emu/selftest.h"
#include "cuda/kernels/common.cuh"

namespace tfjs_infer::emu::selftest {

namespace {

using ::tfjs_infer::cuda::launch_status;

__global__ void reverse_kernel(const float* x, float* y, int n, int barrier) {
  __shared__ float tile[1024];
  const int t = static_cast<int>(threadIdx.x);
  tile[t] = x[t];
  if (barrier) __syncthreads();
  y[t] = tile[n - 1 - t];
}

__global__ void early_return_kernel(float* y) {
  __shared__ float tile[64];
  const int t = static_cast<int>(threadIdx.x);
  if (t % 2) return;  // the planted bug
  tile[t] = 1.0f;
  __syncthreads();
  y[t] = tile[t];
}

__global__ void warp_deadlock_kernel(float* y) {
  const int t = static_cast<int>(threadIdx.x);
  if (t < 16)
    __syncwarp();
  else
    __syncthreads();
  y[t] = 1.0f;
}

__global__ void unwritten_shared_kernel(float* y) {
  __shared__ float never_written[4];
  TFJS_DYNAMIC_SHARED(float, dynamic);
  y[0] = never_written[1];
  y[1] = dynamic[2];
}

__global__ void shuffles_kernel(const float* x, float* y, int src, int xor_mask, int delta) {
  const int lane = static_cast<int>(threadIdx.x);
  const float v = x[lane];
  y[lane] = __shfl_sync(0xffffffffu, v, src);
  y[32 + lane] = __shfl_xor_sync(0xffffffffu, v, xor_mask);
  y[64 + lane] = __shfl_down_sync(0xffffffffu, v, static_cast<unsigned int>(delta));
  y[96 + lane] = __shfl_up_sync(0xffffffffu, v, static_cast<unsigned int>(delta));
  float s = v;
  for (int offset = 16; offset > 0; offset /= 2) s += __shfl_xor_sync(0xffffffffu, s, offset);
  y[128 + lane] = s;
}

__global__ void shuffle_exited_kernel(float* y) {
  const int lane = static_cast<int>(threadIdx.x);
  if (lane == 31) return;  // the planted bug: the mask below still names lane 31
  y[lane] = __shfl_down_sync(0xffffffffu, 1.0f, 1);
}

__global__ void run_order_kernel(int32_t* order, int32_t* counter) {
  order[threadIdx.x] = atomicAdd(counter, 1);
}

__global__ void histogram_kernel(const int32_t* x, int n, int32_t* counts, int bins) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) atomicAdd(&counts[x[i] % bins], 1);
}

__global__ void noop_kernel(float* y) { y[0] = 0.0f; }

}  // namespace

cudaError_t reverse(const float* x, float* y, int n, int barrier) {
  if (n < 1 || n > 1024) return cudaErrorInvalidValue;
  TFJS_LAUNCH(reverse_kernel, dim3(1), dim3(n), 0, nullptr, x, y, n, barrier);
  return launch_status();
}

cudaError_t barrier_in_flat_launch(const float* x, float* y, int n) {
  TFJS_LAUNCH_FLAT(reverse_kernel, dim3(1), dim3(n), 0, nullptr, x, y, n, 1);
  return launch_status();
}

cudaError_t early_return(float* y, int n) {
  TFJS_LAUNCH(early_return_kernel, dim3(1), dim3(n), 0, nullptr, y);
  return launch_status();
}

cudaError_t warp_deadlock(float* y) {
  TFJS_LAUNCH(warp_deadlock_kernel, dim3(1), dim3(32), 0, nullptr, y);
  return launch_status();
}

cudaError_t read_unwritten_shared(float* y) {
  TFJS_LAUNCH(unwritten_shared_kernel, dim3(1), dim3(1), 16, nullptr, y);
  return launch_status();
}

cudaError_t shuffles(const float* x, float* y, int src, int xor_mask, int delta) {
  TFJS_LAUNCH(shuffles_kernel, dim3(1), dim3(32), 0, nullptr, x, y, src, xor_mask, delta);
  return launch_status();
}

cudaError_t shuffle_exited_lane(float* y) {
  TFJS_LAUNCH(shuffle_exited_kernel, dim3(1), dim3(32), 0, nullptr, y);
  return launch_status();
}

cudaError_t run_order(int32_t* order, int n) {
  int32_t* counter = nullptr;
  cudaError_t e = cudaMalloc(reinterpret_cast<void**>(&counter), sizeof(int32_t));
  if (e != cudaSuccess) return e;
  cudaMemset(counter, 0, sizeof(int32_t));
  TFJS_LAUNCH(run_order_kernel, dim3(1), dim3(n), 0, nullptr, order, counter);
  e = launch_status();
  cudaFree(counter);
  return e;
}

cudaError_t histogram(const int32_t* x, int n, int32_t* counts, int bins) {
  const unsigned int blocks = static_cast<unsigned int>((n + 63) / 64);
  TFJS_LAUNCH(histogram_kernel, dim3(blocks), dim3(64), 0, nullptr, x, n, counts, bins);
  return launch_status();
}

cudaError_t oversized_block(float* y) {
  TFJS_LAUNCH(noop_kernel, dim3(1), dim3(2048), 0, nullptr, y);
  return launch_status();
}

}  // namespace tfjs_infer::emu::selftest
