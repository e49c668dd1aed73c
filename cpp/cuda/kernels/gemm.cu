// Tiled shared-memory SGEMM with the fused epilogue, and the implicit-GEMM
// convolution that runs through the same tile loop with an im2col A loader.
//
// A block computes a 64x64 tile of C with 256 threads, 4x4 outputs each;
// A and B tiles of depth 16 are staged in static shared memory between two
// barriers. Every output is one thread's running sum over k in order (the
// tiles are visited in k order and only the k < K part of a tile is summed),
// multiply and add rounded separately: bit-identical to the CPU engine's
// generic GEMM, independent of m, the grid and the batch.
// No TF32: tensor cores would round the inputs to 10-bit mantissas.
#include "cuda/kernels/activation.cuh"
#include "cuda/kernels/gemm.h"

namespace tfjs_infer::cuda {

namespace {

constexpr int kTileM = 64, kTileN = 64, kTileK = 16;
constexpr int kGemmThreads = 256;  // 16 x 16 threads, 4 x 4 outputs each
constexpr int kMicro = 4;

// A[z][r, kk] of a plain row-major matrix.
struct MatrixA {
  const float* a;
  int64_t lda, stride;
  __device__ float operator()(int64_t z, int64_t r, int64_t kk) const {
    return a[z * stride + r * lda + kk];
  }
};

// op(B)[z][kk, col], B row-major [k, n] or transposed [n, k].
struct MatrixB {
  const float* b;
  int64_t ldb, stride;
  int32_t trans;
  __device__ float operator()(int64_t z, int64_t kk, int64_t col) const {
    return trans ? b[z * stride + col * ldb + kk] : b[z * stride + kk * ldb + col];
  }
};

// The im2col row of output pixel r (b, oz, oy, ox) at depth kk (kz, ky, kx,
// ci) of group z, read straight from the channels-last input: 0 in the padding.
struct Im2colA {
  ConvArgs c;
  int64_t cin_g;
  __device__ float operator()(int64_t z, int64_t r, int64_t kk) const {
    const int64_t ox = r % c.out_w, oy = (r / c.out_w) % c.out_h;
    const int64_t oz = (r / (c.out_w * c.out_h)) % c.out_d;
    const int64_t b = r / (c.out_w * c.out_h * c.out_d);
    const int64_t ci = kk % cin_g, kx = (kk / cin_g) % c.kw, ky = (kk / (cin_g * c.kw)) % c.kh;
    const int64_t kz = kk / (cin_g * c.kw * c.kh);
    const int64_t iz = oz * c.stride_d - c.pad_front + kz * c.dil_d;
    const int64_t iy = oy * c.stride_h - c.pad_top + ky * c.dil_h;
    const int64_t ix = ox * c.stride_w - c.pad_left + kx * c.dil_w;
    if (iz < 0 || iz >= c.in_d || iy < 0 || iy >= c.in_h || ix < 0 || ix >= c.in_w) return 0.0f;
    return c.x[(((b * c.in_d + iz) * c.in_h + iy) * c.in_w + ix) * c.cin + z * cin_g + ci];
  }
};

// Where the tile's results go: C[z] at z * stride_c (a batch, or a group's
// column offset), bias at z * bias_stride, residual like C.
struct Epilogue {
  float* c;
  int64_t ldc, stride_c;
  const float* bias;
  int64_t bias_stride;
  const float* residual;
  int64_t ldr, stride_r;
  float alpha;
  ActParams act;
  __device__ void store(int64_t z, int64_t r, int64_t col, float acc) const {
    float v = acc;
    if (alpha != 1.0f) v = mul(v, alpha);
    if (bias) v = add(v, bias[z * bias_stride + col]);
    if (residual) v = add(v, residual[z * stride_r + r * ldr + col]);
    c[z * stride_c + r * ldc + col] = activate(act, v);
  }
};

template <typename LoadA, typename LoadB>
__global__ void __launch_bounds__(kGemmThreads)
    gemm_tiles(LoadA load_a, LoadB load_b, Epilogue out, int64_t m, int64_t n, int64_t k) {
  __shared__ float a_tile[kTileK][kTileM];
  __shared__ float b_tile[kTileK][kTileN];
  const int64_t z = blockIdx.z;
  const int64_t row0 = static_cast<int64_t>(blockIdx.y) * kTileM;
  const int64_t col0 = static_cast<int64_t>(blockIdx.x) * kTileN;
  const int tid = static_cast<int>(threadIdx.x);
  const int ty = tid / (kTileN / kMicro), tx = tid % (kTileN / kMicro);
  float acc[kMicro][kMicro];
  for (int i = 0; i < kMicro; ++i)
    for (int j = 0; j < kMicro; ++j) acc[i][j] = 0.0f;
  for (int64_t k0 = 0; k0 < k; k0 += kTileK) {
    for (int e = tid; e < kTileM * kTileK; e += kGemmThreads) {
      const int r = e / kTileK, kk = e % kTileK;
      const bool in = row0 + r < m && k0 + kk < k;
      a_tile[kk][r] = in ? load_a(z, row0 + r, k0 + kk) : 0.0f;
    }
    for (int e = tid; e < kTileK * kTileN; e += kGemmThreads) {
      const int kk = e / kTileN, cc = e % kTileN;
      const bool in = col0 + cc < n && k0 + kk < k;
      b_tile[kk][cc] = in ? load_b(z, k0 + kk, col0 + cc) : 0.0f;
    }
    __syncthreads();
    const int depth = k - k0 < kTileK ? static_cast<int>(k - k0) : kTileK;
    for (int kk = 0; kk < depth; ++kk) {
      float av[kMicro], bv[kMicro];
      for (int i = 0; i < kMicro; ++i) av[i] = a_tile[kk][ty * kMicro + i];
      for (int j = 0; j < kMicro; ++j) bv[j] = b_tile[kk][tx * kMicro + j];
      for (int i = 0; i < kMicro; ++i)
        for (int j = 0; j < kMicro; ++j) acc[i][j] = add(acc[i][j], mul(av[i], bv[j]));
    }
    __syncthreads();
  }
  for (int i = 0; i < kMicro; ++i) {
    const int64_t r = row0 + ty * kMicro + i;
    if (r >= m) break;
    for (int j = 0; j < kMicro; ++j) {
      const int64_t col = col0 + tx * kMicro + j;
      if (col < n) out.store(z, r, col, acc[i][j]);
    }
  }
}

template <typename LoadA, typename LoadB>
cudaError_t run_tiles(const LoadA& load_a, const LoadB& load_b, const Epilogue& out, int64_t m,
                      int64_t n, int64_t k, int64_t batch, cudaStream_t stream) {
  if (m <= 0 || n <= 0 || batch <= 0) return cudaSuccess;
  const int64_t grid_m = (m + kTileM - 1) / kTileM, grid_n = (n + kTileN - 1) / kTileN;
  if (grid_m > 65535 || batch > 65535 || grid_n > 2147483647) return cudaErrorInvalidValue;
  const dim3 grid(static_cast<unsigned int>(grid_n), static_cast<unsigned int>(grid_m),
                  static_cast<unsigned int>(batch));
  auto* kernel = &gemm_tiles<LoadA, LoadB>;
  TFJS_LAUNCH(kernel, grid, dim3(kGemmThreads), 0, stream, load_a, load_b, out, m, n, k);
  return launch_status();
}

}  // namespace

cudaError_t gemm_f32(const GemmArgs& g, cudaStream_t stream) {
  const MatrixA a{g.a, g.lda, g.stride_a};
  const MatrixB b{g.b, g.ldb, g.stride_b, g.trans_b};
  const Epilogue out{g.c,        g.ldc, g.stride_c, g.bias,  0,
                     g.residual, g.ldr, g.stride_r, g.alpha, g.act};
  return run_tiles(a, b, out, g.m, g.n, g.k, g.batch, stream);
}

cudaError_t conv2d_f32(const ConvArgs& c, cudaStream_t stream) {
  if (c.groups < 1 || c.cin % c.groups || c.cout % c.groups) return cudaErrorInvalidValue;
  const int64_t cin_g = c.cin / c.groups, cout_g = c.cout / c.groups;
  const Im2colA a{c, cin_g};
  // B of group z: rows (kz, ky, kx, ci) of w, columns [z cout_g, (z + 1) cout_g).
  const MatrixB b{c.w, c.cout, cout_g, 0};
  const Epilogue out{c.y, c.cout, cout_g, c.bias, cout_g, c.residual, c.cout, cout_g, 1.0f, c.act};
  return run_tiles(a, b, out, c.n * c.out_d * c.out_h * c.out_w, cout_g, c.kd * c.kh * c.kw * cin_g,
                   c.groups, stream);
}

}  // namespace tfjs_infer::cuda
