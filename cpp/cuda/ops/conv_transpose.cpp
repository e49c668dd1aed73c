// "conv1d_transpose" / "conv2d_transpose" / "conv3d_transpose" on the GPU, as
// the CPU op (ops/conv_transpose.cpp) computes them: one GEMM
// col = x (pixels, cin) . B (cin, (kk, cout)), then a gather that sums each
// output's taps in (kd, kh, kw) order from +0, adds the bias and applies the
// activation (cuda/kernels/conv_transpose.cu). Images go through in chunks
// that bound the col buffer.
#include <algorithm>

#include "cuda/kernels/conv_transpose.h"
#include "cuda/kernels/gemm.h"
#include "cuda/ops/cuda_op.h"
#include "ops/activation.h"
#include "ops/conv_geometry.h"

namespace tfjs_infer {

void run_activation(const Activation& act, float* y, int64_t rows, int64_t cols,
                    cudaStream_t stream, const std::string& where);  // dense.cpp

namespace {

constexpr int64_t kColFloats = int64_t{16} << 20;  // 64 MiB of col per chunk of images

class CudaConvTranspose final : public CudaOp {
 public:
  CudaConvTranspose(const OpNode& node, int rank)
      : where_(node.where()), act_(parse_activation(node)) {
    const WeightTensor& kernel = node.require_weight("kernel", Shape(size_t(rank) + 2, -1));
    const std::vector<int64_t> ksize(kernel.shape.begin(), kernel.shape.begin() + rank);
    geo_ = parse_conv_geometry(node, rank, ksize, /*allow_causal=*/false);
    cout_ = kernel.shape[static_cast<size_t>(rank)];
    cin_ = kernel.shape[static_cast<size_t>(rank) + 1];
    cols_ = geo_.kernel_volume() * cout_;
    // B[ci, kk * cout + co] = W[kk, co, ci].
    std::vector<float> w(static_cast<size_t>(kernel.size()));
    kernel.copy_values(w.data());
    std::vector<float> b(static_cast<size_t>(cin_ * cols_));
    for (int64_t kk = 0; kk < geo_.kernel_volume(); ++kk)
      for (int64_t co = 0; co < cout_; ++co)
        for (int64_t ci = 0; ci < cin_; ++ci)
          b[static_cast<size_t>(ci * cols_ + kk * cout_ + co)] =
              w[static_cast<size_t>((kk * cout_ + co) * cin_ + ci)];
    b_ = upload_floats(b);
    bias_ = upload_optional(node, "bias");
  }

  size_t scratch_bytes(const std::vector<ValueType>& in) const override {
    const int64_t per_image = image_pixels(in[0].shape) * cols_;
    return static_cast<size_t>(chunk_images(in[0].shape) * per_image) * 4;
  }

  void run(const CudaRunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const int64_t batch = in[0].dim(0), m_in = image_pixels(in[0].shape);
    if (batch == 0 || out[0].size() == 0) return;
    const auto di = spatial_dims(in[0].shape, geo_.rank);
    const auto dout = spatial_dims(out[0].shape, geo_.rank);
    const int64_t m_out = dout[0] * dout[1] * dout[2];
    cuda::ConvTransposeGatherArgs g;
    g.bias = dev_f32(bias_), g.cout = cout_, g.act = act_.params;
    for (int i = 0; i < 3; ++i) {
      g.in[i] = di[i], g.out[i] = dout[i], g.k[i] = geo_.k[i];
      g.stride[i] = geo_.s[i], g.dil[i] = geo_.d[i],
      g.pad_before[i] = pad_before(i, di[i], dout[i]);
    }
    float* col = static_cast<float*>(ctx.scratch);
    const int64_t chunk = chunk_images(in[0].shape);
    for (int64_t b0 = 0; b0 < batch; b0 += chunk) {
      const int64_t images = std::min(chunk, batch - b0);
      if (m_in > 0) {
        cuda::GemmArgs gm;
        gm.m = images * m_in, gm.n = cols_, gm.k = cin_;
        gm.a = in[0].f32() + b0 * m_in * cin_, gm.lda = cin_;
        gm.b = dev_f32(b_), gm.ldb = cols_, gm.c = col, gm.ldc = cols_;
        check_launch(cuda::gemm_f32(gm, ctx.stream), where_);
      }
      g.n = images, g.col = col, g.y = out[0].f32() + b0 * m_out * cout_;
      check_launch(cuda::conv_transpose_gather_f32(g, ctx.stream), where_);
    }
    Activation rows_only = act_;
    rows_only.params.kind = ActKind::kLinear;  // applied by the gather
    run_activation(rows_only, out[0].f32(), batch * m_out, cout_, ctx.stream, where_);
  }

 private:
  int64_t image_pixels(const Shape& x) const {
    const auto d = spatial_dims(x, geo_.rank);
    return d[0] * d[1] * d[2];
  }

  int64_t chunk_images(const Shape& x) const {
    const int64_t per_image = std::max<int64_t>(1, image_pixels(x) * cols_);
    return std::max<int64_t>(1, std::min<int64_t>(x[0], kColFloats / per_image));
  }

  // Padding of the forward convolution whose input is this op's output (the
  // CPU op's rule).
  int64_t pad_before(int i, int64_t in, int64_t out) const {
    if (geo_.pad != PadMode::kSame) return 0;
    const int64_t total = (in - 1) * geo_.s[i] + geo_.k_eff(i) - out;
    return total > 0 ? total / 2 : 0;
  }

  std::string where_;
  Activation act_;
  ConvGeometry geo_;
  int64_t cin_ = 0, cout_ = 0, cols_ = 0;
  CudaBuffer b_, bias_;
};

template <int Rank>
CudaOpFactory factory() {
  return [](const OpNode& n) -> CudaOpPtr { return std::make_unique<CudaConvTranspose>(n, Rank); };
}

}  // namespace

void register_cuda_conv_transpose_ops(CudaOpRegistry& r) {
  r["conv1d_transpose"] = factory<1>();
  r["conv2d_transpose"] = factory<2>();
  r["conv3d_transpose"] = factory<3>();
}

}  // namespace tfjs_infer
