// Recurrent step gate math: one thread per (row, unit), the CPU generic
// kernel's formulas (kernels/kernel_args.h, RnnGateArgs) with separately
// rounded products and sums.
#include "cuda/kernels/activation.cuh"
#include "cuda/kernels/rnn.h"

namespace tfjs_infer::cuda {

namespace {

__device__ __forceinline__ float blend(float z, float h, float hh) {
  return add(mul(z, h), mul(1.0f - z, hh));  // z * h + (1 - z) * hh
}

__global__ void rnn_gates_kernel(RnnGateArgs a) {
  const int64_t u = a.units;
  for (int64_t e = global_index(); e < a.m * u; e += grid_stride()) {
    const int64_t r = e / u, j = e % u;
    float* pre = a.pre + r * a.ldp;
    float* h = a.h + r * a.ldh;
    switch (a.kind) {
      case RnnGateKind::kSimple:
        h[j] = activate(a.act, pre[j]);
        break;
      case RnnGateKind::kLstm: {
        float* c = a.c + r * a.ldc;
        const float i = activate(a.ract, pre[j]);
        const float f = activate(a.ract, pre[u + j]);
        const float g = activate(a.act, pre[2 * u + j]);
        const float o = activate(a.ract, pre[3 * u + j]);
        const float cn = add(mul(f, c[j]), mul(i, g));
        c[j] = cn;
        h[j] = mul(o, activate(a.act, cn));
        break;
      }
      case RnnGateKind::kGruResetAfter: {
        const float* x = a.x + r * a.ldx;
        const float z = activate(a.ract, add(x[j], pre[j]));
        const float rr = activate(a.ract, add(x[u + j], pre[u + j]));
        const float hh = activate(a.act, add(x[2 * u + j], mul(rr, pre[2 * u + j])));
        h[j] = blend(z, h[j], hh);
        break;
      }
      case RnnGateKind::kGruZr:
        pre[j] = activate(a.ract, pre[j]);
        a.aux[r * a.lda + j] = mul(activate(a.ract, pre[u + j]), h[j]);
        break;
      case RnnGateKind::kGruH:
        h[j] = blend(a.aux[r * a.lda + j], h[j], activate(a.act, pre[j]));
        break;
    }
  }
}

__global__ void rnn_mask_step_kernel(RnnMaskStepArgs a) {
  const int64_t u = a.units;
  for (int64_t r = global_index(); r < a.m; r += grid_stride()) {
    const bool kept = !a.mask || a.mask[r * a.steps + a.t] != 0.0f;
    if (!kept) {
      for (int64_t j = 0; j < u; ++j) a.h[r * u + j] = a.h_saved[r * u + j];
      if (a.c)
        for (int64_t j = 0; j < u; ++j) a.c[r * u + j] = a.c_saved[r * u + j];
    }
    const bool seen = a.seen[r] != 0.0f || kept;
    a.seen[r] = seen ? 1.0f : 0.0f;
    if (!a.y) continue;
    const bool carry = kept || a.mask_output == RnnMaskOutput::kState ||
                       (a.mask_output == RnnMaskOutput::kPrevious && seen);
    float* y = a.y + r * a.ldy;
    for (int64_t j = 0; j < u; ++j) y[j] = carry ? a.h[r * u + j] : 0.0f;
  }
}

}  // namespace

cudaError_t rnn_mask_step_f32(const RnnMaskStepArgs& a, cudaStream_t stream) {
  if (a.m <= 0 || a.units <= 0) return cudaSuccess;
  TFJS_LAUNCH_FLAT(rnn_mask_step_kernel, dim3(blocks_for(a.m)), dim3(kThreads), 0, stream, a);
  return launch_status();
}

cudaError_t rnn_gates_f32(const RnnGateArgs& a, cudaStream_t stream) {
  if (a.m * a.units <= 0) return cudaSuccess;
  TFJS_LAUNCH_FLAT(rnn_gates_kernel, dim3(blocks_for(a.m * a.units)), dim3(kThreads), 0, stream, a);
  return launch_status();
}

}  // namespace tfjs_infer::cuda
