// Normalizations. One thread per normalized column ((outer, inner) pair, or
// (batch, group)), sums in float64 in the CPU ops' order, so the bits agree
// with the CPU engine; the parallelism is over columns.
#include "cuda/kernels/common.cuh"
#include "cuda/kernels/norm.h"

namespace tfjs_infer::cuda {

namespace {

__device__ double span_factor(const SpanNormArgs& a, const float* src, double* mean_out) {
  double mean = 0.0;
  if (a.kind == SpanNormKind::kLayer || a.kind == SpanNormKind::kLayerRms) {
    for (int64_t j = 0; j < a.len; ++j) mean = dadd(mean, src[j * a.inner]);
    mean /= static_cast<double>(a.len);
    double var = 0.0;
    for (int64_t j = 0; j < a.len; ++j) {
      const double d = src[j * a.inner] - mean;
      var = dadd(var, dmul(d, d));
    }
    var /= static_cast<double>(a.len);
    *mean_out = mean;
    return 1.0 / sqrt(var + a.eps);
  }
  double sq = 0.0;
  for (int64_t j = 0; j < a.len; ++j) {
    const double v = src[j * a.inner];
    sq = dadd(sq, dmul(v, v));
  }
  *mean_out = 0.0;
  if (a.kind == SpanNormKind::kRms) return 1.0 / sqrt(sq / static_cast<double>(a.len) + a.eps);
  if (sq > 0.0) {
    const double f = 1.0 / sqrt(sq);
    return f < 1e12 ? f : 1e12;
  }
  return sq == sq ? 1e12 : sq;
}

__global__ void span_norm_kernel(SpanNormArgs a) {
  for (int64_t col = global_index(); col < a.outer * a.inner; col += grid_stride()) {
    const int64_t o = col / a.inner, i = col % a.inner;
    const float* src = a.x + o * a.len * a.inner + i;
    float* dst = a.y + o * a.len * a.inner + i;
    double mean = 0.0;
    const double factor = span_factor(a, src, &mean);
    const bool centre = a.kind == SpanNormKind::kLayer;
    for (int64_t j = 0; j < a.len; ++j) {
      double v = centre ? dmul(src[j * a.inner] - mean, factor) : dmul(src[j * a.inner], factor);
      if (a.gamma) v = dmul(v, a.gamma[j]);
      if (a.beta && centre) v = dadd(v, a.beta[j]);
      dst[j * a.inner] = static_cast<float>(v);
    }
  }
}

__global__ void group_norm_kernel(GroupNormArgs a) {
  const int64_t cg = a.c / a.groups;
  for (int64_t task = global_index(); task < a.n * a.groups; task += grid_stride()) {
    const int64_t b = task / a.groups, g = task % a.groups;
    const float* x = a.x + b * a.pre * a.c * a.post;
    float* y = a.y + b * a.pre * a.c * a.post;
    double sum = 0.0, sq = 0.0;
    for (int64_t p = 0; p < a.pre; ++p)
      for (int64_t ch = g * cg; ch < (g + 1) * cg; ++ch)
        for (int64_t q = 0; q < a.post; ++q) sum = dadd(sum, x[(p * a.c + ch) * a.post + q]);
    const double count = static_cast<double>(a.pre * cg * a.post);
    const double mean = sum / count;
    for (int64_t p = 0; p < a.pre; ++p)
      for (int64_t ch = g * cg; ch < (g + 1) * cg; ++ch)
        for (int64_t q = 0; q < a.post; ++q) {
          const double d = x[(p * a.c + ch) * a.post + q] - mean;
          sq = dadd(sq, dmul(d, d));
        }
    const double inv = 1.0 / sqrt(sq / count + a.eps);
    for (int64_t p = 0; p < a.pre; ++p)
      for (int64_t ch = g * cg; ch < (g + 1) * cg; ++ch) {
        const double scale = dmul(inv, a.gamma ? a.gamma[ch] : 1.0);
        const double shift = (a.beta ? a.beta[ch] : 0.0) - dmul(mean, scale);
        for (int64_t q = 0; q < a.post; ++q) {
          const int64_t at = (p * a.c + ch) * a.post + q;
          y[at] = static_cast<float>(dadd(dmul(x[at], scale), shift));
        }
      }
  }
}

}  // namespace

cudaError_t span_norm_f32(const SpanNormArgs& a, cudaStream_t stream) {
  const int64_t cols = a.outer * a.inner;
  if (cols <= 0 || a.len <= 0) return cudaSuccess;
  TFJS_LAUNCH_FLAT(span_norm_kernel, dim3(blocks_for(cols)), dim3(kThreads), 0, stream, a);
  return launch_status();
}

cudaError_t group_norm_f32(const GroupNormArgs& a, cudaStream_t stream) {
  if (a.groups < 1 || a.c % a.groups) return cudaErrorInvalidValue;
  const int64_t tasks = a.n * a.groups;
  if (tasks <= 0) return cudaSuccess;
  TFJS_LAUNCH_FLAT(group_norm_kernel, dim3(blocks_for(tasks)), dim3(kThreads), 0, stream, a);
  return launch_status();
}

}  // namespace tfjs_infer::cuda
