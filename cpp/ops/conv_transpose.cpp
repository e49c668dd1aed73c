// Op family 'conv_transpose': "conv1d_transpose", "conv2d_transpose",
// "conv3d_transpose".
#include <algorithm>
#include <vector>

#include "core/threading.h"
#include "ops/activation.h"
#include "ops/conv_geometry.h"
#include "ops/gemm_driver.h"
#include "ops/registry.h"
#include "ops/weights.h"
#include "ops/shape_rules.h"

namespace tfjs_infer {

namespace {

[[noreturn]] void fail_model(const OpNode& node, const std::string& what) {
  fail(ErrorKind::kInvalidModel, node.where() + ": " + what);
}

// Transposed convolution: "conv1d_transpose" / "conv2d_transpose" /
// "conv3d_transpose", the gradient of the forward convolution with the same
// kernel, strides, dilation and padding rule (TFJS-FORMAT.md 5.2):
//
//   y[o] = act(bias + sum over (i, kk) with o = i s - pad_before + kk d of x[i] . W[kk])
//
// attrs: strides, dilations, padding ('valid' | 'same'), output_padding (one
// per spatial dim, -1 for none: the output length is then inferred).
// weights: kernel (k..., cout, cin), bias (cout) optional.
//
// Computed as one GEMM per image, col = x (pixels, cin) . B (cin, (kk, cout)),
// then a gather per output pixel that sums its taps' columns in kk order.
class ConvTransposeOp final : public Op {
 public:
  ConvTransposeOp(const OpNode& node, const KernelTable& k, int rank)
      : Op(node), act_(parse_activation(node)) {
    node.require_inputs(1, 1);
    Shape want(static_cast<size_t>(rank + 2), -1);
    const WeightTensor& kernel = node.require_weight("kernel", want);
    const std::vector<int64_t> ksize(kernel.shape.begin(), kernel.shape.begin() + rank);
    geo_ = parse_conv_geometry(node, rank, ksize, /*allow_causal=*/false);
    cout_ = kernel.shape[static_cast<size_t>(rank)];
    cin_ = kernel.shape[static_cast<size_t>(rank) + 1];
    if (cin_ < 1 || cout_ < 1)
      fail_model(node, "kernel shape " + shape_str(kernel.shape) + " is empty");
    const std::vector<int64_t> none(static_cast<size_t>(rank), -1);
    const std::vector<int64_t> op = node.attr_ints("output_padding", none);
    if (op.size() != static_cast<size_t>(rank))
      fail_model(node, "output_padding must hold " + std::to_string(rank) + " values");
    for (int i = 0; i < rank; ++i) {
      const int dim = 3 - rank + i;
      out_pad_[dim] = op[i];
      if (op[i] >= 0 && op[i] >= geo_.s[dim])
        fail_model(node, "output_padding " + ints_str(op) +
                             " must be smaller than the strides (Keras "
                             "refuses it)");
    }
    copy_bias(node, "bias", cout_, bias_);
    // B[ci, kk * cout + co] = W[kk, co, ci].
    cols_ = geo_.kernel_volume() * cout_;
    std::vector<float> b(static_cast<size_t>(cin_ * cols_));
    for (int64_t kk = 0; kk < geo_.kernel_volume(); ++kk)
      for (int64_t co = 0; co < cout_; ++co)
        for (int64_t ci = 0; ci < cin_; ++ci)
          b[static_cast<size_t>(ci * cols_ + kk * cout_ + co)] =
              kernel.f32[static_cast<size_t>((kk * cout_ + co) * cin_ + ci)];
    packed_.pack(k, b.data(), cin_, cols_);
  }

  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    const Shape& s = in[0].shape;
    const std::string problem = conv_input_problem(in[0], geo_.rank, cin_);
    if (!problem.empty()) shape_error(problem);
    Shape o = s;
    const auto dims = spatial_dims(s, geo_.rank);
    for (int i = 3 - geo_.rank; i < 3; ++i) {
      const int64_t n = out_length(i, dims[i]);
      // TF checks that the forward convolution of the output gives the input
      // back (Conv2DBackpropInput); Keras's formula breaks it for even kernels
      // with 'same' padding and output_padding 0.
      if (known(dims[i]) && dims[i] > 0 && (n < 1 || geo_.out_size(i, n) != dims[i]))
        shape_error("the output length " + std::to_string(n) + " computed for input " +
                    shape_str(s) +
                    " is inconsistent with the kernel, strides and padding (TF "
                    "refuses this configuration)");
      if (n > (int64_t{1} << 31)) shape_error("the output is absurdly large");
      o[static_cast<size_t>(1 + i - (3 - geo_.rank))] = n;
    }
    o.back() = cout_;
    return {{o, DType::kFloat32}};
  }

  size_t scratch_bytes(const std::vector<ValueType>& in) const override {
    const auto dims = spatial_dims(in[0].shape, geo_.rank);
    return static_cast<size_t>(dims[0] * dims[1] * dims[2] * cols_) * 4;
  }

  void run(const RunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const KernelTable& k = *ctx.kernels;
    const int64_t batch = in[0].dim(0);
    const auto di = spatial_dims(in[0].shape, geo_.rank);
    const auto dout = spatial_dims(out[0].shape, geo_.rank);
    const int64_t m_in = di[0] * di[1] * di[2];
    const int64_t m_out = dout[0] * dout[1] * dout[2];
    if (batch == 0 || m_out == 0) return;
    float* col = static_cast<float*>(ctx.scratch);
    const int64_t pb[3] = {pad_before(0, di[0], dout[0]), pad_before(1, di[1], dout[1]),
                           pad_before(2, di[2], dout[2])};
    const int gemm_threads = threads_for(ctx.num_threads, 2 * m_in * cin_ * cols_, m_in);
    const int64_t out_rows = dout[0] * dout[1];
    const int gather_threads =
        threads_for(ctx.num_threads, m_out * geo_.kernel_volume() * cout_, out_rows);
    const int64_t gather_tasks = std::min<int64_t>(out_rows, 4 * gather_threads);
    for (int64_t img = 0; img < batch; ++img) {
      const float* x = in[0].f32() + img * m_in * cin_;
      float* y = out[0].f32() + img * m_out * cout_;
      if (m_in > 0) {
        GemmCall call;
        call.m = m_in;
        call.a = x;
        call.lda = cin_;
        call.c = col;
        call.ldc = cols_;
        gemm_run_parallel(k, packed_, call, gemm_threads);
      }
      parallel_for(gather_tasks, gather_threads, [&](int64_t t) {
        const int64_t r0 = out_rows * t / gather_tasks, r1 = out_rows * (t + 1) / gather_tasks;
        for (int64_t r = r0; r < r1; ++r) gather_row(col, di, dout, pb, r, y);
        float* rows = y + r0 * dout[2] * cout_;
        const int64_t n = (r1 - r0) * dout[2];
        apply_activation(k, act_, rows, n, cout_);
      });
    }
  }

 private:
  int64_t out_length(int i, int64_t in) const {
    return transpose_output_length(in, geo_.k[i], geo_.s[i], geo_.d[i], geo_.pad, out_pad_[i]);
  }

  // Padding of the forward convolution whose input is this op's output.
  int64_t pad_before(int i, int64_t in, int64_t out) const {
    if (geo_.pad != PadMode::kSame) return 0;
    const int64_t total = (in - 1) * geo_.s[i] + geo_.k_eff(i) - out;
    return total > 0 ? total / 2 : 0;
  }

  // Input index along dim i that tap kk sends to output index o, or -1.
  int64_t source(int i, int64_t o, int64_t kk, int64_t in, int64_t pb) const {
    const int64_t num = o + pb - kk * geo_.d[i];
    if (num < 0 || num % geo_.s[i] != 0) return -1;
    const int64_t src = num / geo_.s[i];
    return src < in ? src : -1;
  }

  // One output row (oz, oy) = r: every pixel sums its taps' GEMM columns in
  // (kd, kh, kw) order from +0, then adds the bias.
  void gather_row(const float* col, const std::array<int64_t, 3>& di,
                  const std::array<int64_t, 3>& dout, const int64_t* pb, int64_t r,
                  float* y) const {
    const int64_t oz = r / dout[1], oy = r % dout[1];
    for (int64_t ox = 0; ox < dout[2]; ++ox) {
      float* dst = y + ((oz * dout[1] + oy) * dout[2] + ox) * cout_;
      for (int64_t c = 0; c < cout_; ++c) dst[c] = 0.0f;
      for (int64_t kz = 0; kz < geo_.k[0]; ++kz) {
        const int64_t iz = source(0, oz, kz, di[0], pb[0]);
        if (iz < 0) continue;
        for (int64_t ky = 0; ky < geo_.k[1]; ++ky) {
          const int64_t iy = source(1, oy, ky, di[1], pb[1]);
          if (iy < 0) continue;
          for (int64_t kx = 0; kx < geo_.k[2]; ++kx) {
            const int64_t ix = source(2, ox, kx, di[2], pb[2]);
            if (ix < 0) continue;
            const int64_t pixel = (iz * di[1] + iy) * di[2] + ix;
            const int64_t kk = (kz * geo_.k[1] + ky) * geo_.k[2] + kx;
            const float* src = col + pixel * cols_ + kk * cout_;
            for (int64_t c = 0; c < cout_; ++c) dst[c] += src[c];
          }
        }
      }
      if (bias_.size())
        for (int64_t c = 0; c < cout_; ++c) dst[c] += bias_[c];
    }
  }

  ConvGeometry geo_;
  Activation act_;
  std::array<int64_t, 3> out_pad_{-1, -1, -1};
  int64_t cin_ = 0, cout_ = 0, cols_ = 0;
  PackedMatrix packed_;
  Buffer<float> bias_;
};

template <int Rank>
OpFactory factory() {
  return [](const OpNode& n, const KernelTable& k) {
    return std::make_unique<ConvTransposeOp>(n, k, Rank);
  };
}

}  // namespace

void register_conv_transpose_ops(OpRegistry& r) {
  r["conv1d_transpose"] = factory<1>();
  r["conv2d_transpose"] = factory<2>();
  r["conv3d_transpose"] = factory<3>();
}

}  // namespace tfjs_infer
