// Window geometry of the convolution ops: attribute parsing and validation.
#include <algorithm>

#include "core/threading.h"
#include "ops/conv_geometry.h"
#include "ops/shape_rules.h"

namespace tfjs_infer {

namespace {

[[noreturn]] void bad(const OpNode& node, const std::string& what) {
  fail(ErrorKind::kInvalidModel, node.where() + ": " + what);
}

}  // namespace

int64_t window_output_length(int64_t in, int64_t k, int64_t s, int64_t d, PadMode pad) {
  if (!known(in)) return kUnknownDim;
  if (pad == PadMode::kValid || pad == PadMode::kExplicit) {
    const int64_t span = in - ((k - 1) * d + 1) + 1;
    return span <= 0 ? 0 : (span + s - 1) / s;
  }
  return (in + s - 1) / s;
}

int64_t transpose_output_length(int64_t in, int64_t k, int64_t s, int64_t d, PadMode pad,
                                int64_t out_pad) {
  if (!known(in)) return kUnknownDim;
  const int64_t ke = (k - 1) * d + 1;
  if (out_pad < 0) {
    if (pad == PadMode::kSame) return in * s;
    return in * s + std::max<int64_t>(ke - s, 0);
  }
  const int64_t before = pad == PadMode::kSame ? ke / 2 : 0;
  return (in - 1) * s + ke - 2 * before + out_pad;
}

std::string ints_str(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

ConvGeometry parse_conv_geometry(const OpNode& node, int rank, const std::vector<int64_t>& kernel,
                                 bool allow_causal) {
  ConvGeometry g;
  g.rank = rank;
  const std::vector<int64_t> ones(static_cast<size_t>(rank), 1);
  const std::vector<int64_t> strides = node.attr_ints("strides", ones);
  const std::vector<int64_t> dilations = node.attr_ints("dilations", ones);
  auto check = [&](const std::vector<int64_t>& v, const char* what) {
    if (v.size() != static_cast<size_t>(rank))
      bad(node, std::string(what) + " must hold " + std::to_string(rank) + " values, found " +
                    ints_str(v));
    for (int64_t x : v)
      if (x < 1 || x > kMaxWindow)
        bad(node, std::string(what) + " must be positive integers, found " + ints_str(v));
  };
  check(kernel, "the kernel size");
  check(strides, "strides");
  check(dilations, "dilation_rate");
  const int off = 3 - rank;
  bool strided = false, dilated = false;
  for (int i = 0; i < rank; ++i) {
    g.k[off + i] = kernel[i];
    g.s[off + i] = strides[i];
    g.d[off + i] = dilations[i];
    if (g.k_eff(off + i) > kMaxWindow) bad(node, "the dilated kernel is absurdly large");
    strided = strided || strides[i] > 1;
    dilated = dilated || dilations[i] > 1;
  }
  // TF and Keras refuse this combination (tf.nn.convolution raises).
  if (strided && dilated)
    bad(node, "strides " + ints_str(strides) + " together with dilation_rate " +
                  ints_str(dilations) +
                  " is not supported (TF and Keras refuse strides > 1 with dilation_rate > 1)");
  const std::string pad = node.attr_str("padding", "valid");
  if (pad == "valid") {
    g.pad = PadMode::kValid;
  } else if (pad == "same") {
    g.pad = PadMode::kSame;
  } else if (pad == "causal" && allow_causal && rank == 1) {
    g.pad = PadMode::kCausal;
  } else if (pad == "explicit") {
    g.pad = PadMode::kExplicit;
    const std::vector<int64_t> pads = node.attr_ints("pads");
    if (pads.size() != static_cast<size_t>(2 * rank))
      bad(node, "pads must hold " + std::to_string(2 * rank) + " values, found " + ints_str(pads));
    for (int i = 0; i < rank; ++i) {
      g.pad_b[off + i] = pads[2 * i];
      g.pad_a[off + i] = pads[2 * i + 1];
      if (pads[2 * i] < 0 || pads[2 * i + 1] < 0 || pads[2 * i] > kMaxWindow ||
          pads[2 * i + 1] > kMaxWindow)
        bad(node, "pads must be non-negative, found " + ints_str(pads));
    }
  } else {
    bad(node,
        "padding '" + pad + "' is not supported here (expected " +
            (allow_causal && rank == 1 ? "'valid', 'same' or 'causal')" : "'valid' or 'same')"));
  }
  return g;
}

std::string conv_input_problem(const ValueType& in, int rank, int64_t cin) {
  const Shape& s = in.shape;
  const size_t want_rank = static_cast<size_t>(rank) + 2;
  if (in.dtype != DType::kFloat32) return "expected a float32 input";
  if (s.size() != want_rank)
    return "expected an input of rank " + std::to_string(want_rank) + ", received " + shape_str(s);
  if (!dims_fit(s.back(), cin))
    return "expected " + std::to_string(cin) + " input channels (last axis), received " +
           shape_str(s);
  return "";
}

std::array<int64_t, 3> spatial_dims(const Shape& shape, int rank) {
  std::array<int64_t, 3> dims{1, 1, 1};
  for (int i = 0; i < rank; ++i) dims[3 - rank + i] = shape[1 + i];
  return dims;
}

int scratch_thread_slots() {
  static const int slots = std::max(1, std::min(default_num_threads(), 256));
  return slots;
}

}  // namespace tfjs_infer
