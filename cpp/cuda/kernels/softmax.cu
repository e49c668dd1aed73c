// Softmax and log-softmax: one block per row. The max (NaN cells skipped, as
// the CPU kernel's `v > m ? v : m`) and the float64 sum of exp(x - max) are
// per-thread strided partials, combined by warp shuffles and then across
// warps through dynamic shared memory: a fixed tree, so deterministic.
#include "cuda/kernels/common.cuh"
#include "cuda/kernels/softmax.h"

namespace tfjs_infer::cuda {

namespace {

constexpr int kSoftmaxThreads = 128;
constexpr int kWarps = kSoftmaxThreads / 32;

__device__ __forceinline__ float max_skip_nan(float a, float b) { return b > a ? b : a; }

// The block-wide combination of every thread's `v`; every thread gets it.
// `slots` holds kWarps + 1 values of shared memory.
template <typename T, typename Op>
__device__ T block_reduce(T v, T* slots, Op op) {
  for (int offset = 16; offset > 0; offset /= 2) v = op(v, __shfl_xor_sync(0xffffffffu, v, offset));
  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  if (lane == 0) slots[warp] = v;
  __syncthreads();
  if (threadIdx.x == 0) {
    T r = slots[0];
    for (int w = 1; w < kWarps; ++w) r = op(r, slots[w]);
    slots[kWarps] = r;
  }
  __syncthreads();
  const T r = slots[kWarps];
  __syncthreads();  // slots are reused by the next reduction
  return r;
}

// Max over doubles that hold floats (one slot type for both reductions).
struct MaxOp {
  __device__ double operator()(double a, double b) const { return b > a ? b : a; }
};
struct SumOp {
  __device__ double operator()(double a, double b) const { return dadd(a, b); }
};

__global__ void __launch_bounds__(kSoftmaxThreads)
    softmax_kernel(const float* x, float* y, int64_t rows, int64_t cols, int32_t log_form) {
  TFJS_DYNAMIC_SHARED(double, slots);
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float m = -__int_as_float(0x7f800000);
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) m = max_skip_nan(m, xr[j]);
    m = static_cast<float>(block_reduce<double>(m, slots, MaxOp()));
    double s = 0.0;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
      s = dadd(s, exp(static_cast<double>(xr[j]) - m));
    s = block_reduce<double>(s, slots, SumOp());
    const double lse = log_form ? log(s) : 0.0;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      const double v = static_cast<double>(xr[j]) - m;
      yr[j] = static_cast<float>(log_form ? v - lse : exp(v) / s);
    }
    __syncthreads();  // x == y: every read of the row is done before the next row
  }
}

}  // namespace

cudaError_t softmax_f32(const float* x, float* y, int64_t rows, int64_t cols, int32_t log,
                        cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return cudaSuccess;
  const unsigned int grid = static_cast<unsigned int>(rows < kMaxBlocks ? rows : kMaxBlocks);
  TFJS_LAUNCH(softmax_kernel, dim3(grid), dim3(kSoftmaxThreads), (kWarps + 1) * sizeof(double),
              stream, x, y, rows, cols, log);
  return launch_status();
}

}  // namespace tfjs_infer::cuda
