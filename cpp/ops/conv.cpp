// Op family 'conv': "conv1d", "conv2d", "conv3d" (grouped, strided, dilated;
// valid, same and causal padding) and "conv1d_transpose", "conv2d_transpose",
// "conv3d_transpose"; the depthwise ops live in depthwise.cpp.
//
// All tensors are channels-last (the frontend transposes channels_first data).
// A forward convolution is a GEMM: rows = output pixels, columns = filters,
// reduction over (kd, kh, kw, cin) in the kernel's own order, so the weights
// "kernel" (k..., cin / groups, cout) are exactly the GEMM's B and BatchNorm can
// be folded into them (passes.cpp). A 1x1 stride-1 convolution reads its input
// as A directly; the others gather tiles of A (im2col) into per-thread scratch.
#include <algorithm>
#include <cstring>
#include <limits>

#include "core/threading.h"
#include "ops/activation.h"
#include "ops/conv_geometry.h"
#include "ops/lowp_weights.h"
#include "ops/registry.h"
#include "ops/weights.h"

namespace tfjs_infer {

namespace {

// Largest value accepted for a kernel extent, stride, dilation or their
// effective span: far beyond any real model, small enough that products of a
// few of them cannot overflow.
constexpr int64_t kMaxWindow = 1 << 20;

[[noreturn]] void bad(const OpNode& node, const std::string& what) {
  fail(ErrorKind::kInvalidModel, node.where() + ": " + what);
}

std::string ints_str(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

}  // namespace

ConvGeometry parse_conv_geometry(const OpNode& node, int rank, const std::vector<int64_t>& kernel,
                                 bool allow_causal) {
  ConvGeometry g;
  g.rank = rank;
  const std::vector<int64_t> ones(static_cast<size_t>(rank), 1);
  const std::vector<int64_t> strides = node.attr_ints("strides", ones);
  const std::vector<int64_t> dilations = node.attr_ints("dilations", ones);
  auto check = [&](const std::vector<int64_t>& v, const char* what) {
    if (v.size() != static_cast<size_t>(rank))
      bad(node, std::string(what) + " must hold " + std::to_string(rank) + " values, found " +
                    ints_str(v));
    for (int64_t x : v)
      if (x < 1 || x > kMaxWindow)
        bad(node, std::string(what) + " must be positive integers, found " + ints_str(v));
  };
  check(kernel, "the kernel size");
  check(strides, "strides");
  check(dilations, "dilation_rate");
  const int off = 3 - rank;
  bool strided = false, dilated = false;
  for (int i = 0; i < rank; ++i) {
    g.k[off + i] = kernel[i];
    g.s[off + i] = strides[i];
    g.d[off + i] = dilations[i];
    if (g.k_eff(off + i) > kMaxWindow) bad(node, "the dilated kernel is absurdly large");
    strided = strided || strides[i] > 1;
    dilated = dilated || dilations[i] > 1;
  }
  // TF and Keras refuse this combination (tf.nn.convolution raises).
  if (strided && dilated)
    bad(node, "strides " + ints_str(strides) + " together with dilation_rate " +
                  ints_str(dilations) +
                  " is not supported (TF and Keras refuse strides > 1 with dilation_rate > 1)");
  const std::string pad = node.attr_str("padding", "valid");
  if (pad == "valid") {
    g.pad = PadMode::kValid;
  } else if (pad == "same") {
    g.pad = PadMode::kSame;
  } else if (pad == "causal" && allow_causal && rank == 1) {
    g.pad = PadMode::kCausal;
  } else if (pad == "explicit") {
    g.pad = PadMode::kExplicit;
    const std::vector<int64_t> pads = node.attr_ints("pads");
    if (pads.size() != static_cast<size_t>(2 * rank))
      bad(node, "pads must hold " + std::to_string(2 * rank) + " values, found " + ints_str(pads));
    for (int i = 0; i < rank; ++i) {
      g.pad_b[off + i] = pads[2 * i];
      g.pad_a[off + i] = pads[2 * i + 1];
      if (pads[2 * i] < 0 || pads[2 * i + 1] < 0 || pads[2 * i] > kMaxWindow ||
          pads[2 * i + 1] > kMaxWindow)
        bad(node, "pads must be non-negative, found " + ints_str(pads));
    }
  } else {
    bad(node,
        "padding '" + pad + "' is not supported here (expected " +
            (allow_causal && rank == 1 ? "'valid', 'same' or 'causal')" : "'valid' or 'same')"));
  }
  return g;
}

std::array<int64_t, 3> spatial_dims(const Shape& shape, int rank) {
  std::array<int64_t, 3> dims{1, 1, 1};
  for (int i = 0; i < rank; ++i) dims[3 - rank + i] = shape[1 + i];
  return dims;
}

int scratch_thread_slots() {
  static const int slots = std::max(1, std::min(default_num_threads(), 256));
  return slots;
}

namespace {

// Short copies (a few channels of a tap) dominate im2col for thin inputs:
// fixed-size chunks compile to plain vector moves instead of memcpy calls.
inline void copy_floats(float* dst, const float* src, int64_t n) {
  // Fixed-size chunks, the last one overlapping the previous: no scalar tail.
  if (n >= 16) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) std::memcpy(dst + i, src + i, 64);
    if (i < n) std::memcpy(dst + n - 16, src + n - 16, 64);
  } else if (n >= 8) {
    std::memcpy(dst, src, 32);
    std::memcpy(dst + n - 8, src + n - 8, 32);
  } else if (n >= 4) {
    std::memcpy(dst, src, 16);
    std::memcpy(dst + n - 4, src + n - 4, 16);
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
  }
}

// n runs of N floats: dst rows ld apart, src rows ls apart.
template <int N>
inline void copy_thin(float* dst, int64_t ld, const float* src, int64_t ls, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    for (int j = 0; j < N; ++j) dst[i * ld + j] = src[i * ls + j];
}

inline void fill_zero(float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = 0.0f;
}

// Runs C[0:m] = act(A B + bias) on up to `threads` threads, splitting rows
// when there are many and column panels otherwise (the batch-1 case); neither
// changes any element's reduction order.
void gemm_parallel(const KernelTable& k, GemmArgs g, int threads,
                   const LowpWeights* lowp = nullptr) {
  const int64_t nr = k.gemm_nr;
  const int64_t n_begin = g.n_begin;
  const int64_t panels = (g.n_end - n_begin + nr - 1) / nr;
  const int64_t m = g.m;
  if (threads <= 1 || m <= 0) {
    if (m > 0) run_gemm(k, g, lowp);
    return;
  }
  // Weight-heavy (fewer rows than columns, e.g. 7x7 maps at batch 1): each
  // thread streams only its share of B. Otherwise rows, when there are enough.
  const int64_t n = g.n_end - n_begin;
  const bool split_rows = panels < threads || (m >= n && m >= 4 * threads);
  // A few tasks per thread: the pool hands them out as threads arrive, so a
  // late worker (a busy core) costs little. Row tasks keep >= 64 rows so B is
  // not streamed too often; column tasks are whole panel groups.
  const int64_t tasks = split_rows ? std::max<int64_t>(1, std::min<int64_t>(4 * threads, m / 64))
                                   : std::min<int64_t>(panels, 2 * threads);
  parallel_for(tasks, threads, [&](int64_t t) {
    GemmArgs a = g;
    if (split_rows) {
      const int64_t r0 = m * t / tasks, r1 = m * (t + 1) / tasks;
      a.m = r1 - r0;
      a.a = g.a + r0 * g.lda;
      a.c = g.c + r0 * g.ldc;
      if (g.residual) a.residual = g.residual + r0 * g.ldr;
    } else {
      a.n_begin = n_begin + panels * t / tasks * nr;
      a.n_end = std::min(g.n_end, n_begin + panels * (t + 1) / tasks * nr);
    }
    if (a.m > 0 && a.n_end > a.n_begin) run_gemm(k, a, lowp);
  });
}

void apply_row_op(const KernelTable& k, const Activation& act, float* y, int64_t rows,
                  int64_t cols) {
  if (act.row_op != RowOp::kNone)
    k.softmax_f32(y, rows, cols, act.row_op == RowOp::kLogSoftmax ? 1 : 0);
}

// ---------------------------------------------------------------------------
// Forward convolution: "conv1d" / "conv2d" / "conv3d".
//
// attrs: strides, dilations, padding ('valid' | 'same' | 'causal' in 1D |
//        'explicit' with pads), groups (default 1), the activation attrs,
//        has_residual (passes.cpp: a second input added in the epilogue).
// weights: kernel (k..., cin / groups, cout), bias (cout) optional.
class ConvOp final : public Op {
 public:
  ConvOp(const OpNode& node, const KernelTable& k, int rank)
      : Op(node), act_(parse_activation(node)) {
    Shape want(static_cast<size_t>(rank + 2), -1);
    const WeightTensor& kernel = node.require_weight("kernel", want);
    const std::vector<int64_t> ksize(kernel.shape.begin(), kernel.shape.begin() + rank);
    geo_ = parse_conv_geometry(node, rank, ksize, /*allow_causal=*/true);
    groups_ = node.attr_int("groups", 1);
    cin_g_ = kernel.shape[static_cast<size_t>(rank)];
    cout_ = kernel.shape[static_cast<size_t>(rank) + 1];
    if (groups_ < 1 || groups_ > kMaxWindow) bad(node, "groups must be a positive integer");
    if (cin_g_ < 1 || cout_ < 1) bad(node, "kernel shape " + shape_str(kernel.shape) + " is empty");
    if (cout_ % groups_ != 0)
      bad(node, "filters (" + std::to_string(cout_) + ") must be divisible by groups (" +
                    std::to_string(groups_) + ")");
    cin_ = cin_g_ * groups_;
    cout_g_ = cout_ / groups_;
    kg_ = geo_.kernel_volume() * cin_g_;
    const std::string pool_mode = node.attr_str("pool_mode", "");
    if (!pool_mode.empty()) {  // a fused pooling (passes.cpp fuse_conv_pools)
      const std::vector<int64_t> ps = node.attr_ints("pool_size");
      if ((pool_mode != "max" && pool_mode != "avg") || rank != 2 || groups_ != 1 ||
          ps.size() != 2 || ps[0] < 1 || ps[1] < 1 || ps[0] > kMaxWindow || ps[1] > kMaxWindow)
        bad(node, "malformed fused pooling");
      pool_max_ = pool_mode == "max";
      if (node.attr_int("pool_max_from_lowest", 0) != 0)  // as pooling.cpp's max_from_lowest
        pool_max_init_ = std::numeric_limits<float>::lowest();
      pool_h_ = ps[0];
      pool_w_ = ps[1];
    }
    pointwise_ = geo_.kernel_volume() == 1 && geo_.s == std::array<int64_t, 3>{1, 1, 1} &&
                 !has_padding(geo_) && !pooled();
    window_rows_ = rank == 1 && groups_ == 1 && geo_.d[2] == 1;
    residual_ = node.attr_int("has_residual", 0) != 0;
    node.require_inputs(residual_ ? 2 : 1, residual_ ? 2 : 1);
    copy_bias(node, "bias", cout_, bias_);
    // One packed B per group: rows (kk, ci), columns this group's filters
    // (for the bf16 / int8 GEMM instead when the node runs in one).
    const Precision precision = node_precision(node);
    packed_.resize(static_cast<size_t>(groups_));
    lowp_.resize(static_cast<size_t>(groups_));
    for (int64_t g = 0; g < groups_; ++g) {
      if (precision != Precision::kFp32) {
        lowp_[g].pack(precision, kernel, kg_, cout_, g * cout_g_, cout_g_);
        continue;
      }
      packed_[g].reset(k.gemm_packed_b_size(kg_, cout_g_));
      pack_kernel(k, kernel, kg_, cout_, g * cout_g_, cout_g_, packed_[g].data());
    }
  }

  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    const Shape& s = in[0].shape;
    const size_t rank = static_cast<size_t>(geo_.rank);
    if (in[0].dtype != DType::kFloat32) shape_error("expected a float32 input");
    if (s.size() != rank + 2)
      shape_error("expected an input of rank " + std::to_string(rank + 2) + ", received " +
                  shape_str(s));
    if (s.back() != cin_)
      shape_error("expected " + std::to_string(cin_) + " input channels (last axis), received " +
                  shape_str(s));
    Shape o = s;
    const auto dims = spatial_dims(s, geo_.rank);
    for (int i = 3 - geo_.rank; i < 3; ++i) {
      const int64_t n = geo_.out_size(i, dims[i]);
      if (n < 1)
        shape_error("input " + shape_str(s) + " is smaller than the kernel window (" +
                    std::to_string(geo_.k_eff(i)) + ") along a spatial axis with 'valid' padding");
      o[static_cast<size_t>(1 + i - (3 - geo_.rank))] = n;
    }
    o.back() = cout_;
    if (pooled()) {
      if (o[1] < pool_h_ || o[2] < pool_w_)
        shape_error("the convolution's output " + shape_str(o) + " is smaller than the fused " +
                    std::to_string(pool_h_) + "x" + std::to_string(pool_w_) + " pooling window");
      o[1] /= pool_h_;  // 'valid' pooling with strides equal to the window
      o[2] /= pool_w_;
    }
    if (residual_ && (in[1].shape != o || in[1].dtype != DType::kFloat32))
      shape_error("fused residual of shape " + shape_str(in[1].shape) +
                  " does not match the "
                  "output " +
                  shape_str(o));
    return {{o, DType::kFloat32}};
  }

  size_t scratch_bytes(const std::vector<ValueType>& in) const override {
    if (pointwise_) return 0;
    if (pooled()) {
      const PoolBand b = pool_band(in[0].shape);
      return static_cast<size_t>(scratch_thread_slots()) *
             static_cast<size_t>(b.pixels * (kg_ + cout_)) * 4;
    }
    const int64_t rows = tile_rows(out_rows_per_image(in[0].shape));
    return static_cast<size_t>(scratch_thread_slots()) * static_cast<size_t>(rows * kg_) * 4;
  }

  void run(const RunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const KernelTable& k = *ctx.kernels;
    const int64_t batch = in[0].dim(0);
    const int64_t m_img = out_rows_per_image(in[0].shape);
    if (batch == 0 || m_img == 0) return;
    const float* res = residual_ ? in[1].f32() : nullptr;
    if (pointwise_) {
      run_pointwise(ctx, in[0], res, out[0], batch * m_img);
      return;
    }
    if (pooled()) {
      run_pooled(ctx, in[0], out[0]);
      return;
    }
    const int64_t tm = tile_rows(m_img);
    const int64_t tiles_per_image = (m_img + tm - 1) / tm;
    const int64_t tiles = batch * tiles_per_image;
    const int64_t nr = k.gemm_nr;
    const int64_t panels = (cout_g_ + nr - 1) / nr;
    const int64_t flops = 2 * batch * m_img * kg_ * cout_;
    int threads = threads_for(ctx.num_threads, flops, tiles * panels * groups_);
    threads = std::min(threads, scratch_thread_slots());
    // Weight-heavy layers, or too few tiles to share: split the filters
    // instead; each thread gathers the same tiles and streams its part of B.
    const bool split_cols =
        groups_ == 1 && panels >= threads && (weight_heavy(m_img) || tiles < 2 * threads);
    const auto dims_in = spatial_dims(in[0].shape, geo_.rank);
    const auto dims_out = spatial_dims(out[0].shape, geo_.rank);
    float* scratch = static_cast<float*>(ctx.scratch);
    // Output columns whose windows lie inside the input (for window_rows_).
    const int64_t pad_w = geo_.pad_before(2, dims_in[2]);
    const int64_t direct_lo = pad_w <= 0 ? 0 : (pad_w + geo_.s[2] - 1) / geo_.s[2];
    const int64_t direct_hi =
        std::max<int64_t>(direct_lo, dims_in[2] - geo_.k_eff(2) + pad_w < 0
                                         ? 0
                                         : (dims_in[2] - geo_.k_eff(2) + pad_w) / geo_.s[2] + 1);
    // A few tasks per thread, taken by whichever worker is free (the scratch
    // slot is the worker's): runs of whole tiles, or blocks of columns.
    const int64_t tasks = split_cols ? std::min<int64_t>(panels, 2 * threads)
                                     : std::min<int64_t>(tiles, 32 * threads);
    parallel_for_indexed(tasks, threads, [&](int64_t t, int worker) {
      float* buf = scratch + worker * tm * kg_;
      int64_t t0 = 0, t1 = tiles, n0 = 0, n1 = cout_g_;
      if (split_cols) {
        n0 = panels * t / tasks * nr;
        n1 = std::min(cout_g_, panels * (t + 1) / tasks * nr);
      } else {
        t0 = tiles * t / tasks;
        t1 = tiles * (t + 1) / tasks;
      }
      if (n1 <= n0) return;
      for (int64_t tile = t0; tile < t1; ++tile) {
        const int64_t img = tile / tiles_per_image;
        const int64_t r0 = (tile % tiles_per_image) * tm;
        const int64_t rows = std::min(tm, m_img - r0);
        const float* x = in[0].f32() + img * dims_in[0] * dims_in[1] * dims_in[2] * cin_;
        float* y = out[0].f32() + (img * m_img + r0) * cout_;
        const float* r = res ? res + (img * m_img + r0) * cout_ : nullptr;
        // 1D without groups or dilation: an output's im2col row is a
        // contiguous window of the input (kw taps x cin), so inside tiles
        // read it in place, one window every stride x cin floats.
        const bool in_place = window_rows_ && r0 >= direct_lo && r0 + rows <= direct_hi;
        for (int64_t g = 0; g < groups_; ++g) {
          if (!in_place) im2col(x, dims_in, dims_out, g, r0, rows, buf);
          GemmArgs a;
          a.m = rows;
          a.n = cout_g_;
          a.k = kg_;
          a.a = in_place ? x + (r0 * geo_.s[2] - pad_w) * cin_ : buf;
          a.lda = in_place ? geo_.s[2] * cin_ : kg_;
          a.packed_b = packed_[g].data();
          a.c = y + g * cout_g_;
          a.ldc = cout_;
          a.n_begin = n0;
          a.n_end = n1;
          a.bias = bias_.size() ? bias_.data() + g * cout_g_ : nullptr;
          a.residual = r ? r + g * cout_g_ : nullptr;
          a.ldr = cout_;
          a.act = act_.params;
          run_gemm(k, a, &lowp_[g]);
        }
        if (!split_cols) apply_row_op(k, act_, y, rows, cout_);
      }
    });
    if (split_cols) apply_row_op(k, act_, out[0].f32(), batch * m_img, cout_);
  }

 private:
  // A per image smaller than B: few output pixels, many weights.
  bool weight_heavy(int64_t m_img) const { return m_img < cout_g_; }

  // Output pixels per im2col tile. Each tile streams all of B once, so the
  // tile holds enough rows to amortise that, and stays in L2 beside B's panel
  // block; weight-heavy layers take up to 1 MiB of rows (often the whole
  // image), since streaming their B again costs more than an L2 miss on A.
  int64_t tile_rows(int64_t m_img) const {
    const int64_t bytes = weight_heavy(m_img) ? 1024 * 1024 : 192 * 1024;
    const int64_t rows = bytes / (kg_ * 4);
    return std::min(m_img, std::max<int64_t>(16, std::min<int64_t>(rows, 512)));
  }

  int64_t out_rows_per_image(const Shape& in_shape) const {
    const auto dims = spatial_dims(in_shape, geo_.rank);
    int64_t m = 1;
    for (int i = 0; i < 3; ++i) m *= geo_.out_size(i, dims[i]);
    return m;
  }

  bool pooled() const { return pool_h_ > 0; }

  // Fused pooling: conv output rows are made a band of whole pooling rows
  // at a time (at least one, else about one im2col tile).
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

  // Conv + pooling: each task computes the conv rows of a band of pooled
  // rows (im2col tile, GEMM with the epilogue) into scratch and pools them
  // into y. Every element is the unfused one: the same GEMM rows, the same
  // pooling kernel over the same cells in the same order.
  void run_pooled(const RunContext& ctx, const TensorView& x, const TensorView& y) const {
    const KernelTable& k = *ctx.kernels;
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
    float* scratch = static_cast<float*>(ctx.scratch);
    parallel_for_indexed(tasks, threads, [&](int64_t t, int worker) {
      float* buf = scratch + worker * b.pixels * (kg_ + cout_);
      float* conv_rows = buf + b.pixels * kg_;
      const int64_t img = t / bands, band = t % bands;
      const int64_t py0 = py_n * band / bands, py1 = py_n * (band + 1) / bands;
      const int64_t pixels = (py1 - py0) * pool_h_ * b.conv_w;
      im2col(x.f32() + img * in_img, dims_in, dims_conv, 0, py0 * pool_h_ * b.conv_w, pixels, buf);
      GemmArgs a;
      a.m = pixels;
      a.n = cout_;
      a.k = kg_;
      a.a = buf;
      a.lda = kg_;
      a.packed_b = packed_[0].data();
      a.c = conv_rows;
      a.ldc = cout_;
      a.n_begin = 0;
      a.n_end = cout_;
      a.bias = bias_.size() ? bias_.data() : nullptr;
      a.act = act_.params;
      run_gemm(k, a, &lowp_[0]);
      PoolArgs p;
      p.max = pool_max_ ? 1 : 0;
      p.max_init = pool_max_init_;
      p.x = conv_rows;
      p.y = y.f32() + (img * py_n + py0) * px_n * cout_;
      p.c = cout_;
      p.in_h = (py1 - py0) * pool_h_;
      p.in_w = b.conv_w;
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

  // 1x1 stride-1: the input is the GEMM's A (group g reads its channel slice
  // in place with lda = cin), no copy.
  void run_pointwise(const RunContext& ctx, const TensorView& x, const float* res,
                     const TensorView& y, int64_t m) const {
    const KernelTable& k = *ctx.kernels;
    const int threads = threads_for(ctx.num_threads, 2 * m * cin_ * cout_, m * groups_);
    for (int64_t g = 0; g < groups_; ++g) {
      GemmArgs a;
      a.m = m;
      a.n = cout_g_;
      a.k = cin_g_;
      a.a = x.f32() + g * cin_g_;
      a.lda = cin_;
      a.packed_b = packed_[g].data();
      a.c = y.f32() + g * cout_g_;
      a.ldc = cout_;
      a.n_begin = 0;
      a.n_end = cout_g_;
      a.bias = bias_.size() ? bias_.data() + g * cout_g_ : nullptr;
      a.residual = res ? res + g * cout_g_ : nullptr;
      a.ldr = cout_;
      a.act = act_.params;
      gemm_parallel(k, a, threads, &lowp_[g]);
    }
    apply_row_op(k, act_, y.f32(), m, cout_);
  }

  // Rows [r0, r0 + rows) of one image's im2col matrix for group g: row r is
  // output pixel r, columns (kd, kh, kw, ci) in the kernel's order; taps in
  // the padding are zeros. Walked one output row (oz, oy) at a time so the
  // vertical taps are resolved once per row; without groups or dilation along
  // W, the kw taps of a pixel inside the row are one run of kw * cin floats.
  void im2col(const float* x, const std::array<int64_t, 3>& in_dims,
              const std::array<int64_t, 3>& out_dims, int64_t g, int64_t r0, int64_t rows,
              float* buf) const {
    const int64_t pb[3] = {geo_.pad_before(0, in_dims[0]), geo_.pad_before(1, in_dims[1]),
                           geo_.pad_before(2, in_dims[2])};
    const int64_t in_row = in_dims[2] * cin_, in_plane = in_dims[1] * in_row;
    const int64_t kw = geo_.k[2], taps_run = kw * cin_g_, sw = geo_.s[2], dw = geo_.d[2];
    const bool runs = groups_ == 1 && dw == 1;
    const int64_t span = (kw - 1) * dw;
    // Output columns whose kw taps are all inside the input row.
    const int64_t ox_in_lo = pb[2] <= 0 ? 0 : (pb[2] + sw - 1) / sw;
    const int64_t ox_in_hi =
        in_dims[2] - 1 - span + pb[2] < 0 ? 0 : (in_dims[2] - 1 - span + pb[2]) / sw + 1;
    const int64_t nkv = geo_.k[0] * geo_.k[1];
    const float* srcs[64];  // per (kz, ky): input row, or nullptr for padding
    const bool cache_rows = nkv <= 64;
    for (int64_t p = r0; p < r0 + rows;) {
      const int64_t ox0 = p % out_dims[2];
      const int64_t oy = (p / out_dims[2]) % out_dims[1];
      const int64_t oz = p / (out_dims[2] * out_dims[1]);
      const int64_t ox1 = std::min(out_dims[2], ox0 + (r0 + rows - p));
      auto row_src = [&](int64_t kz, int64_t ky) -> const float* {
        const int64_t iz = oz * geo_.s[0] - pb[0] + kz * geo_.d[0];
        const int64_t iy = oy * geo_.s[1] - pb[1] + ky * geo_.d[1];
        if (iz < 0 || iz >= in_dims[0] || iy < 0 || iy >= in_dims[1]) return nullptr;
        return x + iz * in_plane + iy * in_row + g * cin_g_;
      };
      if (cache_rows)
        for (int64_t kz = 0; kz < geo_.k[0]; ++kz)
          for (int64_t ky = 0; ky < geo_.k[1]; ++ky) srcs[kz * geo_.k[1] + ky] = row_src(kz, ky);
      // Pixels [a, b) of this output row, pixel by pixel.
      auto gather = [&](int64_t a, int64_t b) {
        float* dst_row = buf + (p - r0 + a - ox0) * kg_;
        for (int64_t ox = a; ox < b; ++ox, dst_row += kg_) {
          const int64_t ix0 = ox * sw - pb[2];
          const bool inside = runs && ox >= ox_in_lo && ox < ox_in_hi;
          float* dst = dst_row;
          for (int64_t t = 0; t < nkv; ++t, dst += taps_run) {
            const float* src = cache_rows ? srcs[t] : row_src(t / geo_.k[1], t % geo_.k[1]);
            if (!src) {
              fill_zero(dst, taps_run);
            } else if (inside) {
              copy_floats(dst, src + ix0 * cin_, taps_run);
            } else {
              for (int64_t kx = 0; kx < kw; ++kx) {
                const int64_t ix = ix0 + kx * dw;
                if (ix >= 0 && ix < in_dims[2]) {
                  copy_floats(dst + kx * cin_g_, src + ix * cin_, cin_g_);
                } else {
                  fill_zero(dst + kx * cin_g_, cin_g_);
                }
              }
            }
          }
        }
      };
      if (cache_rows && runs && taps_run <= 32) {
        // Thin inputs (first convs of images: 3 to 21 floats per tap run):
        // per-pixel bookkeeping costs more than the copies, so the pixels
        // whose taps are all inside go tap by tap, with fixed-size copies
        // for the shortest runs.
        const int64_t lo = std::clamp(ox_in_lo, ox0, ox1), hi = std::clamp(ox_in_hi, lo, ox1);
        gather(ox0, lo);
        for (int64_t t = 0; t < nkv; ++t) {
          float* d = buf + (p - r0 + lo - ox0) * kg_ + t * taps_run;
          if (!srcs[t]) {
            for (int64_t ox = lo; ox < hi; ++ox, d += kg_) fill_zero(d, taps_run);
            continue;
          }
          const float* src = srcs[t] + (lo * sw - pb[2]) * cin_;
          const int64_t n = hi - lo, ls = sw * cin_;
          switch (taps_run) {
            case 1:
              copy_thin<1>(d, kg_, src, ls, n);
              break;
            case 2:
              copy_thin<2>(d, kg_, src, ls, n);
              break;
            case 3:
              copy_thin<3>(d, kg_, src, ls, n);
              break;
            case 4:
              copy_thin<4>(d, kg_, src, ls, n);
              break;
            default:
              for (int64_t i = 0; i < n; ++i) copy_floats(d + i * kg_, src + i * ls, taps_run);
              break;
          }
        }
        gather(hi, ox1);
      } else {
        gather(ox0, ox1);
      }
      p += ox1 - ox0;
    }
  }

  ConvGeometry geo_;
  Activation act_;
  int64_t groups_ = 1, cin_ = 0, cin_g_ = 0, cout_ = 0, cout_g_ = 0, kg_ = 0;
  bool pointwise_ = false;
  bool window_rows_ = false;  // 1D, no groups or dilation: im2col rows are input windows
  bool residual_ = false;     // a fused residual Add: second input, added in the epilogue
  // A fused 'valid' pooling with strides equal to its window (0: none).
  int64_t pool_h_ = 0, pool_w_ = 0;
  bool pool_max_ = true;
  float pool_max_init_ = -std::numeric_limits<float>::infinity();
  std::vector<Buffer<float>> packed_;
  std::vector<LowpWeights> lowp_;  // per group, for precision="bf16" | "int8"
  Buffer<float> bias_;
};

// ---------------------------------------------------------------------------
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
    if (cin_ < 1 || cout_ < 1) bad(node, "kernel shape " + shape_str(kernel.shape) + " is empty");
    const std::vector<int64_t> none(static_cast<size_t>(rank), -1);
    const std::vector<int64_t> op = node.attr_ints("output_padding", none);
    if (op.size() != static_cast<size_t>(rank))
      bad(node, "output_padding must hold " + std::to_string(rank) + " values");
    for (int i = 0; i < rank; ++i) {
      const int dim = 3 - rank + i;
      out_pad_[dim] = op[i];
      if (op[i] >= 0 && op[i] >= geo_.s[dim])
        bad(node, "output_padding " + ints_str(op) +
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
    packed_.reset(k.gemm_packed_b_size(cin_, cols_));
    k.gemm_pack_b(b.data(), cin_, cols_, nullptr, packed_.data());
  }

  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    const Shape& s = in[0].shape;
    const size_t rank = static_cast<size_t>(geo_.rank);
    if (in[0].dtype != DType::kFloat32) shape_error("expected a float32 input");
    if (s.size() != rank + 2)
      shape_error("expected an input of rank " + std::to_string(rank + 2) + ", received " +
                  shape_str(s));
    if (s.back() != cin_)
      shape_error("expected " + std::to_string(cin_) + " input channels (last axis), received " +
                  shape_str(s));
    Shape o = s;
    const auto dims = spatial_dims(s, geo_.rank);
    for (int i = 3 - geo_.rank; i < 3; ++i) {
      const int64_t n = out_length(i, dims[i]);
      // TF checks that the forward convolution of the output gives the input
      // back (Conv2DBackpropInput); Keras's formula breaks it for even kernels
      // with 'same' padding and output_padding 0.
      if (dims[i] > 0 && (n < 1 || geo_.out_size(i, n) != dims[i]))
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
        GemmArgs a;
        a.m = m_in;
        a.n = cols_;
        a.k = cin_;
        a.a = x;
        a.lda = cin_;
        a.packed_b = packed_.data();
        a.c = col;
        a.ldc = cols_;
        a.n_begin = 0;
        a.n_end = cols_;
        gemm_parallel(k, a, gemm_threads);
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
  // Output length along dim i (Keras deconv_output_length; with output_padding
  // -1, TF.js's deconvLength, which equals Keras's inferred length).
  int64_t out_length(int i, int64_t in) const {
    const int64_t ke = geo_.k_eff(i);
    if (out_pad_[i] < 0) {
      if (geo_.pad == PadMode::kSame) return in * geo_.s[i];
      return in * geo_.s[i] + std::max<int64_t>(ke - geo_.s[i], 0);
    }
    const int64_t pad = geo_.pad == PadMode::kSame ? ke / 2 : 0;
    return (in - 1) * geo_.s[i] + ke - 2 * pad + out_pad_[i];
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
  Buffer<float> packed_;
  Buffer<float> bias_;
};

template <class T, int Rank>
OpFactory factory() {
  return [](const OpNode& n, const KernelTable& k) { return std::make_unique<T>(n, k, Rank); };
}

}  // namespace

void register_conv_ops(OpRegistry& r) {
  r["conv1d"] = factory<ConvOp, 1>();
  r["conv2d"] = factory<ConvOp, 2>();
  r["conv3d"] = factory<ConvOp, 3>();
  r["conv1d_transpose"] = factory<ConvTransposeOp, 1>();
  r["conv2d_transpose"] = factory<ConvTransposeOp, 2>();
  r["conv3d_transpose"] = factory<ConvTransposeOp, 3>();
  register_depthwise_ops(r);
  register_conv_chain_ops(r);
}

}  // namespace tfjs_infer
