// "activation" (any element-wise kind, softmax / log-softmax over the last
// axis) and "softmax" over any axis on the GPU.
#include "cuda/kernels/elementwise.h"
#include "cuda/kernels/softmax.h"
#include "cuda/kernels/transpose.h"
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

// Softmax / log-softmax over an axis other than the last: the axis moved
// last into scratch (a transpose), the row kernel, and moved back.
class CudaSoftmaxAxis final : public CudaOp {
 public:
  explicit CudaSoftmaxAxis(const OpNode& node)
      : where_(node.where()), axis_(node.attr_int("axis", -1)), log_(node.attr_int("log", 0)) {}

  size_t scratch_bytes(const std::vector<ValueType>& in) const override {
    return static_cast<size_t>(num_elements(in[0].shape)) * 4;
  }

  void run(const CudaRunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const Shape& s = in[0].shape;
    const int64_t rank = static_cast<int64_t>(s.size());
    const size_t axis = static_cast<size_t>(axis_ < 0 ? axis_ + rank : axis_);
    int64_t outer = 1, inner = 1;
    for (size_t d = 0; d < axis; ++d) outer *= s[d];
    for (size_t d = axis + 1; d < s.size(); ++d) inner *= s[d];
    const int64_t len = s[axis];
    if (outer * len * inner == 0) return;
    const int log = log_ != 0 ? 1 : 0;
    if (inner == 1) {
      check_launch(cuda::softmax_f32(in[0].f32(), out[0].f32(), outer, len, log, ctx.stream),
                   where_);
      return;
    }
    float* moved = static_cast<float*>(ctx.scratch);
    permute(in[0].f32(), moved, outer, len, inner, ctx.stream);  // (outer, inner, len)
    check_launch(cuda::softmax_f32(moved, moved, outer * inner, len, log, ctx.stream), where_);
    permute(moved, out[0].f32(), outer, inner, len, ctx.stream);  // back
  }

 private:
  // y (outer, b, a) = x (outer, a, b).
  void permute(const float* x, float* y, int64_t outer, int64_t a, int64_t b,
               cudaStream_t stream) const {
    cuda::TransposeArgs t;
    t.rank = 3;
    t.out_dims[0] = outer, t.out_dims[1] = b, t.out_dims[2] = a;
    t.x_strides[0] = a * b, t.x_strides[1] = 1, t.x_strides[2] = b;
    t.x = x, t.y = y;
    check_launch(cuda::transpose_f32(t, stream), where_);
  }

  std::string where_;
  int64_t axis_, log_;
};

}  // namespace

void register_cuda_activation_ops(CudaOpRegistry& r) {
  r["activation"] = [](const OpNode& n) -> CudaOpPtr {
    return std::make_unique<CudaActivation>(n, parse_activation(n));
  };
  // Softmax over the last axis (-1) fused with the row kernel; any other axis
  // through CudaSoftmaxAxis.
  r["softmax"] = [](const OpNode& n) -> CudaOpPtr {
    if (n.attr_int("axis", -1) != -1) return std::make_unique<CudaSoftmaxAxis>(n);
    Activation act;
    act.row_op = n.attr_int("log", 0) != 0 ? RowOp::kLogSoftmax : RowOp::kSoftmax;
    return std::make_unique<CudaActivation>(n, act);
  };
}

}  // namespace tfjs_infer
