// Shared parsing of the core activation attributes ("activation", "act_alpha",
// "act_beta", "act_gamma") used by the activation op and by every op with a
// fused epilogue (dense, conv, ...).
#pragma once

#include <string>

#include "core/graph.h"
#include "kernels/kernels.h"

namespace tfjs_infer {

enum class RowOp { kNone, kSoftmax, kLogSoftmax };

struct Activation {
  ActParams params;             // element-wise part (kLinear when none)
  RowOp row_op = RowOp::kNone;  // softmax over the last axis, applied after

  bool is_linear() const { return params.kind == ActKind::kLinear && row_op == RowOp::kNone; }
};

Activation parse_activation(const OpNode& node);

// The element-wise kind for a core activation name ("relu", "gelu_tanh", ...);
// false for unknown names (and for the row ops softmax / log_softmax).
bool act_kind_by_name(const std::string& name, ActKind* kind);

// A recurrent cell's activation: attr `key` (default `fallback`) with its
// parameters under `prefix`_alpha/_beta/_gamma ("act", "ract"). Element-wise
// kinds only: a softmax throws kUnsupported naming the layer and the key.
ActParams parse_cell_activation(const OpNode& node, const std::string& key,
                                const std::string& prefix, const std::string& fallback);

// Whether the depthwise kernel applies this kind itself (DepthwiseArgs::act);
// callers apply the others to the finished rows.
inline bool depthwise_fuses(ActKind kind) {
  return kind == ActKind::kLinear || kind == ActKind::kRelu || kind == ActKind::kRelu6;
}

// Applies act's softmax / log-softmax (if any) in place to each row of a
// [rows, cols] block: what a fused epilogue leaves for after its product.
void apply_row_op(const KernelTable& k, const Activation& act, float* x, int64_t rows,
                  int64_t cols);

// Applies `act` in place to a [rows, cols] block (cols = last axis).
void apply_activation(const KernelTable& k, const Activation& act, float* x, int64_t rows,
                      int64_t cols);

}  // namespace tfjs_infer
