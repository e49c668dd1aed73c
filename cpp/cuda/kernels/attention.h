// The "attention" op's core (Keras MultiHeadAttention, Attention,
// AdditiveAttention after their projections), fused per query row.
#pragma once

#include "cuda/kernels/launch.h"

namespace tfjs_infer::cuda {

enum class AttentionMask : int32_t { kFull = 0, kQuery, kKey, kQueryOut };

struct AttentionMaskArg {
  AttentionMask kind = AttentionMask::kFull;
  const float* f32 = nullptr;  // one of f32 / i32: non-zero keeps
  const int32_t* i32 = nullptr;
  int64_t dim0 = 1, dim1 = 1;  // kFull's leading dims (N|1, Tq|1)
};

constexpr int kMaxAttentionMasks = 4;

// Inputs q (N, Tq, H*Dk), k (N, Tk, G*Dk), v (N, Tk, G*Dv); outputs o
// (N, Tq, H*Dv) and optionally scores (N, H, Tq, Tk). One block per
// (batch, head, query row), the CPU op's arithmetic and order: logits
// summed over d from +0 then scaled ("dot") or the additive form; masked
// positions, causal and window excluded; a NaN logit makes the row NaN; an
// all-masked row gives zeros (zero_masked) or uniform weights; the sum of
// exp in float64; o accumulated over keys in order.
struct AttentionArgs {
  const float* q = nullptr;
  const float* k = nullptr;
  const float* v = nullptr;
  float* o = nullptr;
  float* scores = nullptr;  // or nullptr
  int64_t n = 0, tq = 0, tk = 0, heads = 1, kv_heads = 1, dk = 0, dv = 0;
  float scale = 1.0f;
  int32_t additive = 0;
  float add_inner = 1.0f, add_outer = 1.0f;
  const float* add_scale = nullptr;  // [H*Dk] or nullptr
  int32_t causal = 0, zero_masked = 0;
  int64_t window = 0;
  int32_t num_masks = 0;
  AttentionMaskArg masks[kMaxAttentionMasks];
};

cudaError_t attention_f32(const AttentionArgs& args, cudaStream_t stream);

}  // namespace tfjs_infer::cuda
