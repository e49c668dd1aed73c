// Data movement of image layers: resize (nearest, bilinear), zero padding and
// cropping of any axes, repeat (UpSampling).
#pragma once

#include "cuda/kernels/launch.h"

namespace tfjs_infer::cuda {

// Resize x [n, ih, iw, c] to y [n, oh, ow, c] through per-output-row and
// per-output-column taps made on the host as the CPU op makes them (source
// window and coordinate mode included): nearest copies (h_lo, w_lo); bilinear
// interpolates t = tl + (tr - tl) dx, b = bl + (br - bl) dx, y = t + (b - t) dy
// in float64 (frac_f64, TF.js's asymmetric mode) or float32 (half-pixel).
struct ResizeArgs {
  const float* x = nullptr;
  float* y = nullptr;
  int64_t n = 0, ih = 0, iw = 0, c = 0, oh = 0, ow = 0;
  int32_t bilinear = 1, frac_f64 = 0;
  const int64_t* h_lo = nullptr;  // [oh] rows of the source (window offset included)
  const int64_t* h_hi = nullptr;
  const double* h_frac = nullptr;
  const int64_t* w_lo = nullptr;  // [ow]
  const int64_t* w_hi = nullptr;
  const double* w_frac = nullptr;
};

cudaError_t resize_f32(const ResizeArgs& args, cudaStream_t stream);

// y[o] = x[o - begin] when inside x, else 0, per axis (rank <= kMaxRank):
// padding (begin > 0, out > in) and cropping (begin < 0) in one op.
struct PadArgs {
  const float* x = nullptr;
  float* y = nullptr;
  int32_t rank = 1;
  int64_t in_dims[kMaxRank] = {};
  int64_t out_dims[kMaxRank] = {};
  int64_t begin[kMaxRank] = {};
};

cudaError_t pad_f32(const PadArgs& args, cudaStream_t stream);

// y[o] = x[o / repeat] per axis: out_dims = in_dims * repeat.
struct RepeatArgs {
  const float* x = nullptr;
  float* y = nullptr;
  int32_t rank = 1;
  int64_t in_dims[kMaxRank] = {};
  int64_t repeat[kMaxRank] = {};
};

cudaError_t repeat_f32(const RepeatArgs& args, cudaStream_t stream);

}  // namespace tfjs_infer::cuda
