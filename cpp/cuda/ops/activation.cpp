// "activation" (any element-wise kind, softmax / log-softmax over the last
// axis) and "softmax" over the last axis on the GPU.
#include "cuda/kernels/elementwise.h"
#include "cuda/kernels/softmax.h"
#include "cuda/ops/cuda_op.h"
#include "ops/activation.h"

namespace tfjs_infer {

void run_activation(const Activation& act, float* y, int64_t rows, int64_t cols,
                    cudaStream_t stream, const std::string& where);  // dense.cpp

namespace {

class CudaActivation final : public CudaOp {
 public:
  CudaActivation(const OpNode& node, Activation act) : where_(node.where()), act_(act) {}

  void run(const CudaRunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const int64_t n = in[0].size();
    if (n == 0) return;
    const int64_t cols = in[0].shape.empty() ? 1 : in[0].shape.back();
    const int64_t rows = cols ? n / cols : 0;
    if (act_.params.kind != ActKind::kLinear) {
      check_launch(cuda::activation_f32(act_.params, in[0].f32(), out[0].f32(), n, ctx.stream),
                   where_);
      Activation rows_only = act_;
      rows_only.params.kind = ActKind::kLinear;
      run_activation(rows_only, out[0].f32(), rows, cols, ctx.stream, where_);
      return;
    }
    if (act_.row_op != RowOp::kNone) {
      check_launch(cuda::softmax_f32(in[0].f32(), out[0].f32(), rows, cols,
                                     act_.row_op == RowOp::kLogSoftmax ? 1 : 0, ctx.stream),
                   where_);
      return;
    }
    check_cuda(cudaMemcpyAsync(out[0].data, in[0].data, static_cast<size_t>(n) * 4,
                               cudaMemcpyDeviceToDevice, ctx.stream),
               "cudaMemcpyAsync (linear activation)");
  }

 private:
  std::string where_;
  Activation act_;
};

}  // namespace

void register_cuda_activation_ops(CudaOpRegistry& r) {
  r["activation"] = [](const OpNode& n) -> CudaOpPtr {
    return std::make_unique<CudaActivation>(n, parse_activation(n));
  };
  // Softmax over the last axis only; other axes run on the CPU.
  r["softmax"] = [](const OpNode& n) -> CudaOpPtr {
    if (n.attr_int("axis", -1) != -1) return nullptr;
    Activation act;
    act.row_op = n.attr_int("log", 0) != 0 ? RowOp::kLogSoftmax : RowOp::kSoftmax;
    return std::make_unique<CudaActivation>(n, act);
  };
}

}  // namespace tfjs_infer
