#include "cuda/ops/cuda_op.h"

#include <vector>

namespace tfjs_infer {

const CudaOpRegistry& cuda_op_registry() {
  static const CudaOpRegistry registry = [] {
    CudaOpRegistry r;
    // One register_cuda_<family>_ops(r) per cpp/cuda/ops/<family>.cpp.
    return r;
  }();
  return registry;
}

CudaOpPtr make_cuda_op(const OpNode& node) {
  const auto& registry = cuda_op_registry();
  auto it = registry.find(node.type);
  return it == registry.end() ? nullptr : it->second(node);
}

CudaBuffer upload_weight(const WeightTensor& w) {
  std::vector<float> values(static_cast<size_t>(w.size()));
  w.copy_values(values.data());
  CudaBuffer buf(CudaBuffer::Kind::kDevice, values.size() * sizeof(float));
  if (!values.empty())
    check_cuda(cudaMemcpy(buf.data(), values.data(), values.size() * sizeof(float),
                          cudaMemcpyHostToDevice),
               "cudaMemcpy (weights)");
  return buf;
}

}  // namespace tfjs_infer
