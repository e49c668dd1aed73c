// The attention op's core, one block per (batch, head, query row): threads
// compute the logits of their key positions (summed over d in order, as the
// CPU op), thread 0 takes the max, the exponentials and their float64 sum in
// key order, then threads produce output features (accumulated over keys in
// order) and scores. The same arithmetic in the same order as the CPU op.
#include "cuda/kernels/attention.h"
#include "cuda/kernels/common.cuh"

namespace tfjs_infer::cuda {

namespace {

constexpr int kAttentionThreads = 128;

__device__ __forceinline__ bool keeps(const AttentionMaskArg& m, int64_t index) {
  return m.i32 ? m.i32[index] != 0 : m.f32[index] != 0.0f;
}

__device__ bool allowed(const AttentionArgs& a, int64_t b, int64_t i, int64_t j) {
  if (a.causal && j > i) return false;
  if (a.window && (i > j ? i - j : j - i) >= a.window) return false;
  for (int m = 0; m < a.num_masks; ++m) {
    const AttentionMaskArg& mask = a.masks[m];
    switch (mask.kind) {
      case AttentionMask::kFull: {
        const int64_t bb = mask.dim0 == 1 ? 0 : b, ii = mask.dim1 == 1 ? 0 : i;
        if (!keeps(mask, (bb * mask.dim1 + ii) * a.tk + j)) return false;
        break;
      }
      case AttentionMask::kQuery:
        if (!keeps(mask, b * a.tq + i)) return false;
        break;
      case AttentionMask::kKey:
        if (!keeps(mask, b * a.tk + j)) return false;
        break;
      case AttentionMask::kQueryOut:
        break;
    }
  }
  return true;
}

__device__ bool zero_output(const AttentionArgs& a, int64_t b, int64_t i) {
  for (int m = 0; m < a.num_masks; ++m)
    if (a.masks[m].kind == AttentionMask::kQueryOut && !keeps(a.masks[m], b * a.tq + i))
      return true;
  return false;
}

__device__ float logit(const AttentionArgs& a, const float* q, const float* kj, int64_t h) {
  if (a.additive) {
    float s = 0.0f;
    for (int64_t d = 0; d < a.dk; ++d) {
      const float w = a.add_scale ? a.add_scale[h * a.dk + d] : 1.0f;
      s = add(s, mul(w, tanhf(mul(a.add_inner, add(q[d], kj[d])))));
    }
    return mul(s, a.add_outer);
  }
  float s = 0.0f;
  for (int64_t d = 0; d < a.dk; ++d) s = add(s, mul(q[d], kj[d]));
  return mul(s, a.scale);
}

__global__ void __launch_bounds__(kAttentionThreads) attention_kernel(AttentionArgs a) {
  TFJS_DYNAMIC_SHARED(float, probs);  // [tk] logits, then probabilities; then inv
  const int64_t i = blockIdx.x % a.tq;
  const int64_t h = (blockIdx.x / a.tq) % a.heads;
  const int64_t b = blockIdx.x / (a.tq * a.heads);
  const int64_t g = h / (a.heads / a.kv_heads);
  const int64_t qstride = a.heads * a.dk, kstride = a.kv_heads * a.dk, vstride = a.kv_heads * a.dv;
  const float* q = a.q + (b * a.tq + i) * qstride + h * a.dk;
  const float* k = a.k + b * a.tk * kstride + g * a.dk;
  const float* v = a.v + b * a.tk * vstride + g * a.dv;
  const float neg = -__int_as_float(0x7f800000);
  for (int64_t j = threadIdx.x; j < a.tk; j += blockDim.x)
    probs[j] = allowed(a, b, i, j) ? logit(a, q, k + j * kstride, h) : neg;
  __syncthreads();
  if (threadIdx.x == 0) {
    float best = neg;
    for (int64_t j = 0; j < a.tk; ++j)
      if (probs[j] != neg) best = probs[j] > best || probs[j] != probs[j] ? probs[j] : best;
    const bool none = best == neg;
    double sum = 0.0;
    for (int64_t j = 0; j < a.tk; ++j) {
      const float p =
          none ? (a.zero_masked ? 0.0f : 1.0f) : (probs[j] == neg ? 0.0f : exp(probs[j] - best));
      probs[j] = p;
      sum = dadd(sum, p);
    }
    probs[a.tk] = sum > 0.0 || sum != sum ? static_cast<float>(1.0 / sum) : 0.0f;
  }
  __syncthreads();
  const float inv = probs[a.tk];
  if (a.scores) {
    float* scores = a.scores + ((b * a.heads + h) * a.tq + i) * a.tk;
    for (int64_t j = threadIdx.x; j < a.tk; j += blockDim.x) scores[j] = mul(probs[j], inv);
  }
  float* o = a.o + (b * a.tq + i) * a.heads * a.dv + h * a.dv;
  const bool zero = zero_output(a, b, i);
  for (int64_t d = threadIdx.x; d < a.dv; d += blockDim.x) {
    float acc = 0.0f;
    if (!zero)
      for (int64_t j = 0; j < a.tk; ++j)
        acc = add(acc, mul(mul(probs[j], inv), v[j * vstride + d]));
    o[d] = acc;
  }
}

}  // namespace

cudaError_t attention_f32(const AttentionArgs& a, cudaStream_t stream) {
  if (a.heads < 1 || a.kv_heads < 1 || a.heads % a.kv_heads || a.num_masks < 0 ||
      a.num_masks > kMaxAttentionMasks)
    return cudaErrorInvalidValue;
  const int64_t rows = a.n * a.heads * a.tq;
  if (rows <= 0) return cudaSuccess;
  if (rows > 2147483647) return cudaErrorInvalidValue;
  const size_t shared = static_cast<size_t>(a.tk + 1) * sizeof(float);
  TFJS_LAUNCH(attention_kernel, dim3(static_cast<unsigned int>(rows)), dim3(kAttentionThreads),
              shared, stream, a);
  return launch_status();
}

}  // namespace tfjs_infer::cuda
