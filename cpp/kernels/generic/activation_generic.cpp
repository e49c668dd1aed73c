// Portable activation and softmax kernels (float64 per element, like TF.js).
#include <cmath>

#include "kernels/generic/activation_scalar.h"
#include "kernels/isa_kernels.h"

namespace tfjs_infer::kernels::generic {

void activation_f32(const ActParams& p, float* x, int64_t n) {
  if (p.kind == ActKind::kLinear) return;
  for (int64_t i = 0; i < n; ++i) x[i] = apply_activation_scalar(p, x[i]);
}

// exp(x - max) / sum(exp(x - max)); log form: x - max - log(sum(exp(x - max))).
void softmax_f32(float* x, int64_t rows, int64_t cols, int32_t log) {
  for (int64_t r = 0; r < rows; ++r) {
    float* row = x + r * cols;
    float mx = -INFINITY;
    for (int64_t j = 0; j < cols; ++j) mx = row[j] > mx ? row[j] : mx;
    double sum = 0.0;
    for (int64_t j = 0; j < cols; ++j) sum += std::exp(static_cast<double>(row[j]) - mx);
    if (log) {
      const double lse = std::log(sum);
      for (int64_t j = 0; j < cols; ++j)
        row[j] = static_cast<float>(static_cast<double>(row[j]) - mx - lse);
    } else {
      for (int64_t j = 0; j < cols; ++j)
        row[j] = static_cast<float>(std::exp(static_cast<double>(row[j]) - mx) / sum);
    }
  }
}

}  // namespace tfjs_infer::kernels::generic
