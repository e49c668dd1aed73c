// Declarations of the per-ISA kernel entry points. Only dispatch.cpp (built
// with baseline flags) takes their addresses; the definitions live in
// kernels/<isa dir>/<family>_<isa>.cpp, compiled with that ISA's flags.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/kernel_args.h"

#define TFJS_INFER_DECLARE_KERNELS(ns)                                                            \
  namespace tfjs_infer::kernels::ns {                                                             \
  extern const int64_t kGemmNr;                                                                   \
  size_t gemm_packed_b_size(int64_t k, int64_t n);                                                \
  void gemm_pack_b(const float* b, int64_t k, int64_t n, const double* col_scale, float* packed); \
  void gemm_f32(const GemmArgs& args);                                                            \
  void activation_f32(const ActParams& p, float* x, int64_t n);                                   \
  void softmax_f32(float* x, int64_t rows, int64_t cols, int32_t log);                            \
  void pool_f32(const PoolArgs& args);                                                            \
  void depthwise_f32(const DepthwiseArgs& args);                                                  \
  void rnn_gates_f32(const RnnGateArgs& args);                                                    \
  size_t rnn_gemv_packed_size(int64_t k, int64_t n);                                              \
  void rnn_gemv_pack(const float* b, int64_t k, int64_t n, float* packed);                        \
  void rnn_gemv_f32(const RnnGemvArgs& args);                                                     \
  }

TFJS_INFER_DECLARE_KERNELS(generic)

// im2col (copies only) is one body (kernels/simd/im2col_simd.h) compiled per
// table: baseline flags for generic and NEON, AVX2 moves, AVX-512 vector and
// masked moves (x86/im2col_*.cpp).
namespace tfjs_infer::kernels::generic {
void im2col_f32(const Im2colArgs& args);
}  // namespace tfjs_infer::kernels::generic

// The fused small convolution + pooling (kernels/simd/conv_pool_simd.h) and
// the direct small convolution (kernels/simd/conv_direct_simd.h): the x86
// tables only (x86/conv_pool_*.cpp, x86/conv_direct_*.cpp).
namespace tfjs_infer::kernels::avx2 {
void im2col_f32(const Im2colArgs& args);
void conv_pool_f32(const ConvPoolArgs& args);
void conv_direct_f32(const ConvDirectArgs& args);
}  // namespace tfjs_infer::kernels::avx2

namespace tfjs_infer::kernels::avx512 {
void im2col_f32(const Im2colArgs& args);
void conv_pool_f32(const ConvPoolArgs& args);
void conv_direct_f32(const ConvDirectArgs& args);
}  // namespace tfjs_infer::kernels::avx512

// The bf16 direct small convolution (x86/conv_direct_bf16_avx512bf16.cpp):
// the AVX-512 table, on CPUs with AVX512-BF16.
namespace tfjs_infer::kernels::avx512bf16 {
void conv_direct_bf16(const ConvDirectArgs& args);
}  // namespace tfjs_infer::kernels::avx512bf16

// The bf16 GEMM on AMX tiles (x86/gemm_bf16_amxbf16.cpp): called by the
// AVX512-BF16 GEMM where lowp_bf16_amx() says (kernels/lowp.h).
namespace tfjs_infer::kernels::amxbf16 {
void gemm_bf16(const GemmArgs& g, const void* packed);
}  // namespace tfjs_infer::kernels::amxbf16

TFJS_INFER_DECLARE_KERNELS(avx2)
TFJS_INFER_DECLARE_KERNELS(avx512)
TFJS_INFER_DECLARE_KERNELS(neon)
