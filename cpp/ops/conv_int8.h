// int8 2D convolutions quantizing their input once per sample (conv_int8.cpp).
#pragma once

#include "kernels/kernels.h"
#include "ops/op.h"

namespace tfjs_infer {

// The op for a "conv2d" node whose precision is int8, when it is ungrouped
// and undilated and the table has the int8 kernels; nullptr otherwise (the
// node then takes ConvOp's path: per-row int8 quantization after im2col).
OpPtr make_conv2d_int8(const OpNode& node, const KernelTable& k);

}  // namespace tfjs_infer
