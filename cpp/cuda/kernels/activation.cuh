// Device side of every activation: the CPU engine's one list
// (kernels/activation_list.h) expanded over the same scalar formulas
// (kernels/activation_math.h, Act<kind>::scalar: float64, rounded once),
// which nvcc compiles for the device too (TFJS_INFER_HOST_DEVICE). Adding an
// activation touches no file of this folder. The kernels are built with
// --fmad=false, so a * b + c rounds twice on the device as on the host.
#pragma once

#include "cuda/kernels/common.cuh"
#include "kernels/activation_list.h"
#include "kernels/activation_math.h"

namespace tfjs_infer::cuda {

__device__ inline float activate(const ActParams& p, float x) {
  switch (p.kind) {
#define TFJS_INFER_CUDA_ACT_CASE(kind, name) \
  case ActKind::kind:                        \
    return ::tfjs_infer::kernels::Act<ActKind::kind>::scalar(p, x);
    TFJS_INFER_ACTIVATIONS(TFJS_INFER_CUDA_ACT_CASE)
#undef TFJS_INFER_CUDA_ACT_CASE
    case ActKind::kCount:
      break;
  }
  return x;
}

}  // namespace tfjs_infer::cuda
