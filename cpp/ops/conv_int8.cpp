// int8 2D convolutions with the input quantized once per sample (load_model's
// precision="int8"; ungrouped, undilated, any kernel, stride and padding).
//
// The per-row scheme of the int8 GEMM (kernels/lowp.h) quantizes each row of
// A: for a KxK convolution, each im2col row, i.e. every input value K*K times
// after an fp32 im2col. Here each image of the batch is quantized once, with
// one scale and zero point from its own range (lowp_row_params' rule over the
// whole image, so a row's result depends only on its own sample: the same bits
// at every batch size and thread count), into a u8 image padded with the zero
// point. The GEMM reads each output pixel's window through a row pointer and
// the kernel rows' offsets (GemmArgs::q_rows): no im2col, 1x1 convolutions
// read the image in place. A padded tap holds zp, which the kernel's
// zero-point correction (acc - zp colsum) turns into exactly 0, as a zero
// input would be.
#include "ops/conv_int8.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "core/env_switch.h"
#include "core/threading.h"
#include "kernels/lowp.h"
#include "ops/conv_base.h"
#include "ops/shape_rules.h"

namespace tfjs_infer {

namespace {

// One sample's parameters, as the kernels take them.
struct SampleQuant {
  float scale = 1.0f;
  int32_t zp = 0;
};

// attrs and weights: ConvOp's (ops/conv.cpp), has_residual included.
class ConvInt8Op final : public ConvBase {
 public:
  ConvInt8Op(const OpNode& node, const KernelTable& k) : ConvBase(node, k, 2) {
    residual_ = node.attr_int("has_residual", 0) != 0;
    node.require_inputs(residual_ ? 2 : 1, residual_ ? 2 : 1);
    // 1x1 convolutions keep the per-row path: it reads A in place (stride 1)
    // or gathers only the pixels a stride reads, in one pass over the float
    // input, where this path makes two (the range, then the values) over the
    // whole image: 1.1-1.8x slower on ResNet50's 1x1 layers (bench/precision.py
    // --profile), where KxK kernels gain 0.7x (their im2col read each input
    // K*K times).
    // The int8 epilogue reads each residual element just before it writes
    // the same output element, and the input was quantized into scratch
    // first: the output may take over the residual's buffer, as ConvOp's.
    residual_in_place_ = residual_ && !env_is("TFJS_INFER_RESIDUAL_IN_PLACE", "0");
    // TFJS_INFER_INT8_GATHER=1: the kernels copy the quantized rows into
    // their buffer even where they could read them in place (A/B runs).
    gather_ = env_is("TFJS_INFER_INT8_GATHER", "1");
    takes_ = groups_ == 1 && geo_.d == std::array<int64_t, 3>{1, 1, 1} &&
             geo_.kernel_volume() > 1 && packed_[0].kind() == PackKind::kInt8 && k.int8_range &&
             k.int8_quantize;
  }

  int output_may_alias_input() const override { return residual_in_place_ ? 1 : -1; }

  // Whether this node runs here (else ConvOp's per-row int8 or fp32 path).
  bool takes() const { return takes_; }

  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    const Shape o = conv_output(in[0]);
    if (residual_ && (!shapes_fit(in[1].shape, o) || in[1].dtype != DType::kFloat32))
      shape_error("fused residual of shape " + shape_str(in[1].shape) +
                  " does not match the output " + shape_str(o));
    return {{o, DType::kFloat32}};
  }

  size_t scratch_bytes(const std::vector<ValueType>& in) const override {
    return layout(in[0].shape).bytes;
  }

  void run(const RunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const KernelTable& k = *ctx.kernels;
    const int64_t batch = in[0].dim(0);
    const int64_t m_img = out_rows_per_image(in[0].shape);
    if (batch == 0 || m_img == 0) return;
    const float* res = residual_ ? in[1].f32() : nullptr;
    const Layout lay = layout(in[0].shape);
    char* const base = static_cast<char*>(ctx.scratch);
    auto* seg_off = reinterpret_cast<int64_t*>(base + lay.segs_at);
    auto* slot_img = reinterpret_cast<int64_t*>(base + lay.ids_at);
    auto* slot_q = reinterpret_cast<SampleQuant*>(base + lay.quant_at);
    kernel_row_offsets(lay.wp, seg_off);
    std::fill(slot_img, slot_img + scratch_thread_slots(), int64_t{-1});

    const int64_t tm = tile_rows(m_img);
    const int64_t tiles_per_image = (m_img + tm - 1) / tm;
    const int64_t tiles = batch * tiles_per_image;
    const int64_t panels = (cout_ + kLowpNr - 1) / kLowpNr;
    const int64_t flops = 2 * batch * m_img * kg_ * cout_;
    int threads = threads_for(ctx.num_threads, flops, tiles * panels);
    threads = std::min(threads, scratch_thread_slots());
    // Weight-heavy layers, or too few tiles to share: split the filters;
    // each thread quantizes the same images and streams its part of B.
    const bool split_cols = panels >= threads && (weight_heavy(m_img) || tiles < 2 * threads);
    // Row tasks: whole images when there are enough to share (each image is
    // then quantized once), else runs of tiles (an image cut between two
    // tasks is quantized by both).
    const int64_t tasks = split_cols             ? std::min<int64_t>(panels, 2 * threads)
                          : batch >= 2 * threads ? batch
                                                 : std::min<int64_t>(tiles, 32 * threads);
    parallel_for_indexed(tasks, threads, [&](int64_t t, int worker) {
      char* slot = base + worker * lay.slot_bytes;
      int64_t t0 = 0, t1 = tiles, n0 = 0, n1 = cout_;
      if (split_cols) {
        n0 = panels * t / tasks * kLowpNr;
        n1 = std::min(cout_, panels * (t + 1) / tasks * kLowpNr);
      } else {
        t0 = tiles * t / tasks;
        t1 = tiles * (t + 1) / tasks;
      }
      if (n1 <= n0) return;
      for (int64_t tile = t0; tile < t1; ++tile) {
        const int64_t img = tile / tiles_per_image;
        const int64_t r0 = (tile % tiles_per_image) * tm;
        const int64_t rows = std::min(tm, m_img - r0);
        if (slot_img[worker] != img) {
          slot_q[worker] = quantize_image(k, lay, in[0], img, m_img, slot);
          slot_img[worker] = img;
        }
        float* y = out[0].f32() + (img * m_img + r0) * cout_;
        GemmCall call;
        call.m = rows;
        call.q_rows = reinterpret_cast<const uint8_t* const*>(slot + lay.image) + r0;
        call.seg_off = seg_off;
        call.seg_k = geo_.k[2] * cin_;
        call.q_scale = slot_q[worker].scale;
        call.q_zp = slot_q[worker].zp;
        call.q_gather = gather_;
        call.c = y;
        call.ldc = cout_;
        call.n_begin = n0;
        call.n_end = n1;
        call.ep = epilogue(0, res ? res + (img * m_img + r0) * cout_ : nullptr);
        gemm_run(k, packed_[0], call);
        if (!split_cols) apply_row_op(k, act_, y, rows, cout_);
      }
    });
    if (split_cols) apply_row_op(k, act_, out[0].f32(), batch * m_img, cout_);
  }

 private:
  // Scratch: per thread slot, one quantized image padded on every side its
  // windows reach (hp x wp x cin bytes) and one row pointer per output pixel
  // (its window's corner); then the kernel rows' offsets, the image each slot
  // holds and its parameters. A slot quantizes an image when a tile of it
  // comes, so the image is in cache for its GEMMs.
  struct Layout : WindowImage {
    size_t image = 0;  // bytes of a padded image, 64-byte multiple
    size_t slot_bytes = 0, segs_at = 0, ids_at = 0, quant_at = 0, bytes = 0;
  };

  Layout layout(const Shape& in_shape) const {
    Layout l;
    static_cast<WindowImage&>(l) = window_image(in_shape);
    l.image = static_cast<size_t>((l.hp * l.wp * cin_ + 63) / 64 * 64);
    const int64_t rows = out_rows_per_image(in_shape);
    const size_t slots = static_cast<size_t>(scratch_thread_slots());
    l.slot_bytes = l.image + static_cast<size_t>(rows) * sizeof(const uint8_t*);
    l.slot_bytes = (l.slot_bytes + 63) / 64 * 64;
    l.segs_at = l.slot_bytes * slots;
    l.ids_at = l.segs_at + static_cast<size_t>(geo_.k[1]) * sizeof(int64_t);
    l.quant_at = l.ids_at + slots * sizeof(int64_t);
    l.bytes = l.quant_at + slots * sizeof(SampleQuant);
    return l;
  }

  // Image `img` of x quantized with its own range into `slot` (padded with
  // the zero point), with the row pointers after it; returns its parameters.
  SampleQuant quantize_image(const KernelTable& k, const Layout& l, const TensorView& x,
                             int64_t img, int64_t m_img, char* slot) const {
    const auto dims = spatial_dims(x.shape, geo_.rank);
    const int64_t h = dims[1], w = dims[2];
    const int64_t ow = geo_.out_size(2, w);
    const float* src = x.f32() + img * h * w * cin_;
    float lo = 0.0f, hi = 0.0f;
    k.int8_range(src, h * w * cin_, &lo, &hi);
    const RowQuant q = row_params_inline(lo, hi);
    auto* pad = reinterpret_cast<uint8_t*>(slot);
    auto** rows = reinterpret_cast<const uint8_t**>(slot + l.image);
    for (int64_t p = 0; p < m_img; ++p) rows[p] = pad + window_corner(p, ow, l.wp);
    // A NaN or infinite value: the scale is NaN and every output of the
    // sample NaN, whatever the bytes.
    if (!std::isfinite(q.scale)) return {q.scale, 0};
    // Input columns [x0, x1) land in padded columns [c0, c1); rows likewise.
    const int64_t x0 = l.x0, x1 = l.x1;
    const int64_t c0 = x0 + l.pad_l, c1 = x1 + l.pad_l;
    const auto zp = static_cast<uint8_t>(q.zp);
    const auto fill = [&](int64_t at, int64_t pixels) {
      if (pixels > 0) std::memset(pad + at * cin_, zp, static_cast<size_t>(pixels * cin_));
    };
    for (int64_t py = 0; py < l.hp; ++py) {
      const int64_t iy = py - l.pad_t;
      if (iy < 0 || iy >= h || x1 <= x0) {  // a padding row
        fill(py * l.wp, l.wp);
        continue;
      }
      fill(py * l.wp, c0);  // the padding around the row's values
      fill(py * l.wp + c1, l.wp - c1);
      k.int8_quantize(src + (iy * w + x0) * cin_, (x1 - x0) * cin_, q.inv, q.zp,
                      pad + (py * l.wp + c0) * cin_);
    }
    return {q.scale, q.zp};
  }

  bool residual_ = false;  // a fused residual Add: second input, added in the epilogue
  bool takes_ = false;
  bool residual_in_place_ = false;  // the output may overwrite the residual
  bool gather_ = false;             // TFJS_INFER_INT8_GATHER=1: no in-place reads of q_rows
};

}  // namespace

OpPtr make_conv2d_int8(const OpNode& node, const KernelTable& k) {
  if (node_precision(node) != Precision::kInt8) return nullptr;
  // TFJS_INFER_INT8_PER_ROW=1 (read when the op is built): the per-row path,
  // for A/B measurements (bench/precision.py's int8-row).
  if (env_is("TFJS_INFER_INT8_PER_ROW", "1")) return nullptr;
  auto op = std::make_unique<ConvInt8Op>(node, k);
  if (!op->takes()) return nullptr;
  return op;
}

}  // namespace tfjs_infer
