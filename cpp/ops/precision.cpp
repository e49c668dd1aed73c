#include "ops/precision.h"

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
                       node.type == "conv3d" || node.type == "conv2d_pool";
  const WeightTensor* w = node.weight("kernel");
  if (!gemm_op || !w || w->shape.empty() || w->shape.back() < 1) return Precision::kFp32;
  const int64_t reduction = w->size() / w->shape.back();
  if (requested == Precision::kInt8 && reduction > kInt8MaxK) return Precision::kFp32;
  return requested;
}

Precision node_precision(const OpNode& node) {
  return parse_precision(node.attr_str("precision", "fp32"));
}

}  // namespace tfjs_infer
