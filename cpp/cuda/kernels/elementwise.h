// Element-wise ops: every activation, broadcast merges (add, sub, mul, max,
// min, mean), per-channel affine (inference BatchNorm, Rescaling), PReLU.
#pragma once

#include "cuda/kernels/launch.h"

namespace tfjs_infer::cuda {

// y[i] = act(x[i]) for i < n (x == y allowed), each formula evaluated in
// float64 and rounded once, as the CPU engine's scalar reference.
cudaError_t activation_f32(const ActParams& act, const float* x, float* y, int64_t n,
                           cudaStream_t stream);

enum class MergeKind : int32_t { kAdd = 0, kSub, kMul, kMax, kMin, kCopy };

// One step of a merge: y = first ? x : combine(y, x), x broadcast to y's
// shape (rank <= kMaxRank, out_dims of y, x_strides 0 on broadcast axes),
// then y *= post_scale when post_scale != 1 (mean: 1/inputs on the last
// step). max/min let NaN from either side win, as the CPU op.
struct MergeArgs {
  MergeKind kind = MergeKind::kAdd;
  int32_t rank = 1;
  int64_t out_dims[kMaxRank] = {};
  int64_t x_strides[kMaxRank] = {};
  const float* x = nullptr;
  float* y = nullptr;
  float post_scale = 1.0f;
};

cudaError_t merge_f32(const MergeArgs& args, cudaStream_t stream);

// y[o, c, i] = x[o, c, i] * scale[c] + shift[c] (two roundings) over
// [outer, channels, inner]: inference BatchNorm with its float64-derived
// scale and shift; Rescaling (scale_shift) with inner = 1, x_i32 for int inputs.
struct ChannelAffineArgs {
  const float* x = nullptr;
  const int32_t* x_i32 = nullptr;  // used instead of x when set
  float* y = nullptr;
  const float* scale = nullptr;
  const float* shift = nullptr;
  int64_t outer = 0, channels = 0, inner = 1;
};

cudaError_t channel_affine_f32(const ChannelAffineArgs& args, cudaStream_t stream);

// y[r, j] = x >= 0 ? x : alpha[alpha_index[j]] * x over [rows, per_row]
// (alpha[j] when alpha_index is nullptr: alpha already spans a row).
struct PreluArgs {
  const float* x = nullptr;
  float* y = nullptr;
  const float* alpha = nullptr;
  const int64_t* alpha_index = nullptr;  // [per_row], made on the host, or nullptr
  int64_t rows = 0, per_row = 0;
};

cudaError_t prelu_f32(const PreluArgs& args, cudaStream_t stream);

}  // namespace tfjs_infer::cuda
