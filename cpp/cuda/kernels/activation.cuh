// Device formulas of every activation (ActKind, kernels/kernel_args.h): the
// same float64 formulas, thresholds and NaN rules as the CPU engine's scalar
// reference (kernels/generic/activation_scalar.h), evaluated in float64 and
// rounded once. A new ActKind fails the static_assert until it is added here.
#pragma once

#include "cuda/kernels/common.cuh"

namespace tfjs_infer::cuda {

static_assert(static_cast<int>(ActKind::kCount) == 19,
              "an activation was added to ActKind: add its device formula here");

__device__ __forceinline__ double erf_tfjs(double x) {
  const double p = 0.3275911, a1 = 0.254829592, a2 = -0.284496736, a3 = 1.421413741,
               a4 = -1.453152027, a5 = 1.061405429;
  const double sign = x < 0 ? -1.0 : 1.0;
  const double ax = fabs(x);
  const double t = 1.0 / (1.0 + p * ax);
  const double poly = ((((a5 * t + a4) * t + a3) * t + a2) * t + a1) * t;
  return sign * (1.0 - poly * exp(-ax * ax));
}

__device__ __forceinline__ double softplus_tfjs(double x) {
  const double threshold = log(1.1920928955078125e-7) + 2.0;
  if (x > -threshold) return x;
  if (x < threshold) return exp(x);
  return log1p(exp(x));
}

__device__ __forceinline__ double sigmoid_d(double x) { return 1.0 / (1.0 + exp(-x)); }

__device__ inline float activate(const ActParams& p, float xf) {
  const double x = xf;
  switch (p.kind) {
    case ActKind::kLinear:
      return xf;
    case ActKind::kRelu:
      return 0.0f > xf ? 0.0f : xf;
    case ActKind::kRelu6: {
      const float r = 0.0f > xf ? 0.0f : xf;
      return 6.0f < r ? 6.0f : r;
    }
    case ActKind::kReluGeneral:
      if (xf >= p.beta) return xf < p.alpha ? xf : p.alpha;
      if (xf != xf) return xf;
      if (p.gamma == 0.0f) return 0.0f;
      return static_cast<float>(dmul(static_cast<double>(p.gamma), x - p.beta));
    case ActKind::kLeakyRelu:
      return xf >= 0.0f ? xf : static_cast<float>(dmul(p.alpha, x));
    case ActKind::kElu:
      return xf >= 0.0f ? xf : static_cast<float>(dmul(p.alpha, expm1(x)));
    case ActKind::kSelu:
      return static_cast<float>(x >= 0 ? dmul(1.0507009873554805, x)
                                       : dmul(1.7580993408473769, expm1(x)));
    case ActKind::kSigmoid:
      return static_cast<float>(sigmoid_d(x));
    case ActKind::kHardSigmoid: {
      const double v = dadd(dmul(static_cast<double>(p.alpha), x), p.beta);
      return static_cast<float>(v < 0 ? 0 : (v > 1 ? 1 : v));
    }
    case ActKind::kSoftplus:
      return static_cast<float>(softplus_tfjs(x));
    case ActKind::kSoftsign:
      return static_cast<float>(x / (1.0 + fabs(x)));
    case ActKind::kTanh:
      return static_cast<float>(tanh(x));
    case ActKind::kSwish:
      return static_cast<float>(dmul(x, sigmoid_d(x)));
    case ActKind::kMish:
      return static_cast<float>(dmul(x, tanh(softplus_tfjs(x))));
    case ActKind::kGelu:
      return static_cast<float>(dmul(dmul(0.5, x), 1.0 + erf(x / sqrt(2.0))));
    case ActKind::kGeluTfjs:
      return static_cast<float>(dmul(dmul(0.5, x), 1.0 + erf_tfjs(x / sqrt(2.0))));
    case ActKind::kGeluTanh: {
      const double c = sqrt(2.0 / 3.14159265358979323846);
      const double inner = dmul(c, dadd(x, dmul(dmul(dmul(0.044715, x), x), x)));
      return static_cast<float>(dmul(dmul(0.5, x), 1.0 + tanh(inner)));
    }
    case ActKind::kThresholdedRelu:
      return xf > p.alpha ? xf : mul(xf, 0.0f);
    case ActKind::kExp:
      return static_cast<float>(exp(x));
    case ActKind::kCount:
      break;
  }
  return xf;
}

}  // namespace tfjs_infer::cuda
