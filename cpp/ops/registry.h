// The explicit op registry: every op family file exposes one
// register_<family>_ops() function, called from registry.cpp.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "ops/op.h"

namespace tfjs_infer {

using OpFactory = std::function<OpPtr(const OpNode& node, const KernelTable& kernels)>;
using OpRegistry = std::map<std::string, OpFactory>;

const OpRegistry& op_registry();
std::vector<std::string> registered_op_types();
// Builds the op for `node`; throws kUnsupported for an unknown type.
OpPtr make_op(const OpNode& node, const KernelTable& kernels);

// One per op family (cpp/ops/<family>.cpp).
void register_dense_ops(OpRegistry& r);
void register_activation_ops(OpRegistry& r);
void register_elementwise_ops(OpRegistry& r);
void register_shape_ops(OpRegistry& r);
void register_normalization_ops(OpRegistry& r);
void register_embedding_ops(OpRegistry& r);
void register_conv_ops(OpRegistry& r);
void register_pooling_ops(OpRegistry& r);
void register_resize_ops(OpRegistry& r);
void register_recurrent_ops(OpRegistry& r);
void register_attention_ops(OpRegistry& r);
void register_keras_norm_ops(OpRegistry& r);  // keras_norm.cpp: Keras 3 normalizations

}  // namespace tfjs_infer
