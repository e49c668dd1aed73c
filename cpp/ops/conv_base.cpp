#include "ops/conv_base.h"

#include <algorithm>
#include <cstdlib>

#include "core/env_switch.h"
#include "kernels/cpu_params.h"
#include "ops/weights.h"
#include "ops/shape_rules.h"

namespace tfjs_infer {

ConvBase::ConvBase(const OpNode& node, const KernelTable& k, int rank)
    : Op(node), act_(parse_activation(node)) {
  Shape want(static_cast<size_t>(rank + 2), -1);
  const WeightTensor& kernel = node.require_weight("kernel", want);
  const std::vector<int64_t> ksize(kernel.shape.begin(), kernel.shape.begin() + rank);
  geo_ = parse_conv_geometry(node, rank, ksize, /*allow_causal=*/true);
  groups_ = node.attr_int("groups", 1);
  cin_g_ = kernel.shape[static_cast<size_t>(rank)];
  cout_ = kernel.shape[static_cast<size_t>(rank) + 1];
  if (groups_ < 1 || groups_ > kMaxWindow) bad("groups must be a positive integer");
  if (cin_g_ < 1 || cout_ < 1) bad("kernel shape " + shape_str(kernel.shape) + " is empty");
  if (cout_ % groups_ != 0)
    bad("filters (" + std::to_string(cout_) + ") must be divisible by groups (" +
        std::to_string(groups_) + ")");
  cin_ = cin_g_ * groups_;
  cout_g_ = cout_ / groups_;
  kg_ = geo_.kernel_volume() * cin_g_;
  copy_bias(node, "bias", cout_, bias_);
  packed_.resize(static_cast<size_t>(groups_));
  for (int64_t g = 0; g < groups_; ++g)
    packed_[g].pack(k, kernel, kg_, cout_, g * cout_g_, cout_g_, node_precision(node));
}

void ConvBase::bad(const std::string& what) const {
  fail(ErrorKind::kInvalidModel, where() + ": " + what);
}

Shape ConvBase::conv_output(const ValueType& in) const {
  const Shape& s = in.shape;
  const std::string problem = conv_input_problem(in, geo_.rank, cin_);
  if (!problem.empty()) shape_error(problem);
  Shape o = s;
  const auto dims = spatial_dims(s, geo_.rank);
  for (int i = 3 - geo_.rank; i < 3; ++i) {
    const int64_t n = geo_.out_size(i, dims[i]);
    if (known(n) && n < 1)
      shape_error("input " + shape_str(s) + " is smaller than the kernel window (" +
                  std::to_string(geo_.k_eff(i)) + ") along a spatial axis with 'valid' padding");
    o[static_cast<size_t>(1 + i - (3 - geo_.rank))] = n;
  }
  o.back() = cout_;
  return o;
}

GemmEpilogue ConvBase::epilogue(int64_t g, const float* res) const {
  GemmEpilogue ep;
  ep.bias = bias_.size() ? bias_.data() + g * cout_g_ : nullptr;
  ep.residual = res ? res + g * cout_g_ : nullptr;
  ep.ldr = cout_;
  ep.act = act_.params;
  return ep;
}

void ConvBase::im2col(const KernelTable& k, const float* x, const std::array<int64_t, 3>& in_dims,
                      const std::array<int64_t, 3>& out_dims, int64_t g, int64_t r0, int64_t rows,
                      float* buf) const {
  Im2colArgs a;
  a.x = x;
  a.buf = buf;
  a.cin = cin_;
  a.cin_g = cin_g_;
  a.g = g;
  for (int i = 0; i < 3; ++i) {
    a.in[i] = in_dims[i];
    a.out[i] = out_dims[i];
    a.k[i] = geo_.k[i];
    a.s[i] = geo_.s[i];
    a.d[i] = geo_.d[i];
    a.pad[i] = geo_.pad_before(i, in_dims[i]);
  }
  a.row_begin = r0;
  a.rows = rows;
  k.im2col_f32(a);
}

int64_t min_implicit_segment(Isa isa, const CpuTopology& cpu) {
  return is_amd_zen4(cpu) && isa == Isa::kAvx512 ? 1 : kMinCopySegment;
}

bool ConvBase::implicit_allowed(const KernelTable& k) {
  if (env_is("TFJS_INFER_CONV_IMPLICIT", "0")) return false;
  const char* forced = std::getenv("TFJS_INFER_CONV_IMPLICIT_MIN");
  if (forced && std::atoll(forced) > 0) {
    min_direct_segment_ = min_copy_segment_ = std::atoll(forced);
  } else {
    min_direct_segment_ = min_implicit_segment(k.isa, cpu_topology());
    min_copy_segment_ = kMinCopySegment;
  }
  return geo_.rank == 2 && geo_.d == std::array<int64_t, 3>{1, 1, 1} &&
         packed_[0].kind() == PackKind::kF32 &&
         (implicit_rows_fit(true) || implicit_rows_fit(false));
}

bool ConvBase::split_by_filters(int64_t m_img, int64_t rows, int64_t tiles, int64_t panels,
                                int threads) const {
  if (groups_ != 1 || panels < threads) return false;
  static const int forced = [] {
    if (env_is("TFJS_INFER_CONV_SPLIT", "rows")) return 1;
    if (env_is("TFJS_INFER_CONV_SPLIT", "cols")) return 2;
    if (env_is("TFJS_INFER_CONV_SPLIT", "image")) return 3;
    return 0;
  }();
  // The previous rule; one thread keeps it: it runs a weight-heavy layer as
  // two column blocks one after the other, which measured 0.95x the time of
  // one pass on ResNet50 at batch 1 (bench/env_ab.py, thread CPU time).
  if (forced == 3 || threads <= 1) return weight_heavy(m_img) || tiles < 2 * threads;
  if (forced == 1 && tiles >= threads) return false;
  if (forced == 2) return true;
  if (tiles < 2 * threads) return true;
  if (!weight_heavy(m_img)) return false;
  // A weight-heavy image: unless B fits in the L2 block the GEMM keeps B in
  // while its row tiles pass, every tile streams it from beyond L2; a filter
  // task streams only its share.
  const int64_t b_bytes = kg_ * cout_g_ * static_cast<int64_t>(sizeof(float));
  return rows < cout_g_ || b_bytes > cpu_params().gemm.l2_block_bytes;
}

int64_t ConvBase::tile_rows(int64_t m_img) const {
  const int64_t bytes = weight_heavy(m_img) ? 1024 * 1024 : 192 * 1024;
  const int64_t rows = bytes / (kg_ * 4);
  return std::min(m_img, std::max<int64_t>(16, std::min<int64_t>(rows, 512)));
}

int64_t ConvBase::out_rows_per_image(const Shape& in_shape) const {
  const auto dims = spatial_dims(in_shape, geo_.rank);
  int64_t m = 1;
  for (int i = 0; i < 3; ++i) m *= geo_.out_size(i, dims[i]);
  return m;
}

ConvBase::WindowImage ConvBase::window_image(const Shape& in_shape) const {
  const auto dims = spatial_dims(in_shape, geo_.rank);
  WindowImage l;
  l.hp = (geo_.out_size(1, dims[1]) - 1) * geo_.s[1] + geo_.k[1];
  l.wp = (geo_.out_size(2, dims[2]) - 1) * geo_.s[2] + geo_.k[2];
  l.pad_t = geo_.pad_before(1, dims[1]);
  l.pad_l = geo_.pad_before(2, dims[2]);
  l.x0 = std::max<int64_t>(0, -l.pad_l);
  l.x1 = std::max(l.x0, std::min<int64_t>(dims[2], l.wp - l.pad_l));
  return l;
}

}  // namespace tfjs_infer
