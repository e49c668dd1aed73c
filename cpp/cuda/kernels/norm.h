// Normalizations: layer (and its RMS form), RMS, unit (L2), group.
#pragma once

#include "cuda/kernels/launch.h"

namespace tfjs_infer::cuda {

enum class SpanNormKind : int32_t { kLayer = 0, kLayerRms, kRms, kUnit };

// Over x viewed as [outer, len, inner], normalizing each (outer, inner)
// column of len values, with the CPU ops' float64 formulas and order:
//   kLayer:    (x - mean) / sqrt(var + eps) * gamma + beta
//   kLayerRms: x / sqrt(var + eps) * gamma          (Keras 3 rms_scaling)
//   kRms:      x / sqrt(mean(x^2) + eps) * gamma    (RMSNormalization, gamma = scale)
//   kUnit:     x * min(1 / sqrt(sum x^2), 1e12) * gamma   (UnitNormalization)
struct SpanNormArgs {
  SpanNormKind kind = SpanNormKind::kLayer;
  const float* x = nullptr;
  float* y = nullptr;
  const float* gamma = nullptr;  // [len] or nullptr
  const float* beta = nullptr;   // [len] or nullptr
  int64_t outer = 0, len = 0, inner = 1;
  double eps = 1e-3;
};

cudaError_t span_norm_f32(const SpanNormArgs& args, cudaStream_t stream);

// GroupNormalization over x [n, pre, c, post]: per (batch, group) mean and
// biased variance in float64 over (pre, channels of the group, post) in
// order, then x * scale + shift in float64 per channel.
struct GroupNormArgs {
  const float* x = nullptr;
  float* y = nullptr;
  const float* gamma = nullptr;  // [c] or nullptr
  const float* beta = nullptr;   // [c] or nullptr
  int64_t n = 0, pre = 1, c = 0, post = 1, groups = 1;
  double eps = 1e-3;
};

cudaError_t group_norm_f32(const GroupNormArgs& args, cudaStream_t stream);

}  // namespace tfjs_infer::cuda
