// The kernel table: one set of function pointers per instruction set, filled
// once (dispatch.cpp) and handed to every op when a model is compiled.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/kernel_args.h"

namespace tfjs_infer {

enum class Isa : int32_t { kGeneric = 0, kAvx2, kAvx512, kNeon };

const char* isa_name(Isa isa);

struct KernelTable {
  Isa isa = Isa::kGeneric;

  // GEMM with a weight matrix packed once at load. gemm_nr is the column
  // panel width of the packed layout.
  int64_t gemm_nr = 1;
  size_t (*gemm_packed_b_size)(int64_t k, int64_t n) = nullptr;  // in floats
  // col_scale (or nullptr): a folded BatchNorm's per-column scale, packed
  // values then float(b * col_scale[col]).
  void (*gemm_pack_b)(const float* b, int64_t k, int64_t n, const double* col_scale,
                      float* packed) = nullptr;
  void (*gemm_f32)(const GemmArgs& args) = nullptr;

  // Rows of one image's im2col matrix (Im2colArgs) for a convolution's GEMM.
  void (*im2col_f32)(const Im2colArgs& args) = nullptr;

  // A small convolution fused with its pooling, in registers (ConvPoolArgs);
  // nullptr where this table has none (the op then runs GEMM + pool_f32).
  void (*conv_pool_f32)(const ConvPoolArgs& args) = nullptr;

  // A small convolution computed directly, in registers (ConvDirectArgs);
  // nullptr where this table has none (the op then runs im2col + GEMM).
  void (*conv_direct_f32)(const ConvDirectArgs& args) = nullptr;
  // Its bf16 twin (ConvDirectArgs::w_bf16: the bits of gemm_bf16 on the
  // im2col rows); nullptr where this table has none (im2col + gemm_bf16).
  void (*conv_direct_bf16)(const ConvDirectArgs& args) = nullptr;

  // In-place element-wise activation over n contiguous floats.
  void (*activation_f32)(const ActParams& p, float* x, int64_t n) = nullptr;
  // In-place softmax (or log-softmax when log != 0) over each row of a
  // [rows, cols] row-major block.
  void (*softmax_f32)(float* x, int64_t rows, int64_t cols, int32_t log) = nullptr;

  // Windowed pooling of a range of output rows (PoolArgs).
  void (*pool_f32)(const PoolArgs& args) = nullptr;

  // Direct depthwise convolution of one image over a range of output rows
  // (DepthwiseArgs), bias and a cheap activation fused.
  void (*depthwise_f32)(const DepthwiseArgs& args) = nullptr;
  // Gate math of one recurrent step (SimpleRNN, LSTM, GRU) over a row block.
  void (*rnn_gates_f32)(const RnnGateArgs& args) = nullptr;
  // One row's recurrent product over a B packed in sequential column blocks
  // (RnnGemvArgs); equal bit for bit to gemm_f32 on that row.
  size_t (*rnn_gemv_packed_size)(int64_t k, int64_t n) = nullptr;  // in floats
  void (*rnn_gemv_pack)(const float* b, int64_t k, int64_t n, float* packed) = nullptr;
  void (*rnn_gemv_f32)(const RnnGemvArgs& args) = nullptr;

  // Reduced-precision GEMMs over a B packed by lowp_*_pack (kernels/lowp.h);
  // nullptr where this ISA on this CPU has none (the op then stays float32).
  void (*gemm_bf16)(const GemmArgs& args, const void* packed) = nullptr;
  // With gemm_bf16: depthwise_f32 with its results rounded to bfloat16 as
  // they are stored (DepthwiseArgs::y_bf16), for a bf16 product that reads
  // them as its A (GemmArgs::a_bf16) without a float round trip.
  void (*depthwise_bf16)(const DepthwiseArgs& args) = nullptr;
  void (*gemm_int8)(const GemmArgs& args, const void* packed) = nullptr;
  // With gemm_int8: a sample's range (min(0, min x), max(0, max x); hi NaN
  // when x holds a NaN) and its values to u8 (kernels/lowp.h quantize_value),
  // for the ops that quantize an input once per sample (ops/conv_int8.cpp).
  void (*int8_range)(const float* x, int64_t n, float* lo, float* hi) = nullptr;
  void (*int8_quantize)(const float* x, int64_t n, float inv, int32_t zp, uint8_t* dst) = nullptr;
};

// The table for `isa`, or nullptr when it was not built or the CPU lacks it.
const KernelTable* kernels_for(Isa isa);
// The best table for this CPU, lowered by TFJS_INFER_ISA=generic|avx2|avx512|neon.
// Throws tfjs_infer::Error when the variable names an ISA that is unavailable.
const KernelTable& best_kernels();
// Parses an ISA name ("" means best_kernels()); throws on unknown/unavailable.
const KernelTable& kernels_by_name(const std::string& name);
std::vector<Isa> available_isas();

}  // namespace tfjs_infer
