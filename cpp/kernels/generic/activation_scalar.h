// The scalar activation of any kind (the float64 formulas of
// kernels/activation_math.h), dispatched once per element from the one list.
// Internal linkage, as activation_math.h.
#pragma once

#include "kernels/activation_math.h"
#include "kernels/kernel_args.h"

namespace tfjs_infer::kernels {
namespace {

inline float apply_activation_scalar(const ActParams& p, float xf) {
  switch (p.kind) {
#define TFJS_INFER_ACT_CASE(kind, name) \
  case ActKind::kind:                   \
    return Act<ActKind::kind>::scalar(p, xf);
    TFJS_INFER_ACTIVATIONS(TFJS_INFER_ACT_CASE)
#undef TFJS_INFER_ACT_CASE
    case ActKind::kCount:
      break;
  }
  return xf;
}

}  // namespace
}  // namespace tfjs_infer::kernels
