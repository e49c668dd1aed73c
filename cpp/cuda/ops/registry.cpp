#include "cuda/ops/cuda_op.h"

#include <vector>

namespace tfjs_infer {

const CudaOpRegistry& cuda_op_registry() {
  static const CudaOpRegistry registry = [] {
    CudaOpRegistry r;
    register_cuda_dense_ops(r);
    register_cuda_activation_ops(r);
    register_cuda_conv_ops(r);
    register_cuda_pooling_ops(r);
    register_cuda_elementwise_ops(r);
    register_cuda_shape_ops(r);
    register_cuda_normalization_ops(r);
    register_cuda_recurrent_ops(r);
    register_cuda_pad_ops(r);
    register_cuda_embedding_ops(r);
    register_cuda_attention_ops(r);
    register_cuda_conv_transpose_ops(r);
    register_cuda_conv_lstm_ops(r);
    register_cuda_keras_norm_ops(r);
    register_cuda_sequence_ops(r);
    register_cuda_resize_ops(r);
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
  if (w.dtype != DType::kFloat32) fail(ErrorKind::kInvalidModel, "a float32 weight was expected");
  std::vector<float> values(static_cast<size_t>(w.size()));
  w.copy_values(values.data());
  return upload_floats(values);
}

CudaBuffer upload_floats(const std::vector<float>& values) {
  CudaBuffer buf(CudaBuffer::Kind::kDevice, values.size() * sizeof(float));
  if (!values.empty())
    check_cuda(cudaMemcpy(buf.data(), values.data(), values.size() * sizeof(float),
                          cudaMemcpyHostToDevice),
               "cudaMemcpy (weights)");
  return buf;
}

CudaBuffer upload_optional(const OpNode& node, const std::string& key) {
  const WeightTensor* w = node.weight(key);
  return w ? upload_weight(*w) : CudaBuffer();
}

void check_launch(cudaError_t err, const std::string& where) {
  if (err != cudaSuccess)
    fail(ErrorKind::kDevice, where + ": kernel launch failed: " + cuda_error_text(err));
}

}  // namespace tfjs_infer
