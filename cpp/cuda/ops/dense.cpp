// "dense" on the GPU: one GEMM with the bias, residual and activation in its
// epilogue (our kernel), or cuBLAS's SGEMM followed by the same epilogue as
// element-wise launches when cublas=True found cuBLAS. Softmax/log-softmax
// activations run over the finished rows.
#include "cuda/kernels/elementwise.h"
#include "cuda/kernels/gemm.h"
#include "cuda/kernels/softmax.h"
#include "cuda/ops/cuda_op.h"
#include "ops/activation.h"

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

}  // namespace

void register_cuda_dense_ops(CudaOpRegistry& r) {
  r["dense"] = [](const OpNode& n) -> CudaOpPtr {
    if (!n.weight("kernel") || n.weight("kernel")->shape.size() != 2) return nullptr;
    return std::make_unique<CudaDense>(n);
  };
}

}  // namespace tfjs_infer
