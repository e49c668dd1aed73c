// The direct path of a small 2D convolution (ConvOp, ops/conv.cpp): the
// kernels' conv_direct_f32 makes each output pixel's values in registers,
// reading the windows in the input itself, instead of gathering im2col tiles
// (or a zero-padded copy) for the GEMM; the same bits as that GEMM path
// (kernels/kernel_args.h ConvDirectArgs). For the first layer of image
// models: few input channels and filters, so all of a pixel's filters fit
// in registers and the weights in L1. With bf16 weights (the op's packed
// PackKind::kBf16 panels) the kernels' conv_direct_bf16 does the same with
// the bits of the bf16 GEMM path (TFJS_INFER_CONV_DIRECT_BF16).
#pragma once

#include <cstdint>

#include "kernels/kernels.h"
#include "ops/activation.h"
#include "ops/conv_geometry.h"
#include "ops/op.h"

namespace tfjs_infer {

class ConvDirect {
 public:
  // What the convolution is (ConvBase's values) and whether its op may take
  // the kernel at all (2D, ungrouped, fp32 or bf16 weights, no fused
  // residual). bf16_w: the bf16 GEMM's packed weights (all cout columns), or
  // nullptr for fp32.
  struct Spec {
    const ConvGeometry* geo = nullptr;
    int64_t cin = 0, cout = 0, kg = 0;
    const Activation* act = nullptr;
    const float* bias = nullptr;  // cout floats or nullptr
    const void* bf16_w = nullptr;
    bool eligible = false;
  };

  // Packs the kernel's weights when the op takes the direct path: table k
  // has the kernel, the spec is eligible, no dilation, a linear / relu /
  // relu6 epilogue, at most kConvDirectMaxTaps taps and weights within
  // max_weight_bytes (TFJS_INFER_CONV_DIRECT=0: never; =1: at any weight
  // size; read when the op is built). Otherwise holds nothing. bf16 weights:
  // the same rule on the table's conv_direct_bf16, with
  // TFJS_INFER_CONV_DIRECT_BF16 as the switch; the kernel reads the packed
  // panels in place.
  void init(const OpNode& node, const KernelTable& k, const Spec& spec);

  // The direct path runs this input (its tap offsets fit in 32 bits).
  bool runs(const Shape& in_shape) const;

  // The whole batch, output rows split over up to ctx.num_threads threads.
  void run(const RunContext& ctx, const TensorView& x, const TensorView& y) const;

  // Output rows [oy0, oy1) of one image x (in_shape: the batch's shape) into
  // y, which starts at row oy0, on the calling thread (a fused consumer's
  // bands: ops/conv_chain.cpp); the same bits as run.
  void run_rows(const KernelTable& k, const float* x, const Shape& in_shape, int64_t out_w,
                int64_t oy0, int64_t oy1, float* y) const;

 private:
  // The arguments every image of this input shares.
  ConvDirectArgs args(const Shape& in_shape, int64_t out_w) const;
  // The table's kernel for these weights: conv_direct_bf16 or _f32.
  void kernel(const KernelTable& k, const ConvDirectArgs& a) const;
  static int64_t max_weight_bytes();
  // Whether the spec takes a direct kernel under switch `env`.
  static bool takes(const Spec& spec, const char* env);
  int64_t ldw() const { return (spec_.cout + 15) / 16 * 16; }

  Spec spec_;
  Buffer<float> w_, bias_;           // the kernel's layout (empty: the op does not take it)
  const uint8_t* bf16_w_ = nullptr;  // bf16: the op's packed panels (nullptr: fp32 or none)
};

}  // namespace tfjs_infer
