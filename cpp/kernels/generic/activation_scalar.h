// Scalar activation formulas, evaluated in float64 and rounded once to
// float32, as the TF.js CPU backend does. Internal linkage on purpose: every
// translation unit that includes this gets its own copy, so a copy compiled
// with AVX flags can never be picked by the linker for baseline code.
#pragma once

#include <cmath>

#include "kernels/kernel_args.h"

namespace tfjs_infer::kernels {
namespace {

// Abramowitz-Stegun 7.1.26, the erf TF.js uses for gelu.
inline double erf_tfjs(double x) {
  const double p = 0.3275911, a1 = 0.254829592, a2 = -0.284496736, a3 = 1.421413741,
               a4 = -1.453152027, a5 = 1.061405429;
  const double sign = x < 0 ? -1.0 : 1.0;
  const double ax = std::fabs(x);
  const double t = 1.0 / (1.0 + p * ax);
  const double poly = ((((a5 * t + a4) * t + a3) * t + a2) * t + a1) * t;
  return sign * (1.0 - poly * std::exp(-ax * ax));
}

// TF.js softplus: thresholds at log(2^-23) + 2 keep exp from overflowing.
inline double softplus_tfjs(double x) {
  const double threshold = std::log(1.1920928955078125e-7) + 2.0;
  if (x > -threshold) return x;
  if (x < threshold) return std::exp(x);
  return std::log1p(std::exp(x));
}

inline double sigmoid_d(double x) { return 1.0 / (1.0 + std::exp(-x)); }

inline float apply_activation_scalar(const ActParams& p, float xf) {
  const double x = xf;
  switch (p.kind) {
    case ActKind::kLinear:
      return xf;
    // NaN stays NaN in every relu (TF.js's Math.max(0, x), TF's max(x, 0));
    // each is written as the x86 max(0, x) / min(6, .) the SIMD kernels use
    // (`a > b ? a : b` gives b when either is NaN), so the bits agree.
    case ActKind::kRelu:
      return 0.0f > xf ? 0.0f : xf;
    case ActKind::kRelu6: {
      const float r = 0.0f > xf ? 0.0f : xf;
      return 6.0f < r ? 6.0f : r;
    }
    case ActKind::kReluGeneral:
      if (xf >= p.beta) return xf < p.alpha ? xf : p.alpha;
      if (xf != xf) return xf;
      // With no negative slope the branch is a plain 0 (-inf too, not 0 * -inf).
      if (p.gamma == 0.0f) return 0.0f;
      return static_cast<float>(static_cast<double>(p.gamma) * (x - p.beta));
    case ActKind::kLeakyRelu:
      return xf >= 0.0f ? xf : static_cast<float>(p.alpha * x);
    case ActKind::kElu:
      return xf >= 0.0f ? xf : static_cast<float>(p.alpha * std::expm1(x));
    case ActKind::kSelu:
      return static_cast<float>(x >= 0 ? 1.0507009873554805 * x
                                       : 1.7580993408473769 * std::expm1(x));
    case ActKind::kSigmoid:
      return static_cast<float>(sigmoid_d(x));
    case ActKind::kHardSigmoid: {
      const double v = static_cast<double>(p.alpha) * x + p.beta;
      return static_cast<float>(v < 0 ? 0 : (v > 1 ? 1 : v));
    }
    case ActKind::kSoftplus:
      return static_cast<float>(softplus_tfjs(x));
    case ActKind::kSoftsign:
      return static_cast<float>(x / (1.0 + std::fabs(x)));
    case ActKind::kTanh:
      return static_cast<float>(std::tanh(x));
    case ActKind::kSwish:
      return static_cast<float>(x * sigmoid_d(x));
    case ActKind::kMish:
      return static_cast<float>(x * std::tanh(softplus_tfjs(x)));
    case ActKind::kGelu:
      return static_cast<float>(0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))));
    case ActKind::kGeluTfjs:
      return static_cast<float>(0.5 * x * (1.0 + erf_tfjs(x / std::sqrt(2.0))));
    case ActKind::kGeluTanh: {
      const double c = std::sqrt(2.0 / 3.14159265358979323846);
      return static_cast<float>(0.5 * x * (1.0 + std::tanh(c * (x + 0.044715 * x * x * x))));
    }
    case ActKind::kThresholdedRelu:
      // TF.js and Keras: x * (x > theta), so NaN and -inf give NaN.
      return xf > p.alpha ? xf : xf * 0.0f;
    case ActKind::kExp:
      return static_cast<float>(std::exp(x));
    case ActKind::kCount:
      break;
  }
  return xf;
}

}  // namespace
}  // namespace tfjs_infer::kernels
