#include "ops/lowp_weights.h"

#include <vector>

#include "core/errors.h"
#include "kernels/lowp.h"

namespace tfjs_infer {

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::kBf16:
      return "bf16";
    case Precision::kInt8:
      return "int8";
    default:
      return "fp32";
  }
}

Precision parse_precision(const std::string& name) {
  if (name == "fp32" || name.empty()) return Precision::kFp32;
  if (name == "bf16") return Precision::kBf16;
  if (name == "int8") return Precision::kInt8;
  fail(ErrorKind::kUnsupported,
       "precision must be 'fp32', 'bf16' or 'int8', received '" + name + "'");
}

bool precision_supported(const KernelTable& k, Precision p) {
  switch (p) {
    case Precision::kBf16:
      return k.gemm_bf16 != nullptr;
    case Precision::kInt8:
      return k.gemm_int8 != nullptr;
    default:
      return true;
  }
}

Precision op_precision(const OpNode& node, const KernelTable& k, Precision requested) {
  if (requested == Precision::kFp32 || !precision_supported(k, requested)) return Precision::kFp32;
  const bool gemm_op = node.type == "dense" || node.type == "conv1d" || node.type == "conv2d" ||
                       node.type == "conv3d";
  const WeightTensor* w = node.weight("kernel");
  if (!gemm_op || !w || w->shape.empty() || w->shape.back() < 1) return Precision::kFp32;
  const int64_t reduction = w->size() / w->shape.back();
  if (requested == Precision::kInt8 && reduction > kInt8MaxK) return Precision::kFp32;
  return requested;
}

Precision node_precision(const OpNode& node) {
  return parse_precision(node.attr_str("precision", "fp32"));
}

void LowpWeights::pack(Precision p, const WeightTensor& w, int64_t rows, int64_t w_cols,
                       int64_t col0, int64_t cols) {
  std::vector<float> b(static_cast<size_t>(rows * cols));
  std::vector<float> all;
  const float* src = w.f32.data();
  if (!w.scale.empty()) {  // a folded BatchNorm: float(w * s), the fold's arithmetic
    all.resize(w.f32.size());
    w.copy_values(all.data());
    src = all.data();
  }
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      b[static_cast<size_t>(r * cols + c)] = src[r * w_cols + col0 + c];
  precision_ = p;
  if (p == Precision::kInt8) {
    data_.reset(lowp_int8_packed_bytes(rows, cols));
    lowp_int8_pack(b.data(), rows, cols, data_.data());
  } else {
    data_.reset(lowp_bf16_packed_bytes(rows, cols));
    lowp_bf16_pack(b.data(), rows, cols, data_.data());
  }
}

}  // namespace tfjs_infer
