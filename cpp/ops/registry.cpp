#include "ops/registry.h"

namespace tfjs_infer {

const OpRegistry& op_registry() {
  static const OpRegistry registry = [] {
    OpRegistry r;
    register_dense_ops(r);
    register_activation_ops(r);
    register_elementwise_ops(r);
    register_shape_ops(r);
    register_normalization_ops(r);
    register_embedding_ops(r);
    register_conv_ops(r);
    register_pooling_ops(r);
    register_resize_ops(r);
    register_recurrent_ops(r);
    register_attention_ops(r);
    register_keras_norm_ops(r);
    return r;
  }();
  return registry;
}

const OpTraits& op_traits(const std::string& type) {
  static const OpTraits none;
  auto it = op_registry().find(type);
  return it == op_registry().end() ? none : it->second.traits;
}

OpPtr make_op(const OpNode& node, const KernelTable& kernels) {
  auto it = op_registry().find(node.type);
  if (it == op_registry().end())
    fail(ErrorKind::kUnsupported, node.where() + ": the core has no op '" + node.type + "'");
  return it->second.make(node, kernels);
}

}  // namespace tfjs_infer
