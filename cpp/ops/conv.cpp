// Op family 'conv': "conv1d", "conv2d", "conv3d" (grouped, strided, dilated;
// valid, same and causal padding, a fused residual). The shared parts are in
// conv_base.h; conv+pool (conv_pool.cpp), transposed (conv_transpose.cpp),
// depthwise (depthwise.cpp) and the MobileNet chain (conv_chain.cpp) are
// registered from here. A 1x1 stride-1 convolution reads its input as A
// directly; other 2D, ungrouped, undilated, fp32 convolutions read each output
// pixel's window in place through a row pointer (implicit GEMM:
// kernels/kernel_args.h GemmArgs::a_rows; the same bits as im2col): in a
// zero-padded copy of the image, or in the input itself where no window
// reaches past it (the 1x1 stride-2 projections); 3-16 % faster than im2col
// on ResNet50's 3x3 layers and its 7x7 stride-2 first layer. Those with
// kernel rows (kw x cin) too short (conv_base.h implicit_rows_fit: 12 floats;
// any length for windows inside the input on Zen 4's AVX-512 table), and the others,
// gather tiles of A (im2col) into per-thread scratch, as all do with
// TFJS_INFER_CONV_IMPLICIT=0 (read when the op is built; for A/B measurements).
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "core/env_switch.h"
#include "core/threading.h"
#include "ops/conv_base.h"
#include "ops/conv_direct.h"
#include "ops/conv_int8.h"
#include "ops/registry.h"
#include "ops/shape_rules.h"

namespace tfjs_infer {

namespace {

// attrs: ConvBase's, has_residual (passes.cpp: a second input added in the
// epilogue). weights: ConvBase's.
class ConvOp final : public ConvBase, public ConvRows {
 public:
  ConvOp(const OpNode& node, const KernelTable& k, int rank) : ConvBase(node, k, rank) {
    pointwise_ = geo_.kernel_volume() == 1 && geo_.s == std::array<int64_t, 3>{1, 1, 1} &&
                 !has_padding(geo_);
    window_rows_ = rank == 1 && groups_ == 1 && geo_.d[2] == 1;
    one_task_ = !env_is("TFJS_INFER_POINTWISE_ONE_TASK", "0");
    residual_ = node.attr_int("has_residual", 0) != 0;
    node.require_inputs(residual_ ? 2 : 1, residual_ ? 2 : 1);
    implicit_ = !pointwise_ && groups_ == 1 && implicit_allowed(k);
    // The fp32 GEMM reads each residual element just before it writes the
    // same output element (kernels/simd/gemm_simd.h), and so do the bf16 and
    // int8 kernels' epilogues (kernels/lowp.h), so the output may take over
    // the residual's buffer (compile/model.cpp); TFJS_INFER_RESIDUAL_IN_PLACE=0
    // (read when the op is built) keeps them apart, for A/B measurements.
    residual_in_place_ = residual_ && !env_is("TFJS_INFER_RESIDUAL_IN_PLACE", "0");
    ConvDirect::Spec d;
    d.geo = &geo_;
    d.cin = cin_;
    d.cout = cout_;
    d.kg = kg_;
    d.act = &act_;
    d.bias = bias_.size() ? bias_.data() : nullptr;
    d.bf16_w = packed_[0].kind() == PackKind::kBf16 ? packed_[0].lowp() : nullptr;
    d.eligible = rank == 2 && !pointwise_ && groups_ == 1 && !residual_ &&
                 (packed_[0].kind() == PackKind::kF32 || d.bf16_w);
    direct_.init(node, k, d);
  }

  int output_may_alias_input() const override { return residual_in_place_ ? 1 : -1; }

  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    const Shape o = conv_output(in[0]);
    if (residual_ && (!shapes_fit(in[1].shape, o) || in[1].dtype != DType::kFloat32))
      shape_error("fused residual of shape " + shape_str(in[1].shape) +
                  " does not match the output " + shape_str(o));
    return {{o, DType::kFloat32}};
  }

  size_t scratch_bytes(const std::vector<ValueType>& in) const override {
    if (pointwise_ || direct_.runs(in[0].shape)) return 0;
    if (implicit_for(in[0].shape)) return implicit_layout(in[0].shape).bytes;
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
    if (direct_.runs(in[0].shape)) {
      direct_.run(ctx, in[0], out[0]);
      return;
    }
    const int64_t tm = tile_rows(m_img);
    // Implicit path: the kernel rows' offsets and each slot's padded rows
    // (none yet).
    ImplicitLayout lay;
    int64_t* seg_off = nullptr;
    SlotRows* slot_rows = nullptr;
    const bool implicit = implicit_for(in[0].shape);
    if (implicit) {
      lay = implicit_layout(in[0].shape);
      seg_off = reinterpret_cast<int64_t*>(static_cast<char*>(ctx.scratch) + lay.segs_at);
      slot_rows = reinterpret_cast<SlotRows*>(static_cast<char*>(ctx.scratch) + lay.ids_at);
      kernel_row_offsets(lay.wp, seg_off);
      std::fill(slot_rows, slot_rows + scratch_thread_slots(), SlotRows{});
    }
    const int64_t tiles_per_image = (m_img + tm - 1) / tm;
    const int64_t tiles = batch * tiles_per_image;
    const int64_t nr = k.gemm_nr;
    const int64_t panels = (cout_g_ + nr - 1) / nr;
    const int64_t flops = 2 * batch * m_img * kg_ * cout_;
    int threads = threads_for(ctx.num_threads, flops, tiles * panels * groups_);
    threads = std::min(threads, scratch_thread_slots());
    // Few rows beside many filters, or too few tiles to share: split the
    // filters instead; each thread gathers the same tiles and streams its part of B.
    const bool split_cols = split_by_filters(m_img, batch * m_img, tiles, panels, threads);
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
      float* buf = implicit ? nullptr : scratch + worker * tm * kg_;
      char* slot = implicit ? static_cast<char*>(ctx.scratch) + worker * lay.slot_bytes : nullptr;
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
          if (implicit && g == 0) prepare_rows(lay, in[0], img, r0, rows, slot, slot_rows[worker]);
          if (!in_place && !implicit) im2col(k, x, dims_in, dims_out, g, r0, rows, buf);
          GemmCall call;
          call.m = rows;
          call.a = in_place ? x + (r0 * geo_.s[2] - pad_w) * cin_ : buf;
          call.lda = in_place ? geo_.s[2] * cin_ : kg_;
          if (implicit) {
            call.a = nullptr;
            call.lda = 0;
            call.a_rows =
                reinterpret_cast<const float* const*>(slot + lay.image * sizeof(float)) + r0;
            call.seg_off = seg_off;
            call.seg_k = geo_.k[2] * cin_;
          }
          call.c = y + g * cout_g_;
          call.ldc = cout_;
          call.n_begin = n0;
          call.n_end = n1;
          call.ep = epilogue(g, r);
          gemm_run(k, packed_[g], call);
        }
        if (!split_cols) apply_row_op(k, act_, y, rows, cout_);
      }
    });
    if (split_cols) apply_row_op(k, act_, out[0].f32(), batch * m_img, cout_);
  }

  ValueType rows_output(const ValueType& in) const override { return infer({in})[0]; }

  int64_t rows_scratch_floats(const Shape& in_shape) const override {
    return direct_.runs(in_shape) ? 0 : tile_rows(out_rows_per_image(in_shape)) * kg_;
  }

  // The direct kernel where run takes it, else im2col tiles of run's size
  // and the GEMM (the implicit path's bits are im2col's); one group.
  void run_rows(const KernelTable& k, const float* x, const Shape& in_shape, int64_t oy0,
                int64_t oy1, float* y, float* scratch) const override {
    const Shape o = conv_output({in_shape, DType::kFloat32});
    const int64_t ow = o[2];
    if (direct_.runs(in_shape)) {
      direct_.run_rows(k, x, in_shape, ow, oy0, oy1, y);
      return;
    }
    const int64_t tm = tile_rows(out_rows_per_image(in_shape));
    const auto dims_in = spatial_dims(in_shape, 2);
    const auto dims_out = spatial_dims(o, 2);
    for (int64_t r0 = oy0 * ow; r0 < oy1 * ow; r0 += tm) {
      const int64_t rows = std::min(tm, oy1 * ow - r0);
      im2col(k, x, dims_in, dims_out, 0, r0, rows, scratch);
      GemmCall call;
      call.m = rows;
      call.a = scratch;
      call.lda = kg_;
      call.c = y + (r0 - oy0 * ow) * cout_;
      call.ldc = cout_;
      call.ep = epilogue(0, nullptr);
      gemm_run(k, packed_[0], call);
      apply_row_op(k, act_, call.c, rows, cout_);
    }
  }

 private:
  // Scratch of the implicit path: per thread slot, one zero-padded image
  // (hp x wp x cin, every window inside) and one row pointer per output
  // pixel; then the kernel rows' offsets (segments of kw cin floats) and
  // which padded rows of which image each slot holds. A slot pads the rows
  // of an image that a tile of it needs when the tile comes (in cache for its
  // GEMM, at any batch size; threads sharing one image each pad only their
  // bands). Without padding (every window inside the input: 'valid', or
  // ResNet's 1x1 stride-2 projections) the row pointers point into the input
  // itself and a slot holds no image (`direct`).
  struct ImplicitLayout : WindowImage {
    int64_t image = 0;  // floats per padded image
    bool direct = false;
    size_t slot_bytes = 0, segs_at = 0, ids_at = 0, bytes = 0;
  };
  struct SlotRows {
    int64_t img = -1, lo = 0, hi = 0;  // padded rows [lo, hi) of image img are in the slot
  };

  // The implicit path for this input: when the op takes it and either no
  // copy is needed or a padded image fits in kMaxImplicitImage bytes (every
  // thread slot holds one; a larger image would not stay in cache for its
  // GEMMs anyway - unmeasured, so such layers keep im2col's small tiles).
  static constexpr int64_t kMaxImplicitImage = int64_t{4} << 20;
  bool implicit_for(const Shape& in_shape) const {
    if (!implicit_) return false;
    const ImplicitLayout l = implicit_layout(in_shape);
    return implicit_rows_fit(l.direct) && l.image * 4 <= kMaxImplicitImage;
  }

  ImplicitLayout implicit_layout(const Shape& in_shape) const {
    const auto dims = spatial_dims(in_shape, geo_.rank);
    ImplicitLayout l;
    static_cast<WindowImage&>(l) = window_image(in_shape);
    l.direct = l.pad_t == 0 && l.pad_l == 0 && l.hp <= dims[1] && l.wp <= dims[2];
    if (l.direct) l.wp = dims[2];  // windows read in the input: its row length
    l.image = l.direct ? 0 : (l.hp * l.wp * cin_ + 15) / 16 * 16;  // 64-byte aligned slots
    const int64_t rows = (out_rows_per_image(in_shape) + 7) / 8 * 8;
    l.slot_bytes = static_cast<size_t>(l.image) * sizeof(float) +
                   static_cast<size_t>(rows) * sizeof(const float*);
    l.segs_at = l.slot_bytes * static_cast<size_t>(scratch_thread_slots());
    l.ids_at = l.segs_at + static_cast<size_t>(geo_.k[1]) * sizeof(int64_t);
    l.bytes = l.ids_at + static_cast<size_t>(scratch_thread_slots()) * sizeof(SlotRows);
    return l;
  }

  // Output pixels [r0, r0 + rows) of image `img`: the padded rows their
  // windows cover into `slot` (unless direct; rows the slot already holds for
  // this image stay), and their row pointers (pixel (oy, ox): the window
  // corner (oy sh, ox sw) in the padded image, or in the input when direct).
  void prepare_rows(const ImplicitLayout& l, const TensorView& x, int64_t img, int64_t r0,
                    int64_t rows, char* slot, SlotRows& have) const {
    const auto dims = spatial_dims(x.shape, geo_.rank);
    const int64_t ow = geo_.out_size(2, dims[2]);
    const float* src = x.f32() + img * dims[1] * dims[2] * cin_;
    float* pad = reinterpret_cast<float*>(slot);
    if (!l.direct) {
      const int64_t lo = r0 / ow * geo_.s[1];
      const int64_t hi = (r0 + rows - 1) / ow * geo_.s[1] + geo_.k[1];
      if (have.img != img || hi < have.lo || lo > have.hi) {
        pad_rows(l, src, dims, lo, hi, pad);
        have = SlotRows{img, lo, hi};
      } else {
        if (lo < have.lo) pad_rows(l, src, dims, lo, have.lo, pad);
        if (hi > have.hi) pad_rows(l, src, dims, have.hi, hi, pad);
        have.lo = std::min(have.lo, lo);
        have.hi = std::max(have.hi, hi);
      }
    }
    const float* base = l.direct ? src : pad;
    auto** ptr = reinterpret_cast<const float**>(slot + l.image * sizeof(float));
    for (int64_t p = r0; p < r0 + rows; ++p) ptr[p] = base + window_corner(p, ow, l.wp);
  }

  // Padded rows [lo, hi) of one image (src, dims: the input's) into pad.
  void pad_rows(const ImplicitLayout& l, const float* src, const std::array<int64_t, 3>& dims,
                int64_t lo, int64_t hi, float* pad) const {
    const int64_t h = dims[1], w = dims[2];
    const int64_t left = l.x0 + l.pad_l, right = l.x1 + l.pad_l;  // copied columns [left, right)
    for (int64_t py = lo; py < hi; ++py) {
      float* row = pad + py * l.wp * cin_;
      const int64_t iy = py - l.pad_t;
      if (iy < 0 || iy >= h || right == left) {
        std::memset(row, 0, static_cast<size_t>(l.wp * cin_) * sizeof(float));
        continue;
      }
      std::memset(row, 0, static_cast<size_t>(left * cin_) * sizeof(float));
      std::memcpy(row + left * cin_, src + (iy * w + l.x0) * cin_,
                  static_cast<size_t>((right - left) * cin_) * sizeof(float));
      std::memset(row + right * cin_, 0,
                  static_cast<size_t>((l.wp - right) * cin_) * sizeof(float));
    }
  }

  // 1x1 stride-1: the input is the GEMM's A (group g reads its channel slice
  // in place with lda = cin), no copy.
  void run_pointwise(const RunContext& ctx, const TensorView& x, const float* res,
                     const TensorView& y, int64_t m) const {
    const KernelTable& k = *ctx.kernels;
    const int threads = threads_for(ctx.num_threads, 2 * m * cin_ * cout_, m * groups_);
    for (int64_t g = 0; g < groups_; ++g) {
      GemmCall call;
      call.m = m;
      call.a = x.f32() + g * cin_g_;
      call.lda = cin_;
      call.c = y.f32() + g * cout_g_;
      call.ldc = cout_;
      call.ep = epilogue(g, res);
      gemm_run_parallel(k, packed_[g], call, threads, one_task_ && m < kOneTaskRows ? 1 : 0);
    }
    apply_row_op(k, act_, y.f32(), m, cout_);
  }

  bool pointwise_ = false;
  // Below kOneTaskRows pixels a pointwise conv's split gives each thread one
  // share of the columns, not four tasks (TFJS_INFER_POINTWISE_ONE_TASK=0:
  // four, for A/B; each task reads all of A and its ragged row tiles again).
  // MobileNetV2's Conv_1 at batch 1 (49 x 320 x 1280), 2 threads, AMD EPYC
  // family 25 model 17 (Zen 4), load ~5.5, its pool job (pool trace, one
  // process, each value's model loaded early and late, 30 rounds x 8 calls):
  // wall 281.2 -> 250.5 us, all threads' CPU 520 -> 465 us. Whole calls
  // (bench/env_ab_inproc.py --var TFJS_INFER_POINTWISE_ONE_TASK --values 0,1
  // and 1,0, --rounds 40 --calls 10) within the noise: MobileNetV2 1.006x /
  // 1.000x (paired 1.007x / 1.003x), ResNet50 (its stage-5 1x1 convs;
  // --rounds 10 --calls 3) 0.987x / 1.028x (paired 0.990x / 1.007x).
  static constexpr int64_t kOneTaskRows = 64;
  bool one_task_ = true;
  bool window_rows_ = false;  // 1D, no groups or dilation: im2col rows are input windows
  bool residual_ = false;     // a fused residual Add: second input, added in the epilogue
  bool implicit_ = false;     // implicit GEMM (2D, undilated, fp32; =0 in the environment: off)
  bool residual_in_place_ = false;  // the output may overwrite the residual (fp32)
  ConvDirect direct_;               // small 2D convolutions' direct path (conv_direct.h)
};

template <class T, int Rank>
OpFactory factory() {
  return [](const OpNode& n, const KernelTable& k) { return std::make_unique<T>(n, k, Rank); };
}

// A conv2d node conv2d_pool can run (ops/conv_pool.cpp): ungrouped, no
// residual, an element-wise epilogue (a softmax needs whole rows before the
// pooling), channels last.
bool takes_pool(const OpNode& n) {
  const WeightTensor* k = n.weight("kernel");
  return n.attr_int("groups", 1) == 1 && !n.attr_int("has_residual", 0) &&
         parse_activation(n).row_op == RowOp::kNone &&
         n.attr_str("data_format", "channels_last") == "channels_last" && k && k->shape.size() == 4;
}

}  // namespace

std::unique_ptr<ConvRows> make_conv2d_rows(const OpNode& node, const KernelTable& k) {
  if (node.attr_int("groups", 1) != 1 || node.attr_int("has_residual", 0))
    fail(ErrorKind::kInvalidModel, node.name + ": a row-wise conv2d takes no groups or residual");
  return std::make_unique<ConvOp>(node, k, 2);
}

void register_conv_ops(OpRegistry& r) {
  // An activation, a BatchNorm, a residual Add and a Pad fold into every
  // forward convolution; conv2d also takes a following pooling.
  for (int rank = 1; rank <= 3; ++rank) {
    OpTraits t;
    t.fuses_activation = t.folds_batch_norm = t.fuses_residual = true;
    t.pad_fold_rank = rank;
    if (rank == 2) {
      t.pool_fused_type = "conv2d_pool";
      t.takes_pool = takes_pool;
    }
    // conv2d in int8: the per-sample path (ops/conv_int8.cpp) where it applies.
    const OpFactory conv2d = [](const OpNode& n, const KernelTable& k) -> OpPtr {
      if (OpPtr op = make_conv2d_int8(n, k)) return op;
      return std::make_unique<ConvOp>(n, k, 2);
    };
    const OpFactory make = rank == 1   ? factory<ConvOp, 1>()
                           : rank == 2 ? conv2d
                                       : factory<ConvOp, 3>();
    r["conv" + std::to_string(rank) + "d"] = OpEntry(make, t);
  }
  register_depthwise_ops(r);
  register_conv_chain_ops(r);
  register_conv_pool_ops(r);
  register_conv_transpose_ops(r);
}

}  // namespace tfjs_infer
