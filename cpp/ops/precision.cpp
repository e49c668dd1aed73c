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
  // The ops whose products go through PackedMatrix, and their weight matrices
  // (reduction length: all dims but the last).
  static const char* const kGemmOps[] = {"dense",  "conv1d",      "conv2d",
                                         "conv3d", "conv2d_pool", "conv_chain"};
  bool gemm_op = false;
  for (const char* t : kGemmOps) gemm_op = gemm_op || node.type == t;
  if (!gemm_op) return Precision::kFp32;
  bool any = false;
  for (const char* key : {"kernel", "expand_kernel", "project_kernel"}) {
    const WeightTensor* w = node.weight(key);
    if (!w || w->shape.empty() || w->shape.back() < 1) continue;
    any = true;
    const int64_t reduction = w->size() / w->shape.back();
    if (requested == Precision::kInt8 && reduction > kInt8MaxK) return Precision::kFp32;
  }
  return any ? requested : Precision::kFp32;
}

Precision node_precision(const OpNode& node) {
  return parse_precision(node.attr_str("precision", "fp32"));
}

}  // namespace tfjs_infer
