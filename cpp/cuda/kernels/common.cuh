// Device-side helpers shared by the .cu files of this folder. Each .cu file
// compiles twice: by nvcc for the GPU, and (TFJS_INFER_CUDA_EMU=ON) by the
// host compiler against the emulator's shim (cuda/emu/device_shim.h), whose
// cuda_runtime.h stands in for the toolkit's.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "cuda/kernels/launch.h"

#ifdef __CUDACC__
// kernel<<<grid, block, shared bytes, stream>>>(args...)
#define TFJS_LAUNCH(kernel, grid, block, shmem, stream, ...) \
  kernel<<<grid, block, shmem, stream>>>(__VA_ARGS__)
// A kernel without __syncthreads, __syncwarp or shuffles (the emulator runs
// its threads as plain calls, without fibers).
#define TFJS_LAUNCH_FLAT(kernel, grid, block, shmem, stream, ...) \
  kernel<<<grid, block, shmem, stream>>>(__VA_ARGS__)
// The launch's dynamic shared memory as `type* name`.
#define TFJS_DYNAMIC_SHARED(type, name)                       \
  extern __shared__ __align__(16) unsigned char tfjs_smem_[]; \
  type* name = reinterpret_cast<type*>(tfjs_smem_)
#else
#include "cuda/emu/scheduler.h"
#define TFJS_LAUNCH(kernel, grid, block, shmem, stream, ...) \
  ::tfjs_infer::emu::launch(grid, block, shmem, stream, [=] { kernel(__VA_ARGS__); })
#define TFJS_LAUNCH_FLAT(kernel, grid, block, shmem, stream, ...) \
  ::tfjs_infer::emu::launch_flat(grid, block, shmem, stream, [=] { kernel(__VA_ARGS__); })
#define TFJS_DYNAMIC_SHARED(type, name) \
  type* name = reinterpret_cast<type*>(::tfjs_infer::emu::dynamic_shared())
#endif

namespace tfjs_infer::cuda {

constexpr int kThreads = 256;          // threads per block of the element-wise kernels
constexpr int64_t kMaxBlocks = 65535;  // grid-stride loops cover the rest

// Blocks for n items at `threads` per block (at least 1, at most kMaxBlocks).
inline unsigned int blocks_for(int64_t n, int threads = kThreads) {
  const int64_t b = (n + threads - 1) / threads;
  return static_cast<unsigned int>(b < 1 ? 1 : (b > kMaxBlocks ? kMaxBlocks : b));
}

// The launch's error (cudaSuccess when it was queued).
inline cudaError_t launch_status() { return cudaGetLastError(); }

// Separately rounded multiply and add: nvcc would otherwise contract a * b + c
// into one FMA, and the CPU engine's reference rounds twice.
__device__ __forceinline__ float mul(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ float add(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ double dmul(double a, double b) { return __dmul_rn(a, b); }
__device__ __forceinline__ double dadd(double a, double b) { return __dadd_rn(a, b); }

// The global index of this thread and the grid's stride, for grid-stride loops.
__device__ __forceinline__ int64_t global_index() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ int64_t grid_stride() {
  return static_cast<int64_t>(gridDim.x) * blockDim.x;
}

}  // namespace tfjs_infer::cuda
