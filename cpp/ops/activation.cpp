// Ops "activation" (element-wise or softmax over the last axis) and "softmax"
// (any axis), plus the activation attribute parser shared by fused epilogues.
#include "ops/activation.h"

#include <cmath>
#include <map>

#include "core/threading.h"
#include "ops/registry.h"

namespace tfjs_infer {

bool act_kind_by_name(const std::string& name, ActKind* kind) {
  static const std::map<std::string, ActKind> kinds = {
#define TFJS_INFER_ACT_NAME(kind, name) {name, ActKind::kind},
      TFJS_INFER_ACTIVATIONS(TFJS_INFER_ACT_NAME)
#undef TFJS_INFER_ACT_NAME
  };
  auto it = kinds.find(name);
  if (it == kinds.end()) return false;
  *kind = it->second;
  return true;
}

Activation parse_activation(const OpNode& node) {
  Activation act;
  const std::string name = node.attr_str("activation", "linear");
  act.params.alpha = static_cast<float>(node.attr_float("act_alpha", 0.0));
  act.params.beta = static_cast<float>(node.attr_float("act_beta", 0.0));
  act.params.gamma = static_cast<float>(node.attr_float("act_gamma", 0.0));
  if (name == "softmax") {
    act.row_op = RowOp::kSoftmax;
  } else if (name == "log_softmax") {
    act.row_op = RowOp::kLogSoftmax;
  } else {
    if (!act_kind_by_name(name, &act.params.kind))
      fail(ErrorKind::kUnsupported, node.where() + ": unknown activation '" + name + "'");
  }
  return act;
}

ActParams parse_cell_activation(const OpNode& node, const std::string& key,
                                const std::string& prefix, const std::string& fallback) {
  OpNode tmp;
  tmp.name = node.name;
  tmp.type = node.type;
  tmp.attrs["activation"] = node.attr_str(key, fallback);
  for (const char* p : {"alpha", "beta", "gamma"}) {
    const std::string k = prefix + "_" + p;
    if (node.has_attr(k)) tmp.attrs[std::string("act_") + p] = node.attr_float(k);
  }
  const Activation a = parse_activation(tmp);
  if (a.row_op != RowOp::kNone)
    fail(ErrorKind::kUnsupported,
         node.where() + ": a softmax cell activation ('" + key + "') is not supported");
  return a.params;
}

void apply_row_op(const KernelTable& k, const Activation& act, float* x, int64_t rows,
                  int64_t cols) {
  if (act.row_op != RowOp::kNone)
    k.softmax_f32(x, rows, cols, act.row_op == RowOp::kLogSoftmax ? 1 : 0);
}

void apply_activation(const KernelTable& k, const Activation& act, float* x, int64_t rows,
                      int64_t cols) {
  if (act.params.kind != ActKind::kLinear) k.activation_f32(act.params, x, rows * cols);
  apply_row_op(k, act, x, rows, cols);
}

namespace {

class ActivationOp final : public Op {
 public:
  ActivationOp(const OpNode& node, const KernelTable&) : Op(node), act_(parse_activation(node)) {
    node.require_inputs(1, 1);
  }
  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    if (act_.row_op != RowOp::kNone && in[0].shape.empty())
      shape_error("softmax needs an input of rank 1 or more");
    return {{in[0].shape, DType::kFloat32}};
  }
  void run(const RunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const int64_t n = in[0].size();
    const int64_t cols = in[0].shape.empty() ? 1 : in[0].shape.back();
    const int64_t rows = cols ? n / cols : 0;
    if (n == 0) return;
    const float* x = in[0].f32();
    float* y = out[0].f32();
    // Row blocks of at least ~16k elements per task; rows never split.
    const int64_t rows_per_task = std::max<int64_t>(1, 16384 / std::max<int64_t>(cols, 1));
    const int64_t tasks = (rows + rows_per_task - 1) / rows_per_task;
    parallel_for(tasks, threads_for(ctx.num_threads, n * 16, tasks), [&](int64_t t) {
      const int64_t r0 = t * rows_per_task, r1 = std::min(rows, r0 + rows_per_task);
      if (x != y) std::copy(x + r0 * cols, x + r1 * cols, y + r0 * cols);
      apply_activation(*ctx.kernels, act_, y + r0 * cols, r1 - r0, cols);
    });
  }

 private:
  Activation act_;
};

// Softmax along any axis: [outer, axis, inner] with a strided inner loop.
class SoftmaxOp final : public Op {
 public:
  SoftmaxOp(const OpNode& node, const KernelTable&)
      : Op(node), axis_(node.attr_int("axis", -1)), log_(node.attr_int("log", 0) != 0) {
    node.require_inputs(1, 1);
  }
  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    const int64_t rank = static_cast<int64_t>(in[0].shape.size());
    if (axis_ < -rank || axis_ >= rank)
      shape_error("axis " + std::to_string(axis_) + " is out of range for input shape " +
                  shape_str(in[0].shape));
    return {{in[0].shape, DType::kFloat32}};
  }
  void run(const RunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const int64_t rank = in[0].rank();
    const int64_t axis = axis_ < 0 ? axis_ + rank : axis_;
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= in[0].shape[d];
    for (int64_t d = axis + 1; d < rank; ++d) inner *= in[0].shape[d];
    const int64_t len = in[0].shape[axis];
    const float* x = in[0].f32();
    float* y = out[0].f32();
    if (x != y) std::copy(x, x + in[0].size(), y);
    if (inner == 1) {
      ctx.kernels->softmax_f32(y, outer, len, log_ ? 1 : 0);
      return;
    }
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        float* base = y + o * len * inner + i;
        float mx = -INFINITY;
        for (int64_t j = 0; j < len; ++j) mx = std::max(mx, base[j * inner]);
        double sum = 0;
        for (int64_t j = 0; j < len; ++j) sum += std::exp(double(base[j * inner]) - mx);
        for (int64_t j = 0; j < len; ++j) {
          const double v = double(base[j * inner]) - mx;
          base[j * inner] = static_cast<float>(log_ ? v - std::log(sum) : std::exp(v) / sum);
        }
      }
    }
  }

 private:
  int64_t axis_;
  bool log_;
};

}  // namespace

void register_activation_ops(OpRegistry& r) {
  r["activation"] = [](const OpNode& n, const KernelTable& k) {
    return std::make_unique<ActivationOp>(n, k);
  };
  r["softmax"] = [](const OpNode& n, const KernelTable& k) {
    return std::make_unique<SoftmaxOp>(n, k);
  };
}

}  // namespace tfjs_infer
