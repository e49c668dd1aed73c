// Window geometry shared by the convolution ops (conv, transposed conv,
// depthwise): kernel extents, strides, dilations and the padding rule, and the
// TF/TF.js formulas for output sizes and padding (TFJS-FORMAT.md 5.2).
//
// Every op works on channels-last tensors of rank 3..5; the geometry keeps
// three spatial dims (D, H, W) and a lower-rank op leaves the leading ones at
// size 1 (kernel 1, stride 1, dilation 1), so one code path serves 1D, 2D and 3D.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/graph.h"
#include "ops/registry.h"

namespace tfjs_infer {

// Largest value accepted for a kernel extent, stride, dilation or their
// effective span: far beyond any real model, small enough that products of a
// few of them cannot overflow.
constexpr int64_t kMaxWindow = 1 << 20;

// "[1, 2, 3]", for error messages.
std::string ints_str(const std::vector<int64_t>& v);

// kExplicit: zeros given per dim (pad_b before, pad_a after), set by the
// pass that folds a ZeroPadding layer into the following convolution.
enum class PadMode { kValid, kSame, kCausal, kExplicit };

// The one output-length rule of the forward window ops (convolutions,
// pooling; their infer(), which the frontend asks as it builds the graph)
// along one axis of `in` cells with kernel k, stride s, dilation d:
//   valid: ceil((in - k_eff + 1) / s), 0 when the window does not fit;
//   same and causal: ceil(in / s).
// Unknown (-1) for an unknown `in` (transpose_output_length too).
int64_t window_output_length(int64_t in, int64_t k, int64_t s, int64_t d, PadMode pad);

// The output length of a transposed convolution along one axis (Keras
// deconv_output_length; with out_pad < 0 (none) TF.js's deconvLength, which
// equals Keras's inferred length).
int64_t transpose_output_length(int64_t in, int64_t k, int64_t s, int64_t d, PadMode pad,
                                int64_t out_pad);

struct ConvGeometry {
  int rank = 2;                       // spatial dims the op has (1, 2 or 3)
  std::array<int64_t, 3> k{1, 1, 1};  // kernel extent per D, H, W
  std::array<int64_t, 3> s{1, 1, 1};  // stride
  std::array<int64_t, 3> d{1, 1, 1};  // dilation
  PadMode pad = PadMode::kValid;
  std::array<int64_t, 3> pad_b{0, 0, 0};  // kExplicit only
  std::array<int64_t, 3> pad_a{0, 0, 0};

  int64_t k_eff(int i) const { return (k[i] - 1) * d[i] + 1; }
  int64_t kernel_volume() const { return k[0] * k[1] * k[2]; }

  // Output length of a forward window op along dim i (0: too small);
  // 'explicit' is 'valid' on the padded length.
  int64_t out_size(int i, int64_t in) const {
    if (pad == PadMode::kExplicit)
      return window_output_length(in + pad_b[i] + pad_a[i], k[i], s[i], d[i], PadMode::kValid);
    return window_output_length(in, k[i], s[i], d[i], pad);
  }

  // Zeros padded before the first input element along dim i. For 'same' the
  // total is max((out - 1) s + k_eff - in, 0) and the odd one goes after (at
  // the bottom/right), as TF does.
  int64_t pad_before(int i, int64_t in) const {
    if (pad == PadMode::kValid) return 0;
    if (pad == PadMode::kExplicit) return pad_b[i];
    if (pad == PadMode::kCausal) return k_eff(i) - 1;
    const int64_t total = (out_size(i, in) - 1) * s[i] + k_eff(i) - in;
    return total > 0 ? total / 2 : 0;
  }
};

// Reads "strides", "dilations" and "padding" for an op with `rank` spatial
// dims and kernel extents `kernel` (outermost first); validates them the way
// TF does (positive values; no stride > 1 together with dilation > 1; causal
// only in 1D); padding 'explicit' reads "pads" (before, after per spatial
// dim). Throws kInvalidModel naming the layer.
ConvGeometry parse_conv_geometry(const OpNode& node, int rank, const std::vector<int64_t>& kernel,
                                 bool allow_causal);

// What is wrong with a convolution's input (float32, rank `rank` + 2, `cin`
// channels last), or "" when nothing is: the op raises it as its shape error.
std::string conv_input_problem(const ValueType& in, int rank, int64_t cin);

// Spatial sizes (D, H, W) of a channels-last input of rank `rank` + 2.
std::array<int64_t, 3> spatial_dims(const Shape& shape, int rank);

// Whether padding adds zeros anywhere (a 1x1 stride-1 convolution without
// them reads its input as the GEMM's A in place).
inline bool has_padding(const ConvGeometry& g) {
  if (g.pad != PadMode::kExplicit) return false;
  for (int i = 0; i < 3; ++i)
    if (g.pad_b[i] || g.pad_a[i]) return true;
  return false;
}

// Threads that may each own a slice of an op's scratch memory: ops size their
// per-thread scratch for this many and never run more tasks at once.
int scratch_thread_slots();

// Registered from register_conv_ops (depthwise.cpp, conv_chain.cpp,
// conv_pool.cpp, conv_transpose.cpp).
void register_depthwise_ops(OpRegistry& r);
void register_conv_chain_ops(OpRegistry& r);
void register_conv_pool_ops(OpRegistry& r);
void register_conv_transpose_ops(OpRegistry& r);

}  // namespace tfjs_infer
