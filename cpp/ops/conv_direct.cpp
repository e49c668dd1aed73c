#include "ops/conv_direct.h"

#include <algorithm>
#include <vector>

#include "core/env_switch.h"
#include "core/threading.h"
#include "kernels/lowp.h"

namespace tfjs_infer {

// The largest weights (in the kernel's padded layout) that take the direct
// path, on either table: those of a first layer stay in L1 beside the rows
// of image they read. bench/conv_direct.py on AMD EPYC family 25 model 17
// (Zen 4), 1 thread, batch 1, direct / GEMM path (other CPUs unmeasured):
// MobileNetV2's first layer (3x3x3x32 stride 2, 3.4 KiB) 0.79-0.82 on
// AVX-512, 0.84-0.87 on AVX2; 3x3x3x16 stride 2 0.67 / 0.76, 3x3x3x64
// stride 2 0.92 / 0.94, 3x3x8x32 (9 KiB) 0.94 / 0.95, 3x3x16x32 (18 KiB)
// 0.98 / 0.99; ResNet50's first layer (7x7x3x64 stride 2, 37 KiB) 1.07 /
// 1.03: each pixel's taps go through two column blocks, where the GEMM's
// tiles reuse each weight vector over more rows.
int64_t ConvDirect::max_weight_bytes() { return int64_t{16} << 10; }

bool ConvDirect::takes(const Spec& spec, const char* env) {
  if (env_is(env, "0") || !spec.eligible) return false;
  const ConvGeometry& g = *spec.geo;
  const ActKind a = spec.act->params.kind;
  const bool fits = g.rank == 2 && g.d == std::array<int64_t, 3>{1, 1, 1} &&
                    spec.act->row_op == RowOp::kNone && spec.kg <= kConvDirectMaxTaps &&
                    (a == ActKind::kLinear || a == ActKind::kRelu || a == ActKind::kRelu6);
  // The fp32 layout's bytes for bf16 too: the same layers (bf16 measured
  // on MobileNetV2's first layer only: x86/conv_direct_bf16_avx512bf16.cpp).
  const int64_t bytes = spec.kg * ((spec.cout + 15) / 16 * 16) * int64_t{4};
  return fits && (bytes <= max_weight_bytes() || env_is(env, "1"));
}

void ConvDirect::init(const OpNode& node, const KernelTable& k, const Spec& spec) {
  if (spec.bf16_w) {
    // Not where the bf16 GEMM runs on AMX tiles (kernels/lowp.h
    // lowp_bf16_amx): this kernel gives the AVX512-BF16 GEMM's bits, and the
    // GEMM on tiles is the faster engine there.
    if (k.conv_direct_bf16 && !lowp_bf16_amx() && takes(spec, "TFJS_INFER_CONV_DIRECT_BF16")) {
      spec_ = spec;
      bf16_w_ = static_cast<const uint8_t*>(spec.bf16_w);
    }
    return;
  }
  if (!k.conv_direct_f32 || !takes(spec, "TFJS_INFER_CONV_DIRECT")) return;
  spec_ = spec;
  // kg rows of ldw floats, a folded BatchNorm's scale applied as
  // PackedMatrix::pack applies it, zero past cout.
  const WeightTensor& kernel = *node.weight("kernel");
  std::vector<float> values(kernel.f32.size());
  kernel.copy_values(values.data());
  const int64_t n = ldw(), cout = spec.cout;
  w_.reset(static_cast<size_t>(spec.kg * n));
  for (int64_t r = 0; r < spec.kg; ++r)
    std::copy(values.begin() + r * cout, values.begin() + (r + 1) * cout, w_.data() + r * n);
  if (spec.bias) {
    bias_.reset(static_cast<size_t>(n));
    std::copy(spec.bias, spec.bias + cout, bias_.data());
  }
}

bool ConvDirect::runs(const Shape& in_shape) const {
  if (w_.size() == 0 && !bf16_w_) return false;
  const int64_t row = spatial_dims(in_shape, 2)[2] * spec_.cin;
  return row * spec_.geo->k[1] < (int64_t{1} << 31);
}

ConvDirectArgs ConvDirect::args(const Shape& in_shape, int64_t out_w) const {
  const ConvGeometry& g = *spec_.geo;
  const auto dims = spatial_dims(in_shape, 2);
  ConvDirectArgs a;
  a.in_h = dims[1];
  a.in_w = dims[2];
  a.cin = spec_.cin;
  a.kh = g.k[1];
  a.kw = g.k[2];
  a.s_h = g.s[1];
  a.s_w = g.s[2];
  a.pad_t = g.pad_before(1, dims[1]);
  a.pad_l = g.pad_before(2, dims[2]);
  a.w = w_.data();
  a.w_bf16 = bf16_w_;
  a.ldw = ldw();
  a.cout = spec_.cout;
  a.bias = bf16_w_ ? spec_.bias : bias_.size() == 0 ? nullptr : bias_.data();
  a.act = spec_.act->params;
  a.out_w = out_w;
  return a;
}

void ConvDirect::kernel(const KernelTable& k, const ConvDirectArgs& a) const {
  if (bf16_w_)
    k.conv_direct_bf16(a);
  else
    k.conv_direct_f32(a);
}

void ConvDirect::run(const RunContext& ctx, const TensorView& x, const TensorView& y) const {
  const auto dims = spatial_dims(x.shape, 2);
  const int64_t batch = x.dim(0), out_h = y.shape[1], out_w = y.shape[2];
  const ConvDirectArgs base = args(x.shape, out_w);
  const int64_t flops = 2 * batch * out_h * out_w * spec_.kg * spec_.cout;
  const int threads = threads_for(ctx.num_threads, flops, batch * out_h);
  // Bands of whole rows; with few images, a few per thread, so the threads
  // finish together whichever starts late.
  const int64_t bands =
      threads > 1 ? std::min(out_h, std::max<int64_t>(1, (4 * threads + batch - 1) / batch)) : 1;
  const KernelTable& k = *ctx.kernels;
  const int64_t in_img = dims[1] * dims[2] * spec_.cin, out_img = out_h * out_w * spec_.cout;
  parallel_for(batch * bands, threads, [&](int64_t t) {
    const int64_t img = t / bands, band = t % bands;
    ConvDirectArgs a = base;
    a.x = x.f32() + img * in_img;
    a.y = y.f32() + img * out_img;
    a.row_begin = out_h * band / bands;
    a.row_end = out_h * (band + 1) / bands;
    kernel(k, a);
  });
}

void ConvDirect::run_rows(const KernelTable& k, const float* x, const Shape& in_shape,
                          int64_t out_w, int64_t oy0, int64_t oy1, float* y) const {
  // Row oy0 becomes the kernel's row 0: the window of output row r starts at
  // input row r s_h - pad_t, so moving the padding up by oy0 s_h rows reads
  // the same windows (the kernel only compares rows with 0 and in_h).
  ConvDirectArgs a = args(in_shape, out_w);
  a.x = x;
  a.y = y;
  a.pad_t -= oy0 * a.s_h;
  a.row_begin = 0;
  a.row_end = oy1 - oy0;
  kernel(k, a);
}

}  // namespace tfjs_infer
