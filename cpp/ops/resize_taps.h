// The source taps of a "resize" op (ops/resize.cpp) for one input size, for
// a device backend that resamples with the CPU op's exact index and weight
// arithmetic (cpp/cuda/ops/resize.cpp): computed by the CPU op's own code.
#pragma once

#include <cstdint>
#include <vector>

#include "core/graph.h"

namespace tfjs_infer {

// Per output index along one axis: the two source indices (the crop window's
// offset included) and the weight of the second; nearest uses lo only.
struct ResizeTap {
  int64_t lo, hi;
  double frac;
};

struct ResizeTaps {
  int64_t oh = 0, ow = 0;
  bool bilinear = true;
  bool half_pixel = true;    // TF's float32 lerp; else TF.js's float64 one
  bool exact_slice = false;  // output = the input's [h_start, +oh) x [w_start, +ow)
  int64_t h_start = 0, w_start = 0;
  std::vector<ResizeTap> h, w;  // [oh], [ow]; empty for an exact slice
};

// The taps of `node` (a "resize" op the CPU engine compiled) for an input of
// height ih and width iw.
ResizeTaps resize_taps(const OpNode& node, int64_t ih, int64_t iw);

}  // namespace tfjs_infer
