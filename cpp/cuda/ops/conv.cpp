// "conv1d" / "conv2d" / "conv3d" as implicit GEMM (bias, residual and activation in the
// epilogue; a folded BatchNorm is already in the kernel) and
// "depthwise_conv1d" / "depthwise_conv2d" (any depth multiplier) on the GPU.
// Transposed convolutions (conv_transpose.cpp) have their own file; the CPU's
// fused conv+pool runs on the CPU.
#include "cuda/kernels/depthwise.h"
#include "cuda/kernels/gemm.h"
#include "cuda/ops/cuda_op.h"
#include "ops/activation.h"
#include "ops/conv_geometry.h"

namespace tfjs_infer {

void run_activation(const Activation& act, float* y, int64_t rows, int64_t cols,
                    cudaStream_t stream, const std::string& where);  // dense.cpp

namespace {

// The (D, H, W) window of a 1D, 2D or 3D op for one input: sizes, strides,
// dilations and padding before, with 1D ops as height 1 and depth 1.
struct Window3d {
  int64_t in_d = 1, in_h = 1, in_w = 1, out_d = 1, out_h = 1, out_w = 1, kd = 1, kh = 1, kw = 1;
  int64_t sd = 1, sh = 1, sw = 1, dd = 1, dh = 1, dw = 1, pad_front = 0, pad_top = 0, pad_left = 0;
};

Window3d window_of(const ConvGeometry& g, const Shape& x, const Shape& y) {
  Window3d w;
  const auto in = spatial_dims(x, g.rank);
  const auto out = spatial_dims(y, g.rank);
  w.in_d = in[0], w.in_h = in[1], w.in_w = in[2];
  w.out_d = out[0], w.out_h = out[1], w.out_w = out[2];
  w.kd = g.k[0], w.kh = g.k[1], w.kw = g.k[2];
  w.sd = g.s[0], w.sh = g.s[1], w.sw = g.s[2], w.dd = g.d[0], w.dh = g.d[1], w.dw = g.d[2];
  w.pad_front = g.pad_before(0, in[0]);
  w.pad_top = g.pad_before(1, in[1]);
  w.pad_left = g.pad_before(2, in[2]);
  return w;
}

class CudaConv final : public CudaOp {
 public:
  CudaConv(const OpNode& node, int rank)
      : where_(node.where()),
        act_(parse_activation(node)),
        residual_(node.attr_int("has_residual", 0) != 0) {
    const WeightTensor& kernel = node.require_weight("kernel", Shape(size_t(rank) + 2, -1));
    const std::vector<int64_t> ksize(kernel.shape.begin(), kernel.shape.begin() + rank);
    geo_ = parse_conv_geometry(node, rank, ksize, /*allow_causal=*/true);
    groups_ = node.attr_int("groups", 1);
    cout_ = kernel.shape.back();
    kernel_ = upload_weight(kernel);
    bias_ = upload_optional(node, "bias");
  }

  void run(const CudaRunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    if (out[0].size() == 0) return;
    const Window3d w = window_of(geo_, in[0].shape, out[0].shape);
    cuda::ConvArgs a;
    a.x = in[0].f32(), a.w = dev_f32(kernel_), a.bias = dev_f32(bias_);
    a.residual = residual_ ? in[1].f32() : nullptr;
    a.y = out[0].f32();
    a.n = in[0].dim(0), a.in_h = w.in_h, a.in_w = w.in_w, a.cin = in[0].shape.back();
    a.out_h = w.out_h, a.out_w = w.out_w, a.cout = cout_;
    a.kh = w.kh, a.kw = w.kw, a.stride_h = w.sh, a.stride_w = w.sw, a.dil_h = w.dh, a.dil_w = w.dw;
    a.pad_top = w.pad_top, a.pad_left = w.pad_left, a.groups = groups_;
    a.in_d = w.in_d, a.out_d = w.out_d, a.kd = w.kd, a.stride_d = w.sd, a.dil_d = w.dd;
    a.pad_front = w.pad_front;
    a.act = act_.params;
    check_launch(cuda::conv2d_f32(a, ctx.stream), where_);
    Activation rows_only = act_;
    rows_only.params.kind = ActKind::kLinear;
    run_activation(rows_only, out[0].f32(), out[0].size() / cout_, cout_, ctx.stream, where_);
  }

 private:
  std::string where_;
  Activation act_;
  bool residual_;
  ConvGeometry geo_;
  int64_t groups_ = 1, cout_ = 0;
  CudaBuffer kernel_, bias_;
};

class CudaDepthwise final : public CudaOp {
 public:
  CudaDepthwise(const OpNode& node, int rank) : where_(node.where()), act_(parse_activation(node)) {
    const WeightTensor& kernel = node.require_weight("kernel", Shape(size_t(rank) + 1, -1));
    const std::vector<int64_t> ksize(kernel.shape.begin(), kernel.shape.begin() + rank);
    geo_ = parse_conv_geometry(node, rank, ksize, /*allow_causal=*/true);
    channels_ = kernel.shape.back();
    multiplier_ = node.attr_int("depth_multiplier", 1);
    kernel_ = upload_weight(kernel);
    bias_ = upload_optional(node, "bias");
  }

  void run(const CudaRunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    if (out[0].size() == 0) return;
    const Window3d w = window_of(geo_, in[0].shape, out[0].shape);
    cuda::DepthwiseArgs a;
    a.x = in[0].f32(), a.w = dev_f32(kernel_), a.bias = dev_f32(bias_), a.y = out[0].f32();
    a.n = in[0].dim(0), a.in_h = w.in_h, a.in_w = w.in_w, a.c = channels_;
    a.out_h = w.out_h, a.out_w = w.out_w;
    a.kh = w.kh, a.kw = w.kw, a.stride_h = w.sh, a.stride_w = w.sw, a.dil_h = w.dh, a.dil_w = w.dw;
    a.pad_top = w.pad_top, a.pad_left = w.pad_left;
    a.multiplier = multiplier_;
    a.act = act_.params;
    check_launch(cuda::depthwise_f32(a, ctx.stream), where_);
    Activation rows_only = act_;
    rows_only.params.kind = ActKind::kLinear;
    run_activation(rows_only, out[0].f32(), out[0].size() / channels_, channels_, ctx.stream,
                   where_);
  }

 private:
  std::string where_;
  Activation act_;
  ConvGeometry geo_;
  int64_t channels_ = 0, multiplier_ = 1;
  CudaBuffer kernel_, bias_;
};

template <int Rank>
CudaOpFactory conv_factory() {
  return [](const OpNode& n) -> CudaOpPtr {
    if (!n.attr_str("pool_mode", "").empty()) return nullptr;  // the CPU's conv+pool fusion
    return std::make_unique<CudaConv>(n, Rank);
  };
}

template <int Rank>
CudaOpFactory depthwise_factory() {
  return [](const OpNode& n) -> CudaOpPtr { return std::make_unique<CudaDepthwise>(n, Rank); };
}

}  // namespace

void register_cuda_conv_ops(CudaOpRegistry& r) {
  r["conv1d"] = conv_factory<1>();
  r["conv2d"] = conv_factory<2>();
  r["conv3d"] = conv_factory<3>();
  r["depthwise_conv1d"] = depthwise_factory<1>();
  r["depthwise_conv2d"] = depthwise_factory<2>();
}

}  // namespace tfjs_infer
