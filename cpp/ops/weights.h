// Weights into ops at compile time. A BatchNorm folded into a dense or conv
// layer leaves its per-channel scale pending on the kernel
// (WeightTensor::scale, passes.cpp): PackedMatrix::pack (gemm_driver.h)
// applies it while packing (WeightTensor::copy_values while copying), so a
// kernel borrowed from Python is read once and never copied just to be
// scaled. Every value is float(w * s), the fold's arithmetic.
#pragma once

#include <cstdint>

#include "core/graph.h"
#include "kernels/kernels.h"

namespace tfjs_infer {

// The optional float weight `key` of n values (checked) into dst; dst stays
// empty when the node has none.
void copy_bias(const OpNode& node, const char* key, int64_t n, Buffer<float>& dst);

}  // namespace tfjs_infer
