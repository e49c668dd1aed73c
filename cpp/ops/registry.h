// The explicit op registry: every op family file exposes one
// register_<family>_ops() function, called from registry.cpp.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ops/op.h"

namespace tfjs_infer {

using OpFactory = std::function<OpPtr(const OpNode& node, const KernelTable& kernels)>;

// What an op type accepts from the compile passes (compile/passes.cpp asks
// these instead of naming op types). An op declares them where it registers.
struct OpTraits {
  // The activation attrs (activation, act_alpha/beta/gamma) are its
  // epilogue: a following "activation" op folds into it.
  bool fuses_activation = false;
  // Weights "kernel" (..., C) and "bias" (C), C on the output's last axis,
  // scaled per output channel: a following last-axis BatchNorm folds in.
  bool folds_batch_norm = false;
  // Adds a second input in its epilogue (attr has_residual): a following
  // same-shape Add folds in.
  bool fuses_residual = false;
  // Spatial rank of a window op whose 'valid' padding can take a preceding
  // Pad as 'explicit' pads (attr pads); 0: none.
  int pad_fold_rank = 0;
  // The type this op becomes with a following pooling fused into it (attrs
  // pool_mode, pool_size, pool_max_from_lowest); "": none. takes_pool says
  // which of its nodes can (attrs, weights); unset: all.
  std::string pool_fused_type;
  std::function<bool(const OpNode&)> takes_pool;
  // For a pooling op: the window of a node that the op before it can take
  // in (pool_fused_type), empty when this node cannot be fused that way.
  std::function<std::vector<int64_t>(const OpNode&)> fusable_pool_window;
};

struct OpEntry {
  OpFactory make;
  OpTraits traits;

  OpEntry() = default;
  template <class F>
  OpEntry(F make_op, OpTraits op_traits = {})  // NOLINT: a bare factory is an entry
      : make(std::move(make_op)), traits(std::move(op_traits)) {}
};

using OpRegistry = std::map<std::string, OpEntry>;

const OpRegistry& op_registry();
// Builds the op for `node`; throws kUnsupported for an unknown type.
OpPtr make_op(const OpNode& node, const KernelTable& kernels);
// The traits of op type `type` (none for an unknown type).
const OpTraits& op_traits(const std::string& type);

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
