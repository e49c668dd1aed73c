// Op "conv_chain": [1x1 expand conv or KxK stem conv ->] depthwise conv ->
// 1x1 project conv (+ residual), the MobileNet block, run band by band so
// the wide expanded and depthwise activations live only in per-thread
// scratch (L2) instead of making a round trip through memory. Built by
// passes.cpp from the three ops; every output is bitwise what the three ops
// give one after the other (same GEMM rows, same depthwise tap order; a stem
// runs the conv2d op's own kernels, conv_base.h ConvRows), so the fusion is
// invisible. A stem (has_stem: MobileNetV2's first conv before block 0)
// reads the chain's input image; the depthwise reads the stem's output.
//
// attrs: has_expand, has_stem, has_residual; the stem's conv2d attrs under
//        "stem." (strides, dilations, padding, pads, activation...); the
//        depthwise geometry (strides,
//        dilations, padding, pads); per stage activations "expand.activation",
//        "dw.activation" (+ act_alpha/beta/gamma, same prefixes) and the
//        project's under the plain names.
// weights: expand_kernel (1, 1, cin, e) + expand_bias or stem_kernel
//          (kh, kw, cin, e) + stem_bias, dw_kernel (kh, kw, e)
//          + dw_bias, project_kernel (1, 1, e, cout) + project_bias (biases
//          optional).
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "core/env_switch.h"
#include "core/threading.h"
#include "ops/activation.h"
#include "ops/conv_base.h"
#include "ops/conv_geometry.h"
#include "ops/gemm_driver.h"
#include "ops/registry.h"
#include "ops/weights.h"
#include "ops/shape_rules.h"

namespace tfjs_infer {

namespace {

// The attrs of one stage as a node parse_activation understands.
OpNode stage_node(const OpNode& node, const std::string& prefix) {
  OpNode s;
  s.name = node.name;
  s.type = node.type;
  for (const char* key : {"activation", "act_alpha", "act_beta", "act_gamma"}) {
    auto it = node.attrs.find(prefix + key);
    if (it != node.attrs.end()) s.attrs[key] = it->second;
  }
  return s;
}

// The stem stage as the conv2d node it was (passes.cpp fuse_chain_stems).
OpNode stem_node(const OpNode& node) {
  OpNode s;
  s.name = node.name + "/stem";
  s.type = "conv2d";
  s.inputs = {node.inputs.at(0)};
  s.outputs = node.outputs;
  const std::string prefix = "stem.";
  for (const auto& [key, value] : node.attrs)
    if (key.compare(0, prefix.size(), prefix) == 0) s.attrs[key.substr(prefix.size())] = value;
  auto it = node.attrs.find("precision");
  if (it != node.attrs.end()) s.attrs["precision"] = it->second;
  s.weights["kernel"] = node.require_weight("stem_kernel", {-1, -1, -1, -1});
  if (const WeightTensor* b = node.weight("stem_bias")) s.weights["bias"] = *b;
  return s;
}

class ConvChainOp final : public Op {
 public:
  ConvChainOp(const OpNode& node, const KernelTable& k)
      : Op(node),
        expand_act_(parse_activation(stage_node(node, "expand."))),
        dw_act_(parse_activation(stage_node(node, "dw."))),
        act_(parse_activation(node)) {
    has_expand_ = node.attr_int("has_expand", 0) != 0;
    has_stem_ = !has_expand_ && node.attr_int("has_stem", 0) != 0;
    residual_ = node.attr_int("has_residual", 0) != 0;
    node.require_inputs(residual_ ? 2 : 1, residual_ ? 2 : 1);
    if (expand_act_.row_op != RowOp::kNone || dw_act_.row_op != RowOp::kNone)
      fail(ErrorKind::kInvalidModel, where() + ": inner stages cannot end in softmax");
    const WeightTensor& dw = node.require_weight("dw_kernel", {-1, -1, -1});
    geo_ = parse_conv_geometry(node, 2, {dw.shape[0], dw.shape[1]}, false);
    e_ = dw.shape[2];
    const WeightTensor& pk = node.require_weight("project_kernel", {1, 1, e_, -1});
    cout_ = pk.shape[3];
    if (has_expand_) {
      const WeightTensor& ek = node.require_weight("expand_kernel", {1, 1, -1, e_});
      cin_ = ek.shape[2];
      expand_.pack(k, ek, cin_, e_, 0, e_, node_precision(node));
      copy_bias(node, "expand_bias", e_, expand_bias_);
    } else if (has_stem_) {
      const OpNode sn = stem_node(node);
      const WeightTensor& sk = sn.weights.at("kernel");
      if (sk.shape[3] != e_)
        fail(ErrorKind::kInvalidModel, where() + ": the stem's filters are not the depthwise's");
      cin_ = sk.shape[2];
      stem_k_ = sk.shape[0] * sk.shape[1];
      stem_ = make_conv2d_rows(sn, k);
    } else {
      cin_ = e_;
    }
    dw_w_.reset(dw.f32.size());
    dw.copy_values(dw_w_.data());
    copy_bias(node, "dw_bias", e_, dw_bias_);
    project_.pack(k, pk, e_, cout_, 0, cout_, node_precision(node));
    copy_bias(node, "project_bias", cout_, project_bias_);
    dw_fused_ = dw_act_.params;
    if (!depthwise_fuses(dw_fused_.kind)) dw_fused_.kind = ActKind::kLinear;
    dw_bf16_ = use_dw_bf16(k);
    own_rows_ = !env_is("TFJS_INFER_CHAIN_OWN_ROWS", "0");
    shared_expand_ = has_expand_ && !env_is("TFJS_INFER_CHAIN_SHARED_EXPAND", "0");
    two_ended_ = env_is("TFJS_INFER_CHAIN_TWO_ENDED", "0")   ? 0
                 : env_is("TFJS_INFER_CHAIN_TWO_ENDED", "2") ? 2
                                                             : 1;
    if (const char* u = std::getenv("TFJS_INFER_CHAIN_TWO_ENDED_UNITS"))
      two_ended_units_ = std::clamp<int64_t>(std::strtol(u, nullptr, 10), 1, 4096);
    if (const char* kb = std::getenv("TFJS_INFER_CHAIN_SHARED_KB"))
      shared_budget_ = std::strtol(kb, nullptr, 10) * 256;
  }

  std::vector<ValueType> infer(const std::vector<ValueType>& in) const override {
    const Shape& s = in[0].shape;
    if (in[0].dtype != DType::kFloat32) shape_error("expected a float32 input");
    if (s.size() != 4 || !dims_fit(s[3], cin_))
      shape_error("expected an input (N, H, W, " + std::to_string(cin_) + "), received " +
                  shape_str(s));
    const Shape d = has_stem_ ? stem_->rows_output(in[0]).shape : s;  // the depthwise's input
    Shape o = d;
    for (int i = 1; i < 3; ++i) {
      o[static_cast<size_t>(i)] = geo_.out_size(i, d[static_cast<size_t>(i)]);
      if (known(o[static_cast<size_t>(i)]) && o[static_cast<size_t>(i)] < 1)
        shape_error("input " + shape_str(d) + " is smaller than the depthwise window");
    }
    o[3] = cout_;
    if (residual_ && !shapes_fit(in[1].shape, o))
      shape_error("fused residual of shape " + shape_str(in[1].shape) + " does not match " +
                  shape_str(o));
    return {{o, DType::kFloat32}};
  }

  size_t scratch_bytes(const std::vector<ValueType>& in) const override {
    const Band b = band(in[0].shape);
    const size_t slots = static_cast<size_t>(scratch_thread_slots());
    const size_t banded = slots * static_cast<size_t>(b.floats) * 4;
    // The whole-image mode (see run; TFJS_INFER_CHAIN_OWN_ROWS=0) uses one
    // shared image instead (and a stem's scratch per thread).
    const size_t whole = own_rows_ ? 0 : static_cast<size_t>(whole_image_floats(in[0].shape)) * 4;
    // The shared-expand mode: the expanded image beside the banded slots.
    if (const int64_t shared = shared_image_floats(in[0].shape); shared > 0)
      return banded + static_cast<size_t>(shared) * 4;
    return std::max(banded,
                    whole == 0 ? 0 : whole + slots * static_cast<size_t>(b.stem_floats) * 4);
  }

  void run(const RunContext& ctx, const std::vector<TensorView>& in,
           const std::vector<TensorView>& out) const override {
    const KernelTable& k = *ctx.kernels;
    const Shape& s = in[0].shape;
    const Shape d = dw_input(s);
    const int64_t batch = s[0], h = d[1], w = d[2];
    const int64_t oh = out[0].shape[1], ow = out[0].shape[2];
    if (batch == 0) return;
    const Band b = band(s);
    const int64_t stage_k = has_expand_ ? cin_ : has_stem_ ? stem_k_ * cin_ : 0;
    const int64_t flops = 2 * batch * h * w * stage_k * e_ +
                          2 * batch * oh * ow * e_ * (geo_.kernel_volume() + cout_);
    // Tasks are (image, chunk of output rows), taken by workers as they come
    // (scratch is per worker); an image is cut into chunks (each recomputing
    // a halo of expanded rows) only when there are few images per thread.
    int threads = threads_for(ctx.num_threads, flops, batch * oh);
    threads = std::min(threads, scratch_thread_slots());
    float* scratch = static_cast<float*>(ctx.scratch);
    if (batch == 1 && threads > 1 && shared_image_floats(s) > 0) {
      run_shared_expand(k, in, out, scratch, threads);
      return;
    }
    if (use_whole_image(s, batch, threads)) {
      if (own_rows_) {
        run_own_rows(k, in, out, scratch, threads);
      } else {
        run_whole_images(k, in, out, scratch, threads);
      }
      return;
    }
    if (batch == 1 && threads == 2 && two_ended_ != 0) {
      run_two_ended(k, in, out, scratch);
      return;
    }
    const int64_t chunks =
        threads == 1 || batch >= 4 * threads ? 1 : std::min<int64_t>(2 * threads, oh);
    parallel_for_indexed(batch * chunks, threads, [&](int64_t task, int worker) {
      run_chunk(k, in, out, task, chunks, b, scratch + worker * b.floats);
    });
  }

 private:
  struct Pixels {
    int64_t begin = 0, end = 0;  // [begin, end) of an image's output pixels, row-major
  };

  struct Band {
    int64_t rows = 1;    // output rows per band
    int64_t e_rows = 0;  // expanded input rows a band needs at most
    int64_t e_floats = 0, d_floats = 0, stem_floats = 0, floats = 0;
  };

  // The depthwise's input shape for the chain's input shape s.
  Shape dw_input(const Shape& s) const {
    return has_stem_ ? stem_->rows_output({s, DType::kFloat32}).shape : s;
  }

  // Small images on several threads: cutting an image's output rows into
  // chunks makes each chunk expand its halo rows again (on a 7x7 map split
  // four ways, about twice the expand work). Instead, while the expanded
  // image and the depthwise output fit in a shared slice of L2-sized
  // scratch, the threads first expand every pixel (rows split between
  // them), then each takes chunks of output rows for the depthwise and the
  // project. Every output is computed exactly as in the banded mode. Now
  // only with TFJS_INFER_CHAIN_OWN_ROWS=0: by default these images go to
  // run_own_rows (two chunks on two threads, not four: a third of the halo).
  static constexpr int64_t kWholeImageBudget = 1536 * 1024 / 4;  // floats

  int64_t whole_image_floats(const Shape& s) const {
    if (!has_expand_ && !has_stem_) return 0;
    const Shape d = dw_input(s);
    const int64_t oh = geo_.out_size(1, d[1]), ow = geo_.out_size(2, d[2]);
    const int64_t floats = d[1] * d[2] * e_ + oh * ow * e_;
    return floats <= kWholeImageBudget ? floats : 0;
  }

  bool use_whole_image(const Shape& s, int64_t batch, int threads) const {
    return threads > 1 && batch < 4 * threads && whole_image_floats(s) > 0;
  }

  void run_whole_images(const KernelTable& k, const std::vector<TensorView>& in,
                        const std::vector<TensorView>& out, float* scratch, int threads) const {
    const Shape& s = in[0].shape;
    const Shape d = dw_input(s);
    const int64_t h = d[1], w = d[2], oh = out[0].shape[1], ow = out[0].shape[2];
    const int64_t pad_top = geo_.pad_before(1, h), sh = geo_.s[1];
    float* ebuf = scratch;              // the expanded image, h * w * e
    float* dbuf = ebuf + h * w * e_;    // the depthwise output, oh * ow * e
    float* sbuf = dbuf + oh * ow * e_;  // each thread's stem scratch
    const int64_t stem_floats = band(s).stem_floats;
    // Pieces of pixels for an expand, of rows for a stem.
    const int64_t pieces = std::min<int64_t>(2 * threads, has_stem_ ? h : h * w);
    const int64_t chunks = std::min<int64_t>(2 * threads, oh);
    for (int64_t img = 0; img < s[0]; ++img) {
      const float* x = in[0].f32() + img * s[1] * s[2] * cin_;
      float* y = out[0].f32() + img * oh * ow * cout_;
      const float* r = residual_ ? in[1].f32() + img * oh * ow * cout_ : nullptr;
      parallel_for_indexed(pieces, threads, [&](int64_t t, int worker) {
        if (has_stem_) {
          const int64_t r0 = h * t / pieces, r1 = h * (t + 1) / pieces;
          stem_->run_rows(k, x, s, r0, r1, ebuf + r0 * w * e_, sbuf + worker * stem_floats);
          return;
        }
        const int64_t p0 = h * w * t / pieces, p1 = h * w * (t + 1) / pieces;
        expand_rows(k, x + p0 * cin_, p1 - p0, ebuf + p0 * e_);
      });
      parallel_for(chunks, threads, [&](int64_t c) {
        const int64_t oy0 = oh * c / chunks, oy1 = oh * (c + 1) / chunks;
        const int64_t lo = std::clamp<int64_t>(oy0 * sh - pad_top, 0, h);
        const int64_t hi = std::clamp<int64_t>((oy1 - 1) * sh - pad_top + geo_.k_eff(1), lo, h);
        dw_project(k, ebuf + lo * w * e_, hi - lo, w, pad_top + lo - oy0 * sh, oy0, oy1, ow,
                   dbuf + oy0 * ow * e_, y, r);
      });
    }
  }

  // Task `task` of a split of every image into `chunks` chunks of output
  // rows: chunk task % chunks of image task / chunks, band by band in the
  // per-thread scratch `slot` (b.floats floats), expanding its own rows.
  void run_chunk(const KernelTable& k, const std::vector<TensorView>& in,
                 const std::vector<TensorView>& out, int64_t task, int64_t chunks, const Band& b,
                 float* slot) const {
    const Shape& s = in[0].shape;
    const Shape d = dw_input(s);
    const int64_t h = d[1], w = d[2], oh = out[0].shape[1], ow = out[0].shape[2];
    float* ebuf = slot;
    float* dbuf = ebuf + b.e_floats;
    float* sbuf = dbuf + b.d_floats;
    const int64_t img = task / chunks, c = task % chunks;
    const float* x = in[0].f32() + img * s[1] * s[2] * cin_;
    float* y = out[0].f32() + img * oh * ow * cout_;
    const float* r = residual_ ? in[1].f32() + img * oh * ow * cout_ : nullptr;
    const Pixels px{oh * c / chunks * ow, oh * (c + 1) / chunks * ow};
    run_rows(k, x, s, r, y, h, w, oh, ow, px, b, ebuf, dbuf, sbuf);
  }

  // Where the whole-image mode would run (the default; run_whole_images is
  // TFJS_INFER_CHAIN_OWN_ROWS=0, for A/B): one chunk of output rows per
  // thread and image, each expanding the rows it needs in its own scratch
  // (recomputing the 1-2 halo rows at a chunk's edges: on 14x14 maps split
  // in two, 8 expanded rows per 7 output rows), in owned runs
  // (parallel_for_owned) so that from op to op a thread computes the same
  // rows and reads inputs its own core wrote: one join per op instead of
  // two, and no expanded rows crossing cores. MobileNetV2, batch 1, 2
  // threads, AMD EPYC family 25 model 17 (Zen 4), load ~6: bench/env_ab.py
  // --var TFJS_INFER_CHAIN_OWN_ROWS --values 0,1 --models mobilenet_v2
  // --threads 2 --batch 1 --rounds 10 --seconds 2: 4.695 -> 4.081 ms
  // (0.869x); per op (model.profile, 2 threads) the 28x28 and 14x14 blocks
  // 0.59-0.82x, the 7x7 ones 0.89-0.96x. Handing all chunks of the banded
  // mode's few-image split (blocks 1-3) to their owners too measured 0.98x
  // on those blocks, within noise: not done.
  void run_own_rows(const KernelTable& k, const std::vector<TensorView>& in,
                    const std::vector<TensorView>& out, float* scratch, int threads) const {
    const Band b = band(in[0].shape);
    const int64_t chunks = std::min<int64_t>(threads, out[0].shape[1]);
    parallel_for_owned_indexed(in[0].shape[0] * chunks, threads, [&](int64_t task, int worker) {
      run_chunk(k, in, out, task, chunks, b, scratch + worker * b.floats);
    });
  }

  // One image (batch 1): the expand's pixels and then the depthwise +
  // project's, each split evenly between the threads, in one pool job (where
  // run_own_rows would run, expand chains; TFJS_INFER_CHAIN_SHARED_EXPAND=0:
  // run_own_rows; batches 2-7 keep run_own_rows, not measured here).
  // Own rows recompute the halo: on a 7x7 map split 3/4 the thread with four
  // output rows expands five of the seven rows and projects four (9 of 14
  // row-units); here each expands and projects half the pixels (7 of 14)
  // and waits once, inside the job, for the other's expanded pixels. Task p
  // first claims expand piece p, then any piece not yet claimed, so a late
  // or missing worker only moves work to the caller (a claimed piece is
  // always being computed: the wait cannot hang); then it runs output pixel
  // chunk p, the depthwise making the whole rows the chunk touches (the row
  // two chunks share twice) in the thread's slot. MobileNetV2, batch 1, 2
  // threads, AMD EPYC family 25 model 17 (Zen 4), load 3-5:
  // bench/process_spread.py --procs 8 --seconds 3 --configs
  // "own=TFJS_INFER_CHAIN_SHARED_EXPAND:0;shared=TFJS_INFER_CHAIN_SHARED_EXPAND:1"
  // --litert: 3.448 -> 3.343 ms (0.970x; LiteRT 3.573); per pool job
  // (bench/thread_scaling.py --trace --jobs, busiest thread's CPU time) the
  // 7x7 blocks 0.87-0.90x, the 14x14 ones 0.95-0.97x.
  void run_shared_expand(const KernelTable& k, const std::vector<TensorView>& in,
                         const std::vector<TensorView>& out, float* scratch, int threads) const {
    const Shape& s = in[0].shape;
    const Band b = band(s);
    const int64_t h = s[1], w = s[2], oh = out[0].shape[1], ow = out[0].shape[2];
    const int64_t parts = std::min<int64_t>({threads, oh * ow, kMaxParts});
    float* ebuf = scratch + scratch_thread_slots() * b.floats;  // the expanded image
    const float* x = in[0].f32();
    float* y = out[0].f32();
    const float* r = residual_ ? in[1].f32() : nullptr;
    std::atomic<int64_t> expanded{0};
    std::atomic<bool> claimed[kMaxParts] = {};
    parallel_for_owned_indexed(parts, threads, [&](int64_t p, int worker) {
      for (int64_t i = 0; i < parts; ++i) {
        const int64_t piece = (p + i) % parts;
        if (claimed[piece].exchange(true, std::memory_order_relaxed)) continue;
        const int64_t p0 = h * w * piece / parts, p1 = h * w * (piece + 1) / parts;
        expand_rows(k, x + p0 * cin_, p1 - p0, ebuf + p0 * e_);
        expanded.fetch_add(1, std::memory_order_release);
      }
      spin_until_at_least(expanded, parts);
      const Pixels px{oh * ow * p / parts, oh * ow * (p + 1) / parts};
      float* dbuf = scratch + worker * b.floats + b.e_floats;
      dw_pixels(k, ebuf, h, w, oh, ow, px, b, dbuf, y, r);
    });
  }

  // The expanded image's floats where run_shared_expand runs (batch 1), else 0.
  int64_t shared_image_floats(const Shape& s) const {
    if (!own_rows_ || !shared_expand_ || s[1] <= 0 || s[2] <= 0) return 0;
    const int64_t floats = s[1] * s[2] * e_;
    return floats > 0 && floats <= shared_budget_ ? floats : 0;
  }

  // run_shared_expand's most threads (its claim flags).
  static constexpr int64_t kMaxParts = 64;

  // Output pixels px of one image from its expanded image `src` (h x w x e),
  // band by band over the rows they touch (dbuf: b.d_floats).
  void dw_pixels(const KernelTable& k, const float* src, int64_t h, int64_t w, int64_t oh,
                 int64_t ow, Pixels px, const Band& b, float* dbuf, float* y,
                 const float* res) const {
    const int64_t pad_top = geo_.pad_before(1, h), sh = geo_.s[1];
    const int64_t oy_begin = px.begin / ow, oy_end = std::min(oh, (px.end + ow - 1) / ow);
    for (int64_t oy0 = oy_begin; oy0 < oy_end; oy0 += b.rows) {
      const int64_t oy1 = std::min(oy_end, oy0 + b.rows);
      const int64_t lo = std::clamp<int64_t>(oy0 * sh - pad_top, 0, h);
      const int64_t hi = std::clamp<int64_t>((oy1 - 1) * sh - pad_top + geo_.k_eff(1), lo, h);
      dw_project(k, src + lo * w * e_, hi - lo, w, pad_top + lo - oy0 * sh, oy0, oy1, ow, dbuf, y,
                 res, px);
    }
  }

  // Whether the depthwise stores its results as bfloat16 for a bf16 project
  // product (KernelTable::depthwise_bf16): the rounding the product would do
  // to its float A, done as the values leave the registers. Even e only (the
  // product reads k pairs), a fused depthwise activation only (the values go
  // nowhere else). The conversion pass took 9 % of MobileNetV2's bf16 time;
  // bench/env_ab.py --var TFJS_INFER_DW_BF16 --values 0,1 --models
  // mobilenet_v2 --threads 1 --batch 32 --rounds 6 --seconds 3 --precision
  // bf16, AMD EPYC family 25 model 17 (Zen 4), load ~2.5: 136.1 -> 129.6 ms
  // (0.952x), outputs equal. TFJS_INFER_DW_BF16=0 keeps the float store, for
  // A/B measurements; same bits either way.
  bool use_dw_bf16(const KernelTable& k) const {
    return project_.kind() == PackKind::kBf16 && k.depthwise_bf16 && e_ % 2 == 0 &&
           depthwise_fuses(dw_act_.params.kind) && !env_is("TFJS_INFER_DW_BF16", "0");
  }

  // Output rows per band: the expanded rows it reads plus its depthwise
  // output fit in about 512 KiB, half of a core's L2.
  Band band(const Shape& s) const {
    const Shape d = dw_input(s);
    const int64_t w = d[2], ow = geo_.out_size(2, w);
    const int64_t in_row = w * e_, out_row = std::max<int64_t>(ow, 1) * e_;
    constexpr int64_t kBudget = 512 * 1024 / 4;
    Band b;
    auto need = [&](int64_t rows) { return (rows - 1) * geo_.s[1] + geo_.k_eff(1); };
    while (b.rows < d[1] && (need(b.rows + 1) * in_row + (b.rows + 1) * out_row) <= kBudget)
      ++b.rows;
    b.e_rows = has_expand_ || has_stem_ ? need(b.rows) : 0;
    b.e_floats = b.e_rows * in_row;
    b.d_floats = b.rows * out_row;
    b.stem_floats = has_stem_ ? (stem_->rows_scratch_floats(s) + 15) / 16 * 16 : 0;
    b.floats = b.e_floats + b.d_floats + b.stem_floats;
    return b;
  }

  // Output pixels [px.begin, px.end) of one image (row-major), band by band
  // over the output rows they touch: the depthwise makes those rows whole,
  // the project only the chunk's pixels. Expanded rows shared by
  // consecutive bands are moved, not recomputed.
  // x: the chain's input image (shape s); h, w: the depthwise's input dims.
  void run_rows(const KernelTable& k, const float* x, const Shape& s, const float* res, float* y,
                int64_t h, int64_t w, int64_t oh, int64_t ow, Pixels px, const Band& b, float* ebuf,
                float* dbuf, float* sbuf) const {
    const int64_t oy_begin = px.begin / ow, oy_end = std::min(oh, (px.end + ow - 1) / ow);
    Held held;
    for (int64_t oy0 = oy_begin; oy0 < oy_end; oy0 += b.rows) {
      const int64_t oy1 = std::min(oy_end, oy0 + b.rows);
      run_band(k, x, s, res, y, h, w, ow, oy0, oy1, px, held, ebuf, dbuf, sbuf);
    }
  }

  // The depthwise input rows ebuf holds: [lo, hi) (expand and stem chains).
  struct Held {
    int64_t lo = 0, hi = 0;
  };

  // Output rows [oy0, oy1) (of them the pixels in px) of one image: stages
  // the depthwise's input rows in ebuf (expand and stem chains; keeping the
  // rows `held` there that it needs), then the depthwise and the project.
  void run_band(const KernelTable& k, const float* x, const Shape& s, const float* res, float* y,
                int64_t h, int64_t w, int64_t ow, int64_t oy0, int64_t oy1, Pixels px, Held& held,
                float* ebuf, float* dbuf, float* sbuf) const {
    const int64_t pad_top = geo_.pad_before(1, h), sh = geo_.s[1];
    const int64_t lo = std::clamp<int64_t>(oy0 * sh - pad_top, 0, h);
    const int64_t hi = std::clamp<int64_t>((oy1 - 1) * sh - pad_top + geo_.k_eff(1), lo, h);
    const bool staged = has_expand_ || has_stem_;  // ebuf holds the depthwise's input rows
    if (staged) stage_rows(k, x, s, w, lo, hi, held, ebuf, sbuf);
    const float* src = staged ? ebuf : x + lo * w * cin_;
    dw_project(k, src, hi - lo, w, pad_top + lo - oy0 * sh, oy0, oy1, ow, dbuf, y, res, px);
  }

  // Makes ebuf hold the depthwise's input rows [lo, hi), moving (not
  // recomputing) those of the rows `held` there that it needs: the rows at
  // the top when bands go down the image (held above), at the bottom when
  // they go up (run_two_ended's lower thread).
  void stage_rows(const KernelTable& k, const float* x, const Shape& s, int64_t w, int64_t lo,
                  int64_t hi, Held& held, float* ebuf, float* sbuf) const {
    const int64_t row = w * e_;
    int64_t from = lo, to = hi;           // the rows left to compute
    if (held.hi > lo && held.lo <= lo) {  // going down: keep [lo, held.hi)
      std::memmove(ebuf, ebuf + (lo - held.lo) * row,
                   static_cast<size_t>((held.hi - lo) * row) * sizeof(float));
      from = held.hi;
    } else if (held_below(held, lo, hi)) {  // going up: keep [held.lo, hi)
      std::memmove(ebuf + (held.lo - lo) * row, ebuf,
                   static_cast<size_t>((hi - held.lo) * row) * sizeof(float));
      to = held.lo;
    }
    if (to > from && has_stem_)
      stem_->run_rows(k, x, s, from, to, ebuf + (from - lo) * row, sbuf);
    else if (to > from)
      expand_rows(k, x + from * w * cin_, (to - from) * w, ebuf + (from - lo) * row);
    held = {lo, hi};
  }

  // Whether the rows held start inside [lo, hi), below lo, and reach hi: the
  // band before lay below this one (bands going up).
  static bool held_below(const Held& held, int64_t lo, int64_t hi) {
    return held.hi > held.lo && held.lo > lo && held.lo < hi && held.hi >= hi;
  }

  // One image (batch 1) on two threads where the banded mode would cut it in
  // four chunks (the 112x112 and 56x56 blocks of MobileNetV2): the output
  // rows in units of `rows_per_unit` rows, one thread taking units from the
  // top down and the other from the bottom up until they meet, each moving
  // its expanded rows from band to band as one thread would (upwards for the
  // lower one), so the only halo computed twice is where they meet (four
  // chunks make it at three boundaries), and wherever they meet the threads
  // finish within about a unit of each other (fixed chunks left the caller
  // waiting 15-35 us a block for the other thread's two chunks). A late or
  // missing thread leaves its units to the other: no wait. Every output is
  // the banded mode's. The caller takes the top: the rows the next op's own
  // rows or shared expand give it (TFJS_INFER_CHAIN_TWO_ENDED=2: the bottom,
  // so that a call whose worker comes late moves rows upwards). MobileNetV2
  // fp32, batch 1, 2 threads, AMD EPYC family 25 model 17 (Zen 4), load ~5.4,
  // pool trace in one process (each value's model loaded early and late, 30
  // rounds x 8 calls): the four blocks' jobs (stem chain, blocks 1-3) 1395.6
  // -> 1271.2 us wall, block 4 after them +16 us, all jobs 4184.7 -> 4091.4
  // us (0.978x). Whole calls (bench/env_ab_inproc.py --values 0,1 and 1,0,
  // --rounds 40 --calls 10): 1.013x (paired 0.997x) and 0.983x (paired
  // 0.992x), within this host's noise.
  void run_two_ended(const KernelTable& k, const std::vector<TensorView>& in,
                     const std::vector<TensorView>& out, float* scratch) const {
    const Shape& s = in[0].shape;
    const Shape d = dw_input(s);
    const int64_t h = d[1], w = d[2], oh = out[0].shape[1], ow = out[0].shape[2];
    const Band b = band(s);
    const int64_t rows = std::min(b.rows, (oh + two_ended_units_ - 1) / two_ended_units_);
    const int64_t units = (oh + rows - 1) / rows;
    // The next unit from the top (high 32 bits) and the end of the units left
    // (low 32 bits).
    std::atomic<uint64_t> ends{static_cast<uint64_t>(units)};
    const float* x = in[0].f32();
    float* y = out[0].f32();
    const float* r = residual_ ? in[1].f32() : nullptr;
    const Pixels all{0, oh * ow};
    parallel_for_owned_indexed(2, 2, [&](int64_t task, int worker) {
      const bool from_bottom = (task == 1) != (two_ended_ == 2);
      float* ebuf = scratch + worker * b.floats;
      float* dbuf = ebuf + b.e_floats;
      float* sbuf = dbuf + b.d_floats;
      Held held;
      for (int64_t u; claim_unit(ends, from_bottom, &u);) {
        const int64_t oy0 = u * rows, oy1 = std::min(oh, oy0 + rows);
        run_band(k, x, s, r, y, h, w, ow, oy0, oy1, all, held, ebuf, dbuf, sbuf);
      }
    });
  }

  static constexpr int64_t kTwoEndedUnits = 16;

  // Takes the next unit from the top (from_bottom false) or from the bottom
  // of `ends` (see run_two_ended); false when none is left.
  static bool claim_unit(std::atomic<uint64_t>& ends, bool from_bottom, int64_t* unit) {
    uint64_t cur = ends.load(std::memory_order_relaxed);
    for (;;) {
      const uint64_t top = cur >> 32, bottom = cur & 0xffffffffu;
      if (top >= bottom) return false;
      const uint64_t next = from_bottom ? cur - 1 : cur + (uint64_t{1} << 32);
      if (ends.compare_exchange_weak(cur, next, std::memory_order_relaxed)) {
        *unit = static_cast<int64_t>(from_bottom ? bottom - 1 : top);
        return true;
      }
    }
  }

  // Output rows [oy0, oy1) of one image: the depthwise over `in_h` input rows
  // at `src` (whose row 0 sits `pad_top_rel` rows below the window of output
  // row oy0) into dbuf, then the project GEMM (+ residual) into y's rows, of
  // those rows' pixels only the ones in `only` (all by default).
  // dbuf holds float32 values, or bfloat16 ones when dw_bf16_ (half the room).
  void dw_project(const KernelTable& k, const float* src, int64_t in_h, int64_t w,
                  int64_t pad_top_rel, int64_t oy0, int64_t oy1, int64_t ow, float* dbuf, float* y,
                  const float* res, Pixels only = {0, std::numeric_limits<int64_t>::max()}) const {
    DepthwiseArgs a;
    a.x = src;
    a.w = dw_w_.data();
    a.bias = dw_bias_.size() ? dw_bias_.data() : nullptr;
    a.y = dbuf;
    a.in_h = in_h;
    a.in_w = w;
    a.c = e_;
    a.out_h = oy1 - oy0;
    a.out_w = ow;
    a.kh = geo_.k[1];
    a.kw = geo_.k[2];
    a.stride_h = geo_.s[1];
    a.stride_w = geo_.s[2];
    a.dil_h = geo_.d[1];
    a.dil_w = geo_.d[2];
    a.pad_top = pad_top_rel;
    a.pad_left = geo_.pad_before(2, w);
    a.row_begin = 0;
    a.row_end = oy1 - oy0;
    a.act = dw_fused_;
    const int64_t pixels = (oy1 - oy0) * ow;
    // The project's pixels: [p0, p1) of the image, `skip` into dbuf.
    const int64_t p0 = std::max(oy0 * ow, only.begin), p1 = std::min(oy1 * ow, only.end);
    const int64_t skip = p0 - oy0 * ow;
    GemmCall g;
    g.m = p1 - p0;
    g.lda = e_;
    if (dw_bf16_) {
      a.y_bf16 = reinterpret_cast<uint16_t*>(dbuf);
      k.depthwise_bf16(a);
      g.a_bf16 = a.y_bf16 + skip * e_;
    } else {
      k.depthwise_f32(a);
      if (!depthwise_fuses(dw_act_.params.kind))
        k.activation_f32(dw_act_.params, dbuf, pixels * e_);
      g.a = dbuf + skip * e_;
    }
    g.c = y + p0 * cout_;
    g.ldc = cout_;
    g.ep.bias = project_bias_.size() ? project_bias_.data() : nullptr;
    g.ep.residual = res ? res + p0 * cout_ : nullptr;
    g.ep.ldr = cout_;
    g.ep.act = act_.params;
    gemm_run(k, project_, g);
    apply_row_op(k, act_, g.c, p1 - p0, cout_);
  }

  void expand_rows(const KernelTable& k, const float* x, int64_t pixels, float* dst) const {
    GemmCall g;
    g.m = pixels;
    g.a = x;
    g.lda = cin_;
    g.c = dst;
    g.ldc = e_;
    g.ep.bias = expand_bias_.size() ? expand_bias_.data() : nullptr;
    g.ep.act = expand_act_.params;
    gemm_run(k, expand_, g);
  }

  ConvGeometry geo_;
  Activation expand_act_, dw_act_, act_;
  ActParams dw_fused_;
  bool has_expand_ = false, has_stem_ = false, residual_ = false, dw_bf16_ = false;
  bool own_rows_ = true;        // run_own_rows instead of run_whole_images
  bool shared_expand_ = false;  // run_shared_expand instead of run_own_rows (expand chains)
  // run_two_ended for one large image on two threads (TFJS_INFER_CHAIN_TWO_ENDED):
  // 0 off, 1 the caller from the top, 2 the caller from the bottom (tests).
  int two_ended_ = 1;
  // Units run_two_ended cuts an image's output rows into (at most, and at
  // most a band each): a thread that finishes first waits at most about one
  // (TFJS_INFER_CHAIN_TWO_ENDED_UNITS, for A/B).
  int64_t two_ended_units_ = kTwoEndedUnits;
  // The largest expanded image run_shared_expand takes, in floats
  // (TFJS_INFER_CHAIN_SHARED_KB, for A/B).
  int64_t shared_budget_ = kWholeImageBudget;
  int64_t cin_ = 0, e_ = 0, cout_ = 0;
  int64_t stem_k_ = 0;              // the stem's taps (kh kw)
  std::unique_ptr<ConvRows> stem_;  // the stem stage (has_stem_)
  PackedMatrix expand_, project_;
  Buffer<float> expand_bias_, dw_w_, dw_bias_, project_bias_;
};

}  // namespace

void register_conv_chain_ops(OpRegistry& r) {
  r["conv_chain"] = [](const OpNode& n, const KernelTable& k) {
    return std::make_unique<ConvChainOp>(n, k);
  };
}

}  // namespace tfjs_infer
