// Ops "dense" (x W + b with a fused activation, over the last axis) and
// "batch_dot" (Keras Dot: a batched contraction of two inputs).
#include <cmath>

#include "core/threading.h"
#include "ops/activation.h"
#include "ops/gemm_driver.h"
#include "ops/registry.h"
#include "ops/weights.h"
#include "ops/shape_rules.h"

namespace tfjs_infer {

namespace {

class DenseOp final : public Op {
 public:
  DenseOp(const OpNode& node, const KernelTable& k)
      : Op(node), act_(parse_activation(node)), residual_(node.attr_int("has_residual", 0) != 0) {
    node.require_inputs(residual_ ? 2 : 1, residual_ ? 2 : 1);
    const WeightTensor& kernel = node.require_weight("kernel", {-1, -1});
    in_ = kernel.shape[0];
    units_ = kernel.shape[1];
    if (in_ < 1 || units_ < 1)
      fail(ErrorKind::kInvalidModel,
           where() + ": kernel shape " + shape_str(kernel.shape) + " has an empty dimension");
    copy_bias(node, "bias", units_, bias_);
    packed_.pack(k, kernel, in_, units_, 0, units_, node_precision(node));
  }

  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    const Shape& s = in[0].shape;
    if (s.empty() || !dims_fit(s.back(), in_))
      shape_error("expected an input whose last axis is " + std::to_string(in_) + ", received " +
                  shape_str(s));
    if (in[0].dtype != DType::kFloat32) shape_error("expected a float32 input");
    Shape o = s;
    o.back() = units_;
    if (residual_ && !shapes_fit(in[1].shape, o))
      shape_error("fused residual of shape " + shape_str(in[1].shape) + " does not match " +
                  shape_str(o));
    return {{o, DType::kFloat32}};
  }

  void run(const RunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const KernelTable& k = *ctx.kernels;
    const int64_t rows = in[0].size() / in_;
    if (rows == 0) return;
    const int64_t panels = (units_ + k.gemm_nr - 1) / k.gemm_nr;
    const int threads = threads_for(ctx.num_threads, 2 * rows * in_ * units_, rows * panels);
    // Rows or column panels (gemm_driver.cpp's rule): either way no element's
    // reduction order changes. A row op (softmax) needs whole rows: in the
    // task when it holds them, after the split otherwise.
    const GemmSplit split = plan_gemm_split(k, rows, 0, units_, threads);
    const bool row_op_in_task = split.by_rows;
    GemmCall call;
    call.m = rows;
    call.a = in[0].f32();
    call.lda = in_;
    call.c = out[0].f32();
    call.ldc = units_;
    call.ep.bias = bias_.size() ? bias_.data() : nullptr;
    call.ep.act = act_.params;
    if (residual_) {
      call.ep.residual = in[1].f32();
      call.ep.ldr = units_;
    }
    parallel_for_owned(split.tasks, threads, [&](int64_t t) {
      const GemmCall part = split.part(call, t);
      gemm_run(k, packed_, part);
      if (row_op_in_task) apply_row_op(k, act_, part.c, part.m, units_);
    });
    if (!row_op_in_task) apply_row_op(k, act_, out[0].f32(), rows, units_);
  }

 private:
  int64_t in_ = 0, units_ = 0;
  Activation act_;
  bool residual_ = false;  // a fused residual Add: second input, added in the epilogue
  PackedMatrix packed_;
  Buffer<float> bias_;
};

// Keras Dot over inputs of rank 2 or 3: contracts axis a of x with axis b of y
// per batch row. Output (N,) + free(x) + free(y); rank 1 becomes (N, 1).
class BatchDotOp final : public Op {
 public:
  BatchDotOp(const OpNode& node, const KernelTable&)
      : Op(node),
        axes_(node.attr_ints("axes")),
        normalize_(node.attr_int("normalize", 0) != 0),
        norm_eps_(node.attr_float("norm_eps", 1e-12)),
        norm_eps_on_norm_(node.attr_int("norm_eps_on_norm", 0) != 0) {
    node.require_inputs(2, 2);
    if (axes_.size() != 2) fail(ErrorKind::kInvalidModel, where() + ": 'axes' must hold two axes");
  }

  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    const Shape &x = in[0].shape, &y = in[1].shape;
    if (x.size() < 2 || x.size() > 3 || y.size() < 2 || y.size() > 3)
      shape_error("Dot supports inputs of rank 2 or 3, received " + shape_str(x) + " and " +
                  shape_str(y));
    const int64_t ax = positive_axis(axes_[0], x.size()), ay = positive_axis(axes_[1], y.size());
    if (!dims_fit(x[ax], y[ay]))
      shape_error("contracted axes differ: " + shape_str(x) + " axis " + std::to_string(ax) +
                  " vs " + shape_str(y) + " axis " + std::to_string(ay));
    if (!dims_fit(x[0], y[0])) shape_error("inputs have different batch sizes");
    Shape o = {x[0]};
    for (size_t d = 1; d < x.size(); ++d)
      if (static_cast<int64_t>(d) != ax) o.push_back(x[d]);
    for (size_t d = 1; d < y.size(); ++d)
      if (static_cast<int64_t>(d) != ay) o.push_back(y[d]);
    if (o.size() == 1) o.push_back(1);
    return {{o, DType::kFloat32}};
  }

  size_t scratch_bytes(const std::vector<ValueType>& in) const override {
    return normalize_
               ? static_cast<size_t>(num_elements(in[0].shape) + num_elements(in[1].shape)) * 4
               : 0;
  }

  void run(const RunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const Shape &xs = in[0].shape, &ys = in[1].shape;
    const int64_t ax = positive_axis(axes_[0], xs.size()), ay = positive_axis(axes_[1], ys.size());
    const float* x = in[0].f32();
    const float* y = in[1].f32();
    if (normalize_) {
      float* nx = static_cast<float*>(ctx.scratch);
      float* ny = nx + in[0].size();
      l2_normalize(x, xs, ax, nx);
      l2_normalize(y, ys, ay, ny);
      x = nx;
      y = ny;
    }
    // View x as [N, fx, K] via strides, y as [N, K, fy].
    const int64_t n = xs[0], kdim = xs[ax];
    const int64_t fx = xs.size() == 3 ? xs[3 - ax] : 1;
    const int64_t fy = ys.size() == 3 ? ys[3 - ay] : 1;
    const int64_t x_row = num_elements(xs) / n, y_row = num_elements(ys) / n;
    const int64_t xk = stride_after(xs, ax), xf = xs.size() == 3 ? stride_after(xs, 3 - ax) : 0;
    const int64_t yk = stride_after(ys, ay), yf = ys.size() == 3 ? stride_after(ys, 3 - ay) : 0;
    float* o = out[0].f32();
    for (int64_t b = 0; b < n; ++b)
      for (int64_t i = 0; i < fx; ++i)
        for (int64_t j = 0; j < fy; ++j) {
          float acc = 0.0f;
          for (int64_t kk = 0; kk < kdim; ++kk)
            acc += x[b * x_row + i * xf + kk * xk] * y[b * y_row + j * yf + kk * yk];
          o[(b * fx + i) * fy + j] = acc;
        }
  }

 private:
  void l2_normalize(const float* x, const Shape& s, int64_t ax, float* y) const {
    const int64_t len = s[ax], st = stride_after(s, ax);
    const int64_t outer = num_elements(s) / (len * st);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < st; ++i) {
        const float* src = x + o * len * st + i;
        float* dst = y + o * len * st + i;
        double sum = 0;
        for (int64_t j = 0; j < len; ++j) sum += double(src[j * st]) * src[j * st];
        const double denom = norm_eps_on_norm_ ? std::max(std::sqrt(sum), norm_eps_)
                                               : std::sqrt(std::max(sum, norm_eps_));
        for (int64_t j = 0; j < len; ++j) dst[j * st] = static_cast<float>(src[j * st] / denom);
      }
  }

  std::vector<int64_t> axes_;
  bool normalize_;
  double norm_eps_;
  bool norm_eps_on_norm_;
};

}  // namespace

void register_dense_ops(OpRegistry& r) {
  OpTraits dense;  // activation, BatchNorm and residual Add fold into the GEMM epilogue
  dense.fuses_activation = dense.folds_batch_norm = dense.fuses_residual = true;
  r["dense"] = OpEntry(
      [](const OpNode& n, const KernelTable& k) { return std::make_unique<DenseOp>(n, k); }, dense);
  r["batch_dot"] = [](const OpNode& n, const KernelTable& k) {
    return std::make_unique<BatchDotOp>(n, k);
  };
}

}  // namespace tfjs_infer
