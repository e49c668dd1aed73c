// What the forward convolution ops share ("conv1d/2d/3d" in conv.cpp, the
// fused "conv2d_pool" in conv_pool.cpp): the kernel, groups and geometry read
// and validated once, B packed per group, the output shape, the epilogue and
// the im2col tiling. A conv-like op on the existing kernels derives from it.
//
// All tensors are channels-last (the frontend transposes channels_first data).
// A forward convolution is a GEMM: rows = output pixels, columns = filters,
// reduction over (kd, kh, kw, cin) in the kernel's own order, so the weights
// "kernel" (k..., cin / groups, cout) are exactly the GEMM's B and BatchNorm can
// be folded into them (passes.cpp).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/cpu_topology.h"
#include "kernels/kernels.h"
#include "ops/activation.h"
#include "ops/conv_geometry.h"
#include "ops/gemm_driver.h"
#include "ops/op.h"

namespace tfjs_infer {

// The shortest kernel row (kw x cin floats) a convolution reads in place,
// on table `isa` of this CPU, where every window lies in the input itself (no
// padded copy: 'valid' windows, the conv2d_pool layers); shorter rows gather
// im2col tiles. Per run the GEMM sets up a pointer per tile row, which weighs
// more beside a GEMM this thin: 12 floats (1 thread, load 8, implicit /
// im2col thread CPU time: 3x3 with 1 channel 1.06-1.13, MobileNetV2's 3x3/2
// with 3 channels 1.08, 3x3 with 3 channels 0.95; 5x5 with 3 channels 0.79,
// ResNet50's 7x7/2 with 3 channels 0.84-0.89, 3x3 with 8 0.82). Zen 4 (AMD family 25)
// on the AVX-512 table: any length (AMD EPYC family 25 model 17, 1 thread,
// load 4-6, bench/conv_thin_implicit.py: the MNIST CNN's first layer, 3x3
// with 1 channel 'valid', 0.912-0.920 at batch 1 and 0.904-0.913 at batch
// 32, pooled or not; in the model, profile minima 9.2 -> 8.3 us at batch 1,
// 296 -> 268 us at batch 32), while its AVX2 table keeps 12 (3x3 with 1
// channel 1.04 there).
int64_t min_implicit_segment(Isa isa, const CpuTopology& cpu);

// The shortest kernel row read in place from a zero-padded copy of the input
// (ConvBase::implicit_rows_fit), on every CPU and table.
constexpr int64_t kMinCopySegment = 12;

class ConvBase : public Op {
 protected:
  // attrs: strides, dilations, padding ('valid' | 'same' | 'causal' in 1D |
  //        'explicit' with pads), groups (default 1), the activation attrs.
  // weights: kernel (k..., cin / groups, cout), bias (cout) optional.
  ConvBase(const OpNode& node, const KernelTable& k, int rank);

  [[noreturn]] void bad(const std::string& what) const;

  // The convolution's output shape for this input (checked: dtype, rank,
  // channels, a window that fits).
  Shape conv_output(const ValueType& in) const;

  // Group g's epilogue; `res` is the residual of the rows the call covers.
  GemmEpilogue epilogue(int64_t g, const float* res) const;

  // Rows [r0, r0 + rows) of one image's im2col matrix for group g into buf.
  void im2col(const KernelTable& k, const float* x, const std::array<int64_t, 3>& in_dims,
              const std::array<int64_t, 3>& out_dims, int64_t g, int64_t r0, int64_t rows,
              float* buf) const;

  // Whether the GEMM may read the windows in place (implicit GEMM, no im2col)
  // for some input: 2D, undilated, fp32 weights, kernel rows (kw x cin) long
  // enough for windows read in the input (implicit_rows_fit). Sets the
  // minimum row lengths. TFJS_INFER_CONV_IMPLICIT=0: never;
  // TFJS_INFER_CONV_IMPLICIT_MIN=N (N >= 1): N floats for both kinds of
  // windows (both read when the op is built; for A/B measurements and tests).
  bool implicit_allowed(const KernelTable& k);

  // Whether the kernel rows are long enough to be read in place: in the input
  // itself (direct: min_implicit_segment) or in a zero-padded copy (12 floats
  // on every CPU: on Zen 4's AVX-512 table MobileNetV2's first layer, 3x3
  // stride 2 'same' with 3 channels, measured 0.98 alone but 1.01-1.06 of
  // im2col's time in the model, whose cold padded copy weighs more).
  bool implicit_rows_fit(bool direct) const {
    return geo_.k[2] * cin_ >= (direct ? min_direct_segment_ : min_copy_segment_);
  }

  // A per image smaller than B: few output pixels, many weights.
  bool weight_heavy(int64_t m_img) const { return m_img < cout_g_; }

  // The thread split of an ungrouped convolution's GEMM over `rows` output
  // pixels (the whole call) in `tiles` tiles and `panels` filter panels: by
  // filters (true) or by tiles. Each tile task streams all of B, as one
  // thread does; each filter task reads all of A again (and gathers or pads
  // it again): filters where A is the smaller (fewer rows than filters:
  // batch-1 layers with few pixels), the tiles are too few to share, or a
  // weight-heavy image's B does not fit in the GEMM's L2 block (cpu_params:
  // each tile would stream it from beyond L2; a filter task only its share).
  // One thread keeps the previous rule (filters for every weight-heavy image,
  // at any batch: two column blocks in turn). TFJS_INFER_CONV_SPLIT=rows|cols
  // forces one (where possible), =image the previous rule at every count.
  bool split_by_filters(int64_t m_img, int64_t rows, int64_t tiles, int64_t panels,
                        int threads) const;

  // Output pixels per im2col tile. Each tile streams all of B once, so the
  // tile holds enough rows to amortise that, and stays in L2 beside B's panel
  // block; weight-heavy layers take up to 1 MiB of rows (often the whole
  // image), since streaming their B again costs more than an L2 miss on A.
  int64_t tile_rows(int64_t m_img) const;

  int64_t out_rows_per_image(const Shape& in_shape) const;

  // Where an implicit-GEMM convolution (conv.cpp in fp32, conv_int8.cpp in
  // u8) reads each 2D output pixel's window: a padded image of hp x wp pixels
  // holding every window, the input's pixel (0, 0) at (pad_t, pad_l); input
  // columns [x0, x1) land in padded columns [x0 + pad_l, x1 + pad_l).
  struct WindowImage {
    int64_t hp = 0, wp = 0, pad_t = 0, pad_l = 0, x0 = 0, x1 = 0;
  };
  WindowImage window_image(const Shape& in_shape) const;

  // Output pixel p's window corner, in elements from its image's start, in an
  // image row_pixels wide (ow: the output's width).
  int64_t window_corner(int64_t p, int64_t ow, int64_t row_pixels) const {
    return ((p / ow) * geo_.s[1] * row_pixels + (p % ow) * geo_.s[2]) * cin_;
  }

  // The kernel rows' offsets from a window's corner (GemmCall::seg_off).
  void kernel_row_offsets(int64_t row_pixels, int64_t* seg_off) const {
    for (int64_t ky = 0; ky < geo_.k[1]; ++ky) seg_off[ky] = ky * row_pixels * cin_;
  }

  ConvGeometry geo_;
  Activation act_;
  int64_t groups_ = 1, cin_ = 0, cin_g_ = 0, cout_ = 0, cout_g_ = 0, kg_ = 0;
  int64_t min_direct_segment_ = kMinCopySegment, min_copy_segment_ = kMinCopySegment;
  std::vector<PackedMatrix> packed_;  // one B per group: rows (kk, ci), its filters
  Buffer<float> bias_;
};

// One image's output rows of a conv2d node, computed on the calling thread
// with the kernels the conv2d op itself takes for that input (the direct
// kernel, or im2col tiles and the GEMM: the same bits as the op), for an op
// that consumes a convolution's output band by band (conv_chain's stem).
class ConvRows {
 public:
  virtual ~ConvRows() = default;

  // The convolution's output type for this input (checked as the op checks).
  virtual ValueType rows_output(const ValueType& in) const = 0;

  // The scratch floats run_rows needs for this input.
  virtual int64_t rows_scratch_floats(const Shape& in_shape) const = 0;

  // Output rows [oy0, oy1) of the image at x (in_shape: the batch's shape)
  // into y, which starts at row oy0.
  virtual void run_rows(const KernelTable& k, const float* x, const Shape& in_shape, int64_t oy0,
                        int64_t oy1, float* y, float* scratch) const = 0;
};

// A conv2d node without groups or a fused residual, in fp32 or bf16.
std::unique_ptr<ConvRows> make_conv2d_rows(const OpNode& node, const KernelTable& k);

}  // namespace tfjs_infer
