// Op "conv2d_pool": conv2d followed by a non-overlapping 'valid' 2D pooling
// (the MNIST-style Conv -> MaxPool), built by passes.cpp fuse_conv_pools. The
// conv computes bands of output rows into per-thread scratch and pools them
// there, so its full-size output, pool_h x pool_w times the pooled one, never
// goes through memory. Every element is the unfused one. Where every window
// lies inside the input ('valid') and kernel rows are long enough, the GEMM
// reads the windows in place (implicit GEMM, as conv.cpp; the same bits as
// im2col) instead of gathering them. A small convolution (its weights a
// few KiB: the MNIST CNN's first layer) with a 4-cell pooling skips both:
// kernels' conv_pool_f32 makes each pooled pixel's conv values in registers
// and pools them there (the same bits as the GEMM + pool_f32; for A/B
// measurements TFJS_INFER_CONV_POOL_DIRECT=0 turns it off, =1 takes it at any
// weight size where it applies; read when the op is built).
//
// attrs: the conv2d's (groups 1, element-wise activation), pool_mode ("max" |
//        "avg"), pool_size [h, w] (the strides too), pool_max_from_lowest (as
//        pooling.cpp's max_from_lowest).
// weights: the conv2d's.
#include <algorithm>
#include <cstdlib>
#include <limits>
#include <vector>

#include "core/env_switch.h"
#include "core/threading.h"
#include "ops/conv_base.h"
#include "ops/registry.h"

namespace tfjs_infer {

namespace {

class ConvPoolOp final : public ConvBase {
 public:
  ConvPoolOp(const OpNode& node, const KernelTable& k) : ConvBase(node, k, 2) {
    node.require_inputs(1, 1);
    const std::string mode = node.attr_str("pool_mode");
    const std::vector<int64_t> ps = node.attr_ints("pool_size");
    if ((mode != "max" && mode != "avg") || groups_ != 1 || ps.size() != 2 || ps[0] < 1 ||
        ps[1] < 1 || ps[0] > kMaxWindow || ps[1] > kMaxWindow)
      bad("malformed fused pooling");
    if (act_.row_op != RowOp::kNone) bad("a fused pooling cannot follow a softmax");
    pool_max_ = mode == "max";
    if (node.attr_int("pool_max_from_lowest", 0) != 0)
      pool_max_init_ = std::numeric_limits<float>::lowest();
    pool_h_ = ps[0];
    pool_w_ = ps[1];
    implicit_ = implicit_allowed(k);  // groups are 1 (checked above)
    if (direct_allowed(k)) pack_direct(node);
  }

  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    Shape o = conv_output(in[0]);
    if (o[1] < pool_h_ || o[2] < pool_w_)
      shape_error("the convolution's output " + shape_str(o) + " is smaller than the fused " +
                  std::to_string(pool_h_) + "x" + std::to_string(pool_w_) + " pooling window");
    o[1] /= pool_h_;  // 'valid' pooling with strides equal to the window
    o[2] /= pool_w_;
    return {{o, DType::kFloat32}};
  }

  size_t scratch_bytes(const std::vector<ValueType>& in) const override {
    if (direct_for(in[0].shape)) return 0;
    const PoolBand b = pool_band(in[0].shape);
    return static_cast<size_t>(scratch_thread_slots()) * slot_bytes(b, in[0].shape) +
           (implicit_for(in[0].shape) ? static_cast<size_t>(geo_.k[1]) * sizeof(int64_t) : 0);
  }

  // Conv output rows are made a band of whole pooling rows at a time (at
  // least one, else about one im2col tile).
  struct PoolBand {
    int64_t conv_h = 0, conv_w = 0;  // the convolution's output
    int64_t rows = 1;                // pooled output rows per band
    int64_t pixels = 0;              // conv output pixels per band
  };

  PoolBand pool_band(const Shape& in_shape) const {
    const auto dims = spatial_dims(in_shape, geo_.rank);
    PoolBand b;
    b.conv_h = geo_.out_size(1, dims[1]);
    b.conv_w = geo_.out_size(2, dims[2]);
    const int64_t per_row = pool_h_ * b.conv_w;
    b.rows = std::max<int64_t>(1, tile_rows(b.conv_h * b.conv_w) / per_row);
    b.rows = std::min(b.rows, std::max<int64_t>(1, b.conv_h / pool_h_));
    b.pixels = b.rows * per_row;
    return b;
  }

  // Per thread slot: the band's im2col rows (or, implicit, its row pointers),
  // then its conv output rows.
  size_t a_bytes(const PoolBand& b, const Shape& in_shape) const {
    const size_t per_row = implicit_for(in_shape) ? sizeof(const float*) : kg_ * sizeof(float);
    return (static_cast<size_t>(b.pixels) * per_row + 63) / 64 * 64;
  }
  size_t slot_bytes(const PoolBand& b, const Shape& in_shape) const {
    return a_bytes(b, in_shape) + static_cast<size_t>(b.pixels * cout_) * sizeof(float);
  }

  // For this input every window lies inside it (no padding).
  bool windows_inside(const Shape& in_shape) const {
    const auto dims = spatial_dims(in_shape, geo_.rank);
    const WindowImage w = window_image(in_shape);
    return w.pad_t == 0 && w.pad_l == 0 && w.hp <= dims[1] && w.wp <= dims[2];
  }

  // Windows read in place: the op takes implicit GEMM and, for this input,
  // every window lies inside it.
  bool implicit_for(const Shape& in_shape) const {
    return implicit_ && implicit_rows_fit(true) && windows_inside(in_shape);
  }

  // The fused kernel (conv_pool_f32) for this input.
  // (Its tap offsets are 32-bit: kernel rows of the image's width.)
  bool direct_for(const Shape& in_shape) const {
    const int64_t row = spatial_dims(in_shape, geo_.rank)[2] * cin_;
    return direct_w_.size() != 0 && windows_inside(in_shape) &&
           row * geo_.k[1] < (int64_t{1} << 31);
  }

  // The largest weights (in the kernel's padded layout) that take the fused
  // kernel on table `isa`. Each weight vector it loads serves 8 conv pixels
  // with AVX-512 (two pooled pixels), 4 with AVX2, where the GEMM's tiles
  // serve more rows but write the conv rows out and pool them again.
  // bench/conv_pool_direct.py on AMD EPYC family 25 model 17 (Zen 4), 1
  // thread, fused / GEMM path (other CPUs unmeasured): the MNIST CNN's first
  // layer (3x3x1x32, 1.1 KiB) 0.51-0.54 on both tables at batch 1 and 32; its
  // second (3x3x32x64, 72 KiB) 0.98 on AVX-512, 1.00-1.02 on AVX2. The
  // whole model (bench/env_ab.py, batch 32): 0.89 on AVX-512, 0.91 on AVX2.
  static int64_t direct_max_weight_bytes(Isa isa) {
    return isa == Isa::kAvx512 ? int64_t{128} << 10 : int64_t{16} << 10;
  }

  // Whether the fused kernel can run this op: the table has one, fp32
  // weights, no dilation, a 4-cell pooling, an epilogue it applies in
  // registers, and small weights (or TFJS_INFER_CONV_POOL_DIRECT=1).
  bool direct_allowed(const KernelTable& k) const {
    if (env_is("TFJS_INFER_CONV_POOL_DIRECT", "0") || !k.conv_pool_f32) return false;
    const ActKind a = act_.params.kind;
    const bool fits = geo_.rank == 2 && geo_.d == std::array<int64_t, 3>{1, 1, 1} &&
                      packed_[0].kind() == PackKind::kF32 && pool_h_ * pool_w_ == 4 &&
                      kg_ <= kConvPoolMaxTaps &&
                      (a == ActKind::kLinear || a == ActKind::kRelu || a == ActKind::kRelu6);
    const int64_t bytes = kg_ * direct_ldw() * static_cast<int64_t>(sizeof(float));
    return fits &&
           (bytes <= direct_max_weight_bytes(k.isa) || env_is("TFJS_INFER_CONV_POOL_DIRECT", "1"));
  }

  int64_t direct_ldw() const { return (cout_ + 15) / 16 * 16; }

  // The kernel's weights (kg rows of ldw floats, a folded BatchNorm's scale
  // applied as PackedMatrix::pack applies it) and bias, zero past cout.
  void pack_direct(const OpNode& node) {
    const WeightTensor& kernel = *node.weight("kernel");
    std::vector<float> values(kernel.f32.size());
    kernel.copy_values(values.data());
    const int64_t ldw = direct_ldw();
    direct_w_.reset(static_cast<size_t>(kg_ * ldw));
    for (int64_t r = 0; r < kg_; ++r)
      std::copy(values.begin() + r * cout_, values.begin() + (r + 1) * cout_,
                direct_w_.data() + r * ldw);
    if (bias_.size()) {
      direct_bias_.reset(static_cast<size_t>(ldw));
      std::copy(bias_.data(), bias_.data() + cout_, direct_bias_.data());
    }
  }

  // Pooled rows [py0, py1) of image img through the fused kernel.
  void run_direct(const KernelTable& k, const TensorView& x, const TensorView& y, int64_t img,
                  int64_t py0, int64_t py1) const {
    const auto dims = spatial_dims(x.shape, geo_.rank);
    ConvPoolArgs a;
    a.x = x.f32() + img * dims[1] * dims[2] * cin_;
    a.in_w = dims[2];
    a.cin = cin_;
    a.kh = geo_.k[1];
    a.kw = geo_.k[2];
    a.s_h = geo_.s[1];
    a.s_w = geo_.s[2];
    a.w = direct_w_.data();
    a.ldw = direct_ldw();
    a.cout = cout_;
    a.bias = direct_bias_.size() == 0 ? nullptr : direct_bias_.data();
    a.act = act_.params;
    a.max = pool_max_ ? 1 : 0;
    a.max_init = pool_max_init_;
    a.ph = pool_h_;
    a.pw = pool_w_;
    a.y = y.f32() + img * y.shape[1] * y.shape[2] * cout_;
    a.out_w = y.shape[2];
    a.row_begin = py0;
    a.row_end = py1;
    k.conv_pool_f32(a);
  }

  // Each task computes the conv rows of a band of pooled
  // rows (im2col tile, GEMM with the epilogue) into scratch and pools them
  // into y. Every element is the unfused one: the same GEMM rows, the same
  // pooling kernel over the same cells in the same order.
  void run(const RunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const KernelTable& k = *ctx.kernels;
    const TensorView &x = in[0], &y = out[0];
    if (x.dim(0) == 0 || y.shape[1] == 0 || y.shape[2] == 0) return;
    const PoolBand b = pool_band(x.shape);
    const int64_t batch = x.dim(0), py_n = y.shape[1], px_n = y.shape[2];
    const int64_t flops = 2 * batch * py_n * pool_h_ * b.conv_w * kg_ * cout_;
    const int threads =
        std::min(threads_for(ctx.num_threads, flops, batch * py_n), scratch_thread_slots());
    // Bands of at most b.rows pooled rows, cut evenly; with few images, at
    // least two per thread, so the threads finish together.
    int64_t bands = (py_n + b.rows - 1) / b.rows;
    if (threads > 1 && batch * bands < 2 * threads)
      bands = std::min(py_n, std::max(bands, (2 * threads + batch - 1) / batch));
    const int64_t tasks = batch * bands;
    const auto dims_in = spatial_dims(x.shape, geo_.rank);
    const std::array<int64_t, 3> dims_conv = {1, b.conv_h, b.conv_w};
    const int64_t in_img = dims_in[1] * dims_in[2] * cin_;
    const bool implicit = implicit_for(x.shape), direct = direct_for(x.shape);
    const size_t slot = slot_bytes(b, x.shape), a_size = a_bytes(b, x.shape);
    char* scratch = static_cast<char*>(ctx.scratch);
    int64_t* seg_off = nullptr;
    if (implicit && !direct) {
      seg_off = reinterpret_cast<int64_t*>(scratch + scratch_thread_slots() * slot);
      kernel_row_offsets(dims_in[2], seg_off);
    }
    // Conv columns a band computes: implicit, only those the pooling reads
    // (a conv width that is not a multiple of pool_w leaves its last columns
    // out: the MNIST CNN's second layer, 11 -> 10); im2col gathers whole rows.
    const int64_t cw = implicit ? px_n * pool_w_ : b.conv_w;
    parallel_for_indexed(tasks, threads, [&](int64_t t, int worker) {
      const int64_t img = t / bands, band = t % bands;
      const int64_t py0 = py_n * band / bands, py1 = py_n * (band + 1) / bands;
      if (direct) {
        run_direct(k, x, y, img, py0, py1);
        return;
      }
      char* buf = scratch + worker * slot;
      float* conv_rows = reinterpret_cast<float*>(buf + a_size);
      const int64_t pixels = (py1 - py0) * pool_h_ * cw;
      const int64_t p0 = py0 * pool_h_ * cw;  // the band's first conv pixel (cw per row)
      const float* x_img = x.f32() + img * in_img;
      GemmCall call;
      if (implicit) {
        // Pixel p's window starts at its corner in the input itself.
        auto** rows = reinterpret_cast<const float**>(buf);
        for (int64_t i = 0; i < pixels; ++i)
          rows[i] = x_img + window_corner(p0 + i, cw, dims_in[2]);
        call.a_rows = rows;
        call.seg_off = seg_off;
        call.seg_k = geo_.k[2] * cin_;
      } else {
        float* a = reinterpret_cast<float*>(buf);
        im2col(k, x_img, dims_in, dims_conv, 0, p0, pixels, a);
        call.a = a;
        call.lda = kg_;
      }
      call.m = pixels;
      call.c = conv_rows;
      call.ldc = cout_;
      call.ep = epilogue(0, nullptr);
      gemm_run(k, packed_[0], call);
      PoolArgs p;
      p.max = pool_max_ ? 1 : 0;
      p.max_init = pool_max_init_;
      p.x = conv_rows;
      p.y = y.f32() + (img * py_n + py0) * px_n * cout_;
      p.c = cout_;
      p.in_h = (py1 - py0) * pool_h_;
      p.in_w = cw;
      p.out_h = py1 - py0;
      p.out_w = px_n;
      p.k_h = pool_h_;
      p.k_w = pool_w_;
      p.s_h = pool_h_;
      p.s_w = pool_w_;
      p.row_begin = 0;
      p.row_end = py1 - py0;
      k.pool_f32(p);
    });
  }

 private:
  int64_t pool_h_ = 0, pool_w_ = 0;
  bool pool_max_ = true;
  bool implicit_ = false;  // implicit GEMM where windows lie in the input (=0 in the env: off)
  Buffer<float> direct_w_, direct_bias_;  // the fused kernel's (empty: the op does not take it)
  float pool_max_init_ = -std::numeric_limits<float>::infinity();
};

}  // namespace

void register_conv_pool_ops(OpRegistry& r) {
  r["conv2d_pool"] = [](const OpNode& n, const KernelTable& k) {
    return std::make_unique<ConvPoolOp>(n, k);
  };
}

}  // namespace tfjs_infer
