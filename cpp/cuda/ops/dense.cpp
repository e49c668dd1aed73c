// "dense" on the GPU: one GEMM with the bias, residual and activation in its
// epilogue (our kernel), or cuBLAS's SGEMM followed by the same epilogue as
// element-wise launches when cublas=True found cuBLAS. Softmax/log-softmax
// activations run over the finished rows. And Keras's Dot ("batch_dot",
// cuda/kernels/dot.cu).
#include "cuda/kernels/dot.h"
#include "cuda/kernels/elementwise.h"
#include "cuda/kernels/gemm.h"
#include "cuda/kernels/softmax.h"
#include "cuda/ops/cuda_op.h"
#include "ops/activation.h"
#include "ops/shape_rules.h"

namespace tfjs_infer {

// Applies an activation with a softmax row op to y [rows, cols] in place.
void run_activation(const Activation& act, float* y, int64_t rows, int64_t cols,
                    cudaStream_t stream, const std::string& where) {
  if (act.params.kind != ActKind::kLinear)
    check_launch(cuda::activation_f32(act.params, y, y, rows * cols, stream), where);
  if (act.row_op != RowOp::kNone)
    check_launch(
        cuda::softmax_f32(y, y, rows, cols, act.row_op == RowOp::kLogSoftmax ? 1 : 0, stream),
        where);
}

namespace {

class CudaDense final : public CudaOp {
 public:
  explicit CudaDense(const OpNode& node)
      : where_(node.where()),
        act_(parse_activation(node)),
        residual_(node.attr_int("has_residual", 0) != 0) {
    const WeightTensor& kernel = node.require_weight("kernel", {-1, -1});
    in_ = kernel.shape[0];
    units_ = kernel.shape[1];
    kernel_ = upload_weight(kernel);
    bias_ = upload_optional(node, "bias");
  }

  void run(const CudaRunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const int64_t rows = in[0].size() / in_;
    if (rows == 0) return;
    const float* residual = residual_ ? in[1].f32() : nullptr;
    if (ctx.cublas) {
      run_cublas(ctx, in[0].f32(), residual, out[0].f32(), rows);
    } else {
      cuda::GemmArgs g;
      g.m = rows, g.n = units_, g.k = in_;
      g.a = in[0].f32(), g.lda = in_;
      g.b = dev_f32(kernel_), g.ldb = units_;
      g.c = out[0].f32(), g.ldc = units_;
      g.bias = dev_f32(bias_);
      g.residual = residual, g.ldr = units_;
      g.act = act_.params;
      check_launch(cuda::gemm_f32(g, ctx.stream), where_);
      Activation rows_only = act_;
      rows_only.params.kind = ActKind::kLinear;  // already applied in the epilogue
      run_activation(rows_only, out[0].f32(), rows, units_, ctx.stream, where_);
      return;
    }
  }

 private:
  // cuBLAS's product, then the epilogue in the GEMM's order: + bias, + residual, act.
  void run_cublas(const CudaRunContext& ctx, const float* x, const float* residual, float* y,
                  int64_t rows) const {
    ctx.cublas->gemm_row_major(static_cast<int>(rows), static_cast<int>(units_),
                               static_cast<int>(in_), x, dev_f32(kernel_), y, 0.0f);
    auto add = [&](const float* v, bool per_row) {
      cuda::MergeArgs m;
      m.kind = cuda::MergeKind::kAdd;
      m.rank = 2;
      m.out_dims[0] = rows, m.out_dims[1] = units_;
      m.x_strides[0] = per_row ? units_ : 0, m.x_strides[1] = 1;
      m.x = v, m.y = y;
      check_launch(cuda::merge_f32(m, ctx.stream), where_);
    };
    if (bias_.bytes()) add(dev_f32(bias_), false);
    if (residual) add(residual, true);
    run_activation(act_, y, rows, units_, ctx.stream, where_);
  }

  std::string where_;
  Activation act_;
  bool residual_;
  int64_t in_ = 0, units_ = 0;
  CudaBuffer kernel_, bias_;
};

// Keras's Dot ("batch_dot"): inputs of rank 2 or 3 contracted over one axis
// each, optionally L2-normalized along those axes first (into scratch).
class CudaBatchDot final : public CudaOp {
 public:
  explicit CudaBatchDot(const OpNode& node)
      : where_(node.where()),
        axes_(node.attr_ints("axes")),
        normalize_(node.attr_int("normalize", 0) != 0),
        eps_(node.attr_float("norm_eps", 1e-12)),
        eps_on_norm_(node.attr_int("norm_eps_on_norm", 0) != 0) {}

  size_t scratch_bytes(const std::vector<ValueType>& in) const override {
    if (!normalize_) return 0;
    return static_cast<size_t>(num_elements(in[0].shape) + num_elements(in[1].shape)) * 4;
  }

  void run(const CudaRunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const Shape &xs = in[0].shape, &ys = in[1].shape;
    const int64_t ax = positive_axis(axes_[0], xs.size()), ay = positive_axis(axes_[1], ys.size());
    const float* x = in[0].f32();
    const float* y = in[1].f32();
    if (xs[0] == 0) return;
    if (normalize_) {
      float* nx = static_cast<float*>(ctx.scratch);
      float* ny = nx + in[0].size();
      normalize(x, xs, ax, nx, ctx.stream);
      normalize(y, ys, ay, ny, ctx.stream);
      x = nx, y = ny;
    }
    // x viewed as [N, fx, K] through strides, y as [N, K, fy] (the CPU op's view).
    cuda::BatchDotArgs a;
    a.x = x, a.y = y, a.o = out[0].f32();
    a.n = xs[0], a.k = xs[static_cast<size_t>(ax)];
    a.fx = xs.size() == 3 ? xs[static_cast<size_t>(3 - ax)] : 1;
    a.fy = ys.size() == 3 ? ys[static_cast<size_t>(3 - ay)] : 1;
    a.x_row = in[0].size() / a.n, a.y_row = in[1].size() / a.n;
    a.xk = stride_after(xs, ax), a.xf = xs.size() == 3 ? stride_after(xs, 3 - ax) : 0;
    a.yk = stride_after(ys, ay), a.yf = ys.size() == 3 ? stride_after(ys, 3 - ay) : 0;
    check_launch(cuda::batch_dot_f32(a, ctx.stream), where_);
  }

 private:
  void normalize(const float* x, const Shape& s, int64_t ax, float* y, cudaStream_t stream) const {
    cuda::L2NormalizeArgs a;
    a.x = x, a.y = y, a.len = s[static_cast<size_t>(ax)], a.inner = stride_after(s, ax);
    if (a.len * a.inner == 0) return;
    a.outer = num_elements(s) / (a.len * a.inner);
    a.eps = eps_, a.eps_on_norm = eps_on_norm_ ? 1 : 0;
    check_launch(cuda::l2_normalize_f32(a, stream), where_);
  }

  std::string where_;
  std::vector<int64_t> axes_;
  bool normalize_;
  double eps_;
  bool eps_on_norm_;
};

}  // namespace

void register_cuda_dense_ops(CudaOpRegistry& r) {
  r["batch_dot"] = [](const OpNode& n) -> CudaOpPtr { return std::make_unique<CudaBatchDot>(n); };
  r["dense"] = [](const OpNode& n) -> CudaOpPtr {
    if (!n.weight("kernel") || n.weight("kernel")->shape.size() != 2) return nullptr;
    return std::make_unique<CudaDense>(n);
  };
}

}  // namespace tfjs_infer
