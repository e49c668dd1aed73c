// Kernel hooks of the CUDA build for tests/cuda: tfjs_infer._core._cuda_testing.
//
// Each function uploads numpy arrays with cudaMalloc/cudaMemcpy, calls one
// launch function of cpp/cuda/kernels/, synchronizes and downloads the
// result. In a TFJS_INFER_CUDA_EMU build the same calls run the kernels on
// the host emulator (and the emulator's self-test kernels are added); in a
// TFJS_INFER_CUDA build they run on the GPU. Not a public API.
#include "bindings/cuda_testing.h"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <array>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "cuda/kernels/attention.h"
#include "cuda/kernels/conv_transpose.h"
#include "cuda/kernels/depthwise.h"
#include "cuda/kernels/elementwise.h"
#include "cuda/kernels/embedding.h"
#include "cuda/kernels/gemm.h"
#include "cuda/kernels/norm.h"
#include "cuda/kernels/pool.h"
#include "cuda/kernels/resize.h"
#include "cuda/kernels/rnn.h"
#include "cuda/kernels/softmax.h"
#include "cuda/kernels/transpose.h"
#include "ops/activation.h"
#ifdef TFJS_INFER_CUDA_EMU
#include "cuda/emu/scheduler.h"
#include "cuda/emu/selftest.h"
#endif

namespace py = pybind11;

namespace tfjs_infer {
namespace {

template <typename T>
using Arr = py::array_t<T, py::array::c_style | py::array::forcecast>;
using F32 = Arr<float>;
using OptF32 = std::optional<F32>;

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess)
    throw std::runtime_error(std::string(what) + ": " + cudaGetErrorName(e) + " (" +
                             cudaGetErrorString(e) + ")");
}

// One device allocation; freed on scope exit.
class Dev {
 public:
  explicit Dev(size_t bytes) : bytes_(bytes) {
    check(cudaMalloc(&ptr_, bytes ? bytes : 1), "cudaMalloc");
  }
  template <typename T>
  explicit Dev(const Arr<T>& a) : Dev(static_cast<size_t>(a.size()) * sizeof(T)) {
    check(cudaMemcpy(ptr_, a.data(), bytes_, cudaMemcpyHostToDevice), "upload");
  }
  Dev(const Dev&) = delete;
  Dev& operator=(const Dev&) = delete;
  ~Dev() { cudaFree(ptr_); }
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }
  float* f() const { return as<float>(); }
  template <typename T>
  Arr<T> download(const std::vector<py::ssize_t>& shape) const {
    Arr<T> out(shape);
    check(cudaDeviceSynchronize(), "kernel");
    check(cudaMemcpy(out.mutable_data(), ptr_, static_cast<size_t>(out.size()) * sizeof(T),
                     cudaMemcpyDeviceToHost),
          "download");
    return out;
  }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

std::unique_ptr<Dev> upload_opt(const OptF32& a) { return a ? std::make_unique<Dev>(*a) : nullptr; }
const float* ptr(const std::unique_ptr<Dev>& d) { return d ? d->f() : nullptr; }

std::vector<py::ssize_t> shape_of(const py::array& a) {
  return std::vector<py::ssize_t>(a.shape(), a.shape() + a.ndim());
}

void require(bool ok, const std::string& what) {
  if (!ok) throw py::value_error(what);
}

ActParams act_params(const std::string& name, float alpha, float beta, float gamma) {
  ActParams p;
  if (!act_kind_by_name(name, &p.kind)) throw py::value_error("unknown activation '" + name + "'");
  p.alpha = alpha;
  p.beta = beta;
  p.gamma = gamma;
  return p;
}

// The shared keyword arguments of an activation.
#define ACT_ARGS                                                              \
  py::arg("act") = "linear", py::arg("alpha") = 0.0f, py::arg("beta") = 0.0f, \
  py::arg("gamma") = 0.0f

F32 gemm(const F32& a, const F32& b, const OptF32& bias, const OptF32& residual,
         const std::string& act, float alpha, float beta, float gamma, float scale, bool trans_b) {
  require(a.ndim() == 3 && b.ndim() == 3, "a [batch, m, k] and b [batch, k, n] (or [batch, n, k])");
  const int64_t batch = a.shape(0), m = a.shape(1), k = a.shape(2);
  const int64_t n = trans_b ? b.shape(1) : b.shape(2);
  require(b.shape(0) == batch && (trans_b ? b.shape(2) : b.shape(1)) == k, "a and b do not fit");
  require(!bias || (bias->ndim() == 1 && bias->shape(0) == n), "bias must be [n]");
  require(!residual || shape_of(*residual) == std::vector<py::ssize_t>{batch, m, n},
          "residual must be [batch, m, n]");
  const Dev da(a), db(b), dc(static_cast<size_t>(batch * m * n) * sizeof(float));
  const auto dbias = upload_opt(bias), dres = upload_opt(residual);
  cuda::GemmArgs g;
  g.m = m, g.n = n, g.k = k, g.batch = batch;
  g.a = da.f(), g.lda = k, g.stride_a = m * k;
  g.b = db.f(), g.ldb = trans_b ? k : n, g.stride_b = k * n, g.trans_b = trans_b;
  g.c = dc.f(), g.ldc = n, g.stride_c = m * n;
  g.alpha = scale, g.bias = ptr(dbias), g.residual = ptr(dres), g.ldr = n, g.stride_r = m * n;
  g.act = act_params(act, alpha, beta, gamma);
  check(cuda::gemm_f32(g, nullptr), "gemm_f32");
  return dc.download<float>({batch, m, n});
}

F32 conv2d(const F32& x, const F32& w, const OptF32& bias, const OptF32& residual,
           std::array<int64_t, 2> strides, std::array<int64_t, 2> dilations,
           std::array<int64_t, 2> pads, std::array<int64_t, 2> out_hw, int64_t groups,
           const std::string& act, float alpha, float beta, float gamma) {
  require(x.ndim() == 4 && w.ndim() == 4, "x [n, h, w, cin], w [kh, kw, cin/groups, cout]");
  require(groups >= 1 && x.shape(3) == w.shape(2) * groups && w.shape(3) % groups == 0,
          "channels do not fit the groups");
  cuda::ConvArgs c;
  c.n = x.shape(0), c.in_h = x.shape(1), c.in_w = x.shape(2), c.cin = x.shape(3);
  c.kh = w.shape(0), c.kw = w.shape(1), c.cout = w.shape(3), c.groups = groups;
  c.stride_h = strides[0], c.stride_w = strides[1], c.dil_h = dilations[0], c.dil_w = dilations[1];
  c.pad_top = pads[0], c.pad_left = pads[1], c.out_h = out_hw[0], c.out_w = out_hw[1];
  const std::vector<py::ssize_t> y_shape{c.n, c.out_h, c.out_w, c.cout};
  require(!bias || (bias->ndim() == 1 && bias->shape(0) == c.cout), "bias must be [cout]");
  require(!residual || shape_of(*residual) == y_shape, "residual must be shaped like y");
  const Dev dx(x), dw(w), dy(static_cast<size_t>(c.n * c.out_h * c.out_w * c.cout) * 4);
  const auto dbias = upload_opt(bias), dres = upload_opt(residual);
  c.x = dx.f(), c.w = dw.f(), c.y = dy.f(), c.bias = ptr(dbias), c.residual = ptr(dres);
  c.act = act_params(act, alpha, beta, gamma);
  check(cuda::conv2d_f32(c, nullptr), "conv2d_f32");
  return dy.download<float>(y_shape);
}

// x [n, h, w, cin], kernel [kh, kw, cout, cin] (Keras's layout): the GEMM of
// x with B [cin, (kh, kw, cout)] (arranged here, as the backend does at load),
// then the gather kernel.
F32 conv2d_transpose(const F32& x, const F32& kernel, const OptF32& bias,
                     std::array<int64_t, 2> strides, std::array<int64_t, 2> dilations,
                     std::array<int64_t, 2> pads, std::array<int64_t, 2> out_hw,
                     const std::string& act, float alpha, float beta, float gamma) {
  require(x.ndim() == 4 && kernel.ndim() == 4 && kernel.shape(3) == x.shape(3),
          "x [n, h, w, cin], kernel [kh, kw, cout, cin]");
  const int64_t n = x.shape(0), h = x.shape(1), w = x.shape(2), cin = x.shape(3);
  const int64_t kh = kernel.shape(0), kw = kernel.shape(1), cout = kernel.shape(2);
  const int64_t cols = kh * kw * cout;
  F32 b(std::vector<py::ssize_t>{cin, cols});
  for (int64_t kk = 0; kk < kh * kw; ++kk)
    for (int64_t co = 0; co < cout; ++co)
      for (int64_t ci = 0; ci < cin; ++ci)
        b.mutable_data()[ci * cols + kk * cout + co] = kernel.data()[(kk * cout + co) * cin + ci];
  require(!bias || bias->size() == cout, "bias [cout]");
  const Dev dx(x), db(b), dcol(static_cast<size_t>(n * h * w * cols) * 4);
  const Dev dy(static_cast<size_t>(n * out_hw[0] * out_hw[1] * cout) * 4);
  const auto dbias = upload_opt(bias);
  cuda::GemmArgs g;
  g.m = n * h * w, g.n = cols, g.k = cin, g.a = dx.f(), g.lda = cin, g.b = db.f(), g.ldb = cols;
  g.c = dcol.f(), g.ldc = cols;
  check(cuda::gemm_f32(g, nullptr), "gemm_f32");
  cuda::ConvTransposeGatherArgs t;
  t.col = dcol.f(), t.bias = ptr(dbias), t.y = dy.f(), t.n = n, t.cout = cout;
  t.in[1] = h, t.in[2] = w, t.out[1] = out_hw[0], t.out[2] = out_hw[1], t.k[1] = kh, t.k[2] = kw;
  t.stride[1] = strides[0], t.stride[2] = strides[1], t.dil[1] = dilations[0];
  t.dil[2] = dilations[1], t.pad_before[1] = pads[0], t.pad_before[2] = pads[1];
  t.act = act_params(act, alpha, beta, gamma);
  check(cuda::conv_transpose_gather_f32(t, nullptr), "conv_transpose_gather_f32");
  return dy.download<float>({n, out_hw[0], out_hw[1], cout});
}

F32 depthwise(const F32& x, const F32& w, const OptF32& bias, std::array<int64_t, 2> strides,
              std::array<int64_t, 2> dilations, std::array<int64_t, 2> pads,
              std::array<int64_t, 2> out_hw, const std::string& act, float alpha, float beta,
              float gamma) {
  require(x.ndim() == 4 && w.ndim() == 3 && x.shape(3) > 0 && w.shape(2) % x.shape(3) == 0,
          "x [n, h, w, c] and w [kh, kw, c * depth_multiplier]");
  cuda::DepthwiseArgs d;
  d.n = x.shape(0), d.in_h = x.shape(1), d.in_w = x.shape(2), d.c = w.shape(2);
  d.multiplier = w.shape(2) / x.shape(3);
  d.kh = w.shape(0), d.kw = w.shape(1);
  d.stride_h = strides[0], d.stride_w = strides[1], d.dil_h = dilations[0], d.dil_w = dilations[1];
  d.pad_top = pads[0], d.pad_left = pads[1], d.out_h = out_hw[0], d.out_w = out_hw[1];
  require(!bias || (bias->ndim() == 1 && bias->shape(0) == d.c), "bias must be [c]");
  const Dev dx(x), dw(w), dy(static_cast<size_t>(d.n * d.out_h * d.out_w * d.c) * 4);
  const auto dbias = upload_opt(bias);
  d.x = dx.f(), d.w = dw.f(), d.y = dy.f(), d.bias = ptr(dbias);
  d.act = act_params(act, alpha, beta, gamma);
  check(cuda::depthwise_f32(d, nullptr), "depthwise_f32");
  return dy.download<float>({d.n, d.out_h, d.out_w, d.c});
}

F32 pool(const F32& x, bool max, std::array<int64_t, 3> kernel, std::array<int64_t, 3> strides,
         std::array<int64_t, 3> pads, std::array<int64_t, 3> out, float max_init) {
  require(x.ndim() == 5, "x [n, d, h, w, c]");
  PoolArgs p;
  p.max = max, p.max_init = max_init, p.c = x.shape(4);
  p.in_d = x.shape(1), p.in_h = x.shape(2), p.in_w = x.shape(3);
  p.k_d = kernel[0], p.k_h = kernel[1], p.k_w = kernel[2];
  p.s_d = strides[0], p.s_h = strides[1], p.s_w = strides[2];
  p.pad_d = pads[0], p.pad_h = pads[1], p.pad_w = pads[2];
  p.out_d = out[0], p.out_h = out[1], p.out_w = out[2];
  const int64_t n = x.shape(0);
  const Dev dx(x), dy(static_cast<size_t>(n * p.out_d * p.out_h * p.out_w * p.c) * 4);
  p.x = dx.f(), p.y = dy.f();
  check(cuda::pool_f32(p, n, nullptr), "pool_f32");
  return dy.download<float>({n, p.out_d, p.out_h, p.out_w, p.c});
}

F32 global_pool(const F32& x, bool max, bool channels_first) {
  require(x.ndim() == 3, "x [n, spatial, c] (channels_first: [n, c, spatial])");
  cuda::GlobalPoolArgs g;
  g.max = max, g.channels_first = channels_first, g.n = x.shape(0);
  g.spatial = channels_first ? x.shape(2) : x.shape(1);
  g.c = channels_first ? x.shape(1) : x.shape(2);
  const Dev dx(x), dy(static_cast<size_t>(g.n * g.c) * 4);
  g.x = dx.f(), g.y = dy.f();
  check(cuda::global_pool_f32(g, nullptr), "global_pool_f32");
  return dy.download<float>({g.n, g.c});
}

F32 activation(const std::string& act, const F32& x, float alpha, float beta, float gamma) {
  const Dev dx(x), dy(static_cast<size_t>(x.size()) * 4);
  check(
      cuda::activation_f32(act_params(act, alpha, beta, gamma), dx.f(), dy.f(), x.size(), nullptr),
      "activation_f32");
  return dy.download<float>(shape_of(x));
}

// Broadcast strides of `s` against `out` (equal ranks), 0 on broadcast axes.
std::vector<int64_t> strides_for(const std::vector<py::ssize_t>& s,
                                 const std::vector<py::ssize_t>& out) {
  std::vector<int64_t> st(out.size(), 0);
  int64_t acc = 1;
  for (size_t d = out.size(); d-- > 0;) {
    st[d] = s[d] == 1 && out[d] != 1 ? 0 : acc;
    acc *= s[d];
  }
  return st;
}

F32 merge(const std::string& kind, const std::vector<F32>& inputs) {
  static const std::pair<const char*, cuda::MergeKind> kinds[] = {
      {"add", cuda::MergeKind::kAdd}, {"sub", cuda::MergeKind::kSub},
      {"mul", cuda::MergeKind::kMul}, {"max", cuda::MergeKind::kMax},
      {"min", cuda::MergeKind::kMin}, {"mean", cuda::MergeKind::kAdd}};
  cuda::MergeKind mk = cuda::MergeKind::kCopy;
  for (const auto& [name, k] : kinds)
    if (kind == name) mk = k;
  require(mk != cuda::MergeKind::kCopy && !inputs.empty(), "unknown merge or no inputs");
  const size_t rank = static_cast<size_t>(inputs[0].ndim());
  require(rank >= 1 && rank <= static_cast<size_t>(cuda::kMaxRank), "rank 1..8");
  std::vector<py::ssize_t> out(rank, 1);
  for (const F32& x : inputs) {
    require(static_cast<size_t>(x.ndim()) == rank, "inputs must have equal ranks");
    for (size_t d = 0; d < rank; ++d) out[d] = std::max(out[d], x.shape(d));
  }
  int64_t total = 1;
  for (auto v : out) total *= v;
  const Dev dy(static_cast<size_t>(total) * 4);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Dev dx(inputs[i]);
    cuda::MergeArgs m;
    m.kind = i == 0 ? cuda::MergeKind::kCopy : mk;
    m.rank = static_cast<int32_t>(rank);
    const std::vector<int64_t> st = strides_for(shape_of(inputs[i]), out);
    for (size_t d = 0; d < rank; ++d) m.out_dims[d] = out[d], m.x_strides[d] = st[d];
    m.x = dx.f(), m.y = dy.f();
    if (kind == "mean" && i + 1 == inputs.size())
      m.post_scale = 1.0f / static_cast<float>(inputs.size());
    check(cuda::merge_f32(m, nullptr), "merge_f32");
    check(cudaDeviceSynchronize(), "merge");
  }
  return dy.download<float>(out);
}

F32 channel_affine(const py::array& x, const F32& scale, const F32& shift, int64_t channels,
                   int64_t inner) {
  require(scale.size() == channels && shift.size() == channels && channels > 0 && inner > 0 &&
              x.size() % (channels * inner) == 0,
          "scale/shift [channels]; x [outer, channels, inner]");
  const Dev dscale(scale), dshift(shift), dy(static_cast<size_t>(x.size()) * 4);
  cuda::ChannelAffineArgs a;
  a.y = dy.f(), a.scale = dscale.f(), a.shift = dshift.f();
  a.outer = x.size() / (channels * inner), a.channels = channels, a.inner = inner;
  std::unique_ptr<Dev> dx;
  if (py::isinstance<Arr<int32_t>>(x) && x.dtype().is(py::dtype::of<int32_t>())) {
    dx = std::make_unique<Dev>(Arr<int32_t>(x));
    a.x_i32 = dx->as<int32_t>();
  } else {
    dx = std::make_unique<Dev>(F32(x));
    a.x = dx->f();
  }
  check(cuda::channel_affine_f32(a, nullptr), "channel_affine_f32");
  return dy.download<float>(shape_of(x));
}

F32 prelu(const F32& x, const F32& alpha) {
  require(x.ndim() == alpha.ndim() + 1, "alpha has the rank of one row of x");
  std::vector<py::ssize_t> row(x.shape() + 1, x.shape() + x.ndim());
  std::vector<py::ssize_t> a_shape = shape_of(alpha);
  for (size_t d = 0; d < row.size(); ++d)
    require(a_shape[d] == 1 || a_shape[d] == row[d], "alpha does not fit x");
  const std::vector<int64_t> st = strides_for(a_shape, row);
  int64_t per_row = 1;
  for (auto v : row) per_row *= v;
  Arr<int64_t> index(std::vector<py::ssize_t>{per_row});
  for (int64_t j = 0; j < per_row; ++j) {
    int64_t rest = j, off = 0;
    for (size_t d = row.size(); d-- > 0;) {
      off += (rest % row[d]) * st[d];
      rest /= row[d];
    }
    index.mutable_data()[j] = off;
  }
  const Dev dx(x), dalpha(alpha), dindex(index), dy(static_cast<size_t>(x.size()) * 4);
  cuda::PreluArgs p;
  p.x = dx.f(), p.y = dy.f(), p.alpha = dalpha.f(), p.alpha_index = dindex.as<int64_t>();
  p.rows = x.shape(0), p.per_row = per_row;
  check(cuda::prelu_f32(p, nullptr), "prelu_f32");
  return dy.download<float>(shape_of(x));
}

F32 softmax(const F32& x, bool log) {
  require(x.ndim() == 2, "x [rows, cols]");
  const Dev dx(x);
  check(cuda::softmax_f32(dx.f(), dx.f(), x.shape(0), x.shape(1), log, nullptr), "softmax_f32");
  return dx.download<float>(shape_of(x));
}

F32 span_norm(const std::string& kind, const F32& x, const OptF32& gamma, const OptF32& beta,
              double eps) {
  require(x.ndim() == 3, "x [outer, len, inner]");
  cuda::SpanNormArgs s;
  if (kind == "layer")
    s.kind = cuda::SpanNormKind::kLayer;
  else if (kind == "layer_rms")
    s.kind = cuda::SpanNormKind::kLayerRms;
  else if (kind == "rms")
    s.kind = cuda::SpanNormKind::kRms;
  else if (kind == "unit")
    s.kind = cuda::SpanNormKind::kUnit;
  else
    throw py::value_error("unknown norm '" + kind + "'");
  s.outer = x.shape(0), s.len = x.shape(1), s.inner = x.shape(2), s.eps = eps;
  require(!gamma || gamma->size() == s.len, "gamma [len]");
  require(!beta || beta->size() == s.len, "beta [len]");
  const Dev dx(x), dy(static_cast<size_t>(x.size()) * 4);
  const auto dg = upload_opt(gamma), db = upload_opt(beta);
  s.x = dx.f(), s.y = dy.f(), s.gamma = ptr(dg), s.beta = ptr(db);
  check(cuda::span_norm_f32(s, nullptr), "span_norm_f32");
  return dy.download<float>(shape_of(x));
}

F32 group_norm(const F32& x, int64_t groups, const OptF32& gamma, const OptF32& beta, double eps) {
  require(x.ndim() == 4, "x [n, pre, c, post]");
  cuda::GroupNormArgs g;
  g.n = x.shape(0), g.pre = x.shape(1), g.c = x.shape(2), g.post = x.shape(3);
  g.groups = groups, g.eps = eps;
  require(!gamma || gamma->size() == g.c, "gamma [c]");
  require(!beta || beta->size() == g.c, "beta [c]");
  const Dev dx(x), dy(static_cast<size_t>(x.size()) * 4);
  const auto dg = upload_opt(gamma), db = upload_opt(beta);
  g.x = dx.f(), g.y = dy.f(), g.gamma = ptr(dg), g.beta = ptr(db);
  check(cuda::group_norm_f32(g, nullptr), "group_norm_f32");
  return dy.download<float>(shape_of(x));
}

py::tuple embedding(const py::array& ids, const F32& table) {
  require(table.ndim() == 2, "table [rows, dim]");
  cuda::EmbeddingArgs e;
  e.n = ids.size(), e.rows = table.shape(0), e.dim = table.shape(1);
  std::unique_ptr<Dev> dids;
  if (ids.dtype().is(py::dtype::of<int32_t>())) {
    dids = std::make_unique<Dev>(Arr<int32_t>(ids));
    e.ids_i32 = dids->as<int32_t>();
  } else {
    dids = std::make_unique<Dev>(F32(ids));
    e.ids_f32 = dids->f();
  }
  const Dev dt(table), dy(static_cast<size_t>(e.n * e.dim) * 4), dbad(sizeof(int64_t));
  const int64_t none = INT64_MAX;
  check(cudaMemcpy(dbad.as<int64_t>(), &none, sizeof none, cudaMemcpyHostToDevice), "upload");
  e.table = dt.f(), e.y = dy.f(), e.bad = dbad.as<int64_t>();
  check(cuda::embedding_f32(e, nullptr), "embedding_f32");
  std::vector<py::ssize_t> y_shape = shape_of(ids);
  y_shape.push_back(e.dim);
  const Arr<int64_t> bad = dbad.download<int64_t>({1});
  const int64_t first_bad = bad.data()[0];
  return py::make_tuple(dy.download<float>(y_shape),
                        first_bad == INT64_MAX ? py::object(py::none()) : py::int_(first_bad));
}

py::dict rnn_gates(const std::string& kind, const F32& pre, const F32& h, const OptF32& c,
                   const OptF32& x, const OptF32& aux, const std::string& act,
                   const std::string& ract, float ract_alpha, float ract_beta) {
  static const std::pair<const char*, RnnGateKind> kinds[] = {
      {"simple", RnnGateKind::kSimple},
      {"lstm", RnnGateKind::kLstm},
      {"gru_reset_after", RnnGateKind::kGruResetAfter},
      {"gru_zr", RnnGateKind::kGruZr},
      {"gru_h", RnnGateKind::kGruH}};
  RnnGateArgs g;
  bool found = false;
  for (const auto& [name, k] : kinds)
    if (kind == name) g.kind = k, found = true;
  require(found && pre.ndim() == 2 && h.ndim() == 2 && pre.shape(0) == h.shape(0),
          "kind simple|lstm|gru_reset_after|gru_zr|gru_h; pre [m, gates*units], h [m, units]");
  g.m = h.shape(0), g.units = h.shape(1);
  g.act = act_params(act, 0.0f, 0.0f, 0.0f);
  g.ract = act_params(ract, ract_alpha, ract_beta, 0.0f);
  const Dev dpre(pre), dh(h);
  const auto dc = upload_opt(c), dx = upload_opt(x), daux = upload_opt(aux);
  g.pre = dpre.f(), g.ldp = pre.shape(1), g.h = dh.f(), g.ldh = g.units;
  if (dc) g.c = dc->f(), g.ldc = g.units;
  if (dx) g.x = dx->f(), g.ldx = x->shape(1);
  if (daux) g.aux = daux->f(), g.lda = g.units;
  require((g.kind != RnnGateKind::kLstm || dc) && (g.kind != RnnGateKind::kGruResetAfter || dx) &&
              ((g.kind != RnnGateKind::kGruZr && g.kind != RnnGateKind::kGruH) || daux),
          "missing c, x or aux for this kind");
  check(cuda::rnn_gates_f32(g, nullptr), "rnn_gates_f32");
  py::dict out;
  out["pre"] = dpre.download<float>(shape_of(pre));
  out["h"] = dh.download<float>(shape_of(h));
  if (dc) out["c"] = dc->download<float>(shape_of(*c));
  if (daux) out["aux"] = daux->download<float>(shape_of(*aux));
  return out;
}

py::tuple attention(const F32& q, const F32& k, const F32& v, int64_t heads, int64_t kv_heads,
                    float scale, bool additive, float add_inner, float add_outer,
                    const OptF32& add_scale, bool causal, int64_t window, bool zero_masked,
                    bool return_scores,
                    const std::vector<std::pair<std::string, py::array>>& masks) {
  require(q.ndim() == 3 && k.ndim() == 3 && v.ndim() == 3, "q, k, v [n, t, features]");
  require(heads >= 1 && kv_heads >= 1 && heads % kv_heads == 0 && q.shape(2) % heads == 0 &&
              v.shape(2) % kv_heads == 0,
          "heads do not fit");
  require(masks.size() <= static_cast<size_t>(cuda::kMaxAttentionMasks), "too many masks");
  cuda::AttentionArgs a;
  a.n = q.shape(0), a.tq = q.shape(1), a.tk = k.shape(1), a.heads = heads, a.kv_heads = kv_heads;
  a.dk = q.shape(2) / heads, a.dv = v.shape(2) / kv_heads;
  require(
      k.shape(2) == a.dk * kv_heads && v.shape(1) == a.tk && k.shape(0) == a.n && v.shape(0) == a.n,
      "q, k, v do not fit");
  a.scale = scale, a.additive = additive, a.add_inner = add_inner, a.add_outer = add_outer;
  a.causal = causal, a.window = window, a.zero_masked = zero_masked;
  const Dev dq(q), dk(k), dv(v), dout(static_cast<size_t>(a.n * a.tq * heads * a.dv) * 4);
  const Dev dscores(static_cast<size_t>(a.n * heads * a.tq * a.tk) * 4);
  const auto dadd = upload_opt(add_scale);
  std::vector<std::unique_ptr<Dev>> dmasks;
  for (const auto& [kind, arr] : masks) {
    cuda::AttentionMaskArg& m = a.masks[a.num_masks++];
    m.kind = kind == "full"    ? cuda::AttentionMask::kFull
             : kind == "query" ? cuda::AttentionMask::kQuery
             : kind == "key"   ? cuda::AttentionMask::kKey
                               : cuda::AttentionMask::kQueryOut;
    if (m.kind == cuda::AttentionMask::kFull) {
      require(arr.ndim() == 3, "a full mask is [n|1, tq|1, tk]");
      m.dim0 = arr.shape(0), m.dim1 = arr.shape(1);
    }
    if (arr.dtype().is(py::dtype::of<int32_t>())) {
      dmasks.push_back(std::make_unique<Dev>(Arr<int32_t>(arr)));
      m.i32 = dmasks.back()->as<int32_t>();
    } else {
      dmasks.push_back(std::make_unique<Dev>(F32(arr)));
      m.f32 = dmasks.back()->f();
    }
  }
  a.q = dq.f(), a.k = dk.f(), a.v = dv.f(), a.o = dout.f(), a.add_scale = ptr(dadd);
  a.scores = return_scores ? dscores.f() : nullptr;
  check(cuda::attention_f32(a, nullptr), "attention_f32");
  py::object scores = py::none();
  if (return_scores) scores = dscores.download<float>({a.n, heads, a.tq, a.tk});
  return py::make_tuple(dout.download<float>({a.n, a.tq, heads * a.dv}), scores);
}

F32 resize(const F32& x, int64_t oh, int64_t ow, bool bilinear, bool frac_f64,
           const Arr<int64_t>& h_lo, const Arr<int64_t>& h_hi, const Arr<double>& h_frac,
           const Arr<int64_t>& w_lo, const Arr<int64_t>& w_hi, const Arr<double>& w_frac) {
  require(x.ndim() == 4 && h_lo.size() == oh && h_hi.size() == oh && h_frac.size() == oh &&
              w_lo.size() == ow && w_hi.size() == ow && w_frac.size() == ow,
          "x [n, h, w, c] and taps [oh], [ow]");
  for (const Arr<int64_t>* t : {&h_lo, &h_hi})
    for (int64_t i = 0; i < oh; ++i) require(t->data()[i] >= 0 && t->data()[i] < x.shape(1), "tap");
  for (const Arr<int64_t>* t : {&w_lo, &w_hi})
    for (int64_t i = 0; i < ow; ++i) require(t->data()[i] >= 0 && t->data()[i] < x.shape(2), "tap");
  cuda::ResizeArgs r;
  r.n = x.shape(0), r.ih = x.shape(1), r.iw = x.shape(2), r.c = x.shape(3), r.oh = oh, r.ow = ow;
  r.bilinear = bilinear, r.frac_f64 = frac_f64;
  const Dev dx(x), dy(static_cast<size_t>(r.n * oh * ow * r.c) * 4);
  const Dev dhl(h_lo), dhh(h_hi), dhf(h_frac), dwl(w_lo), dwh(w_hi), dwf(w_frac);
  r.x = dx.f(), r.y = dy.f();
  r.h_lo = dhl.as<int64_t>(), r.h_hi = dhh.as<int64_t>(), r.h_frac = dhf.as<double>();
  r.w_lo = dwl.as<int64_t>(), r.w_hi = dwh.as<int64_t>(), r.w_frac = dwf.as<double>();
  check(cuda::resize_f32(r, nullptr), "resize_f32");
  return dy.download<float>({r.n, oh, ow, r.c});
}

F32 pad(const F32& x, const std::vector<int64_t>& out_dims, const std::vector<int64_t>& begin) {
  const size_t rank = static_cast<size_t>(x.ndim());
  require(rank >= 1 && rank <= static_cast<size_t>(cuda::kMaxRank) && out_dims.size() == rank &&
              begin.size() == rank,
          "out_dims and begin per axis");
  cuda::PadArgs p;
  p.rank = static_cast<int32_t>(rank);
  int64_t total = 1;
  for (size_t d = 0; d < rank; ++d)
    p.in_dims[d] = x.shape(d), p.out_dims[d] = out_dims[d], p.begin[d] = begin[d],
    total *= out_dims[d];
  const Dev dx(x), dy(static_cast<size_t>(total) * 4);
  p.x = dx.f(), p.y = dy.f();
  check(cuda::pad_f32(p, nullptr), "pad_f32");
  return dy.download<float>(std::vector<py::ssize_t>(out_dims.begin(), out_dims.end()));
}

F32 repeat(const F32& x, const std::vector<int64_t>& reps) {
  const size_t rank = static_cast<size_t>(x.ndim());
  require(rank >= 1 && rank <= static_cast<size_t>(cuda::kMaxRank) && reps.size() == rank,
          "a repeat per axis");
  cuda::RepeatArgs r;
  r.rank = static_cast<int32_t>(rank);
  std::vector<py::ssize_t> out(rank);
  int64_t total = 1;
  for (size_t d = 0; d < rank; ++d)
    r.in_dims[d] = x.shape(d), r.repeat[d] = reps[d], out[d] = x.shape(d) * reps[d],
    total *= out[d];
  const Dev dx(x), dy(static_cast<size_t>(total) * 4);
  r.x = dx.f(), r.y = dy.f();
  check(cuda::repeat_f32(r, nullptr), "repeat_f32");
  return dy.download<float>(out);
}

F32 transpose(const F32& x, const std::vector<int64_t>& perm) {
  const size_t rank = static_cast<size_t>(x.ndim());
  require(rank >= 1 && rank <= static_cast<size_t>(cuda::kMaxRank) && perm.size() == rank,
          "a permutation of x's axes");
  std::vector<int64_t> in_stride(rank, 1);
  for (size_t d = rank - 1; d-- > 0;) in_stride[d] = in_stride[d + 1] * x.shape(d + 1);
  cuda::TransposeArgs t;
  t.rank = static_cast<int32_t>(rank);
  std::vector<py::ssize_t> out(rank);
  for (size_t d = 0; d < rank; ++d) {
    require(perm[d] >= 0 && perm[d] < static_cast<int64_t>(rank), "axis out of range");
    out[d] = x.shape(perm[d]), t.out_dims[d] = out[d], t.x_strides[d] = in_stride[perm[d]];
  }
  const Dev dx(x), dy(static_cast<size_t>(x.size()) * 4);
  t.x = dx.f(), t.y = dy.f();
  check(cuda::transpose_f32(t, nullptr), "transpose_f32");
  return dy.download<float>(out);
}

py::dict device_info() {
  py::dict d;
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  d["count_error"] = cudaGetErrorName(e);
  d["count"] = count;
  if (e == cudaSuccess && count > 0) {
    cudaDeviceProp prop;
    check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
    d["name"] = std::string(prop.name);
    d["warp_size"] = prop.warpSize;
    d["max_threads_per_block"] = prop.maxThreadsPerBlock;
  }
  return d;
}

}  // namespace

void register_cuda_testing(py::module_& m) {
  py::module_ t = m.def_submodule("_cuda_testing", "CUDA kernels for tests (not a public API)");
#ifdef TFJS_INFER_CUDA_EMU
  t.attr("emulated") = true;
#else
  t.attr("emulated") = false;
#endif
  t.def("device_info", &device_info);
  t.def("gemm", &gemm, py::arg("a"), py::arg("b"), py::arg("bias") = py::none(),
        py::arg("residual") = py::none(), ACT_ARGS, py::arg("scale") = 1.0f,
        py::arg("trans_b") = false);
  t.def("conv2d", &conv2d, py::arg("x"), py::arg("w"), py::arg("bias") = py::none(),
        py::arg("residual") = py::none(), py::arg("strides"), py::arg("dilations"), py::arg("pads"),
        py::arg("out_hw"), py::arg("groups") = 1, ACT_ARGS);
  t.def("conv2d_transpose", &conv2d_transpose, py::arg("x"), py::arg("kernel"),
        py::arg("bias") = py::none(), py::arg("strides"), py::arg("dilations"), py::arg("pads"),
        py::arg("out_hw"), ACT_ARGS);
  t.def("depthwise", &depthwise, py::arg("x"), py::arg("w"), py::arg("bias") = py::none(),
        py::arg("strides"), py::arg("dilations"), py::arg("pads"), py::arg("out_hw"), ACT_ARGS);
  t.def("pool", &pool, py::arg("x"), py::arg("max"), py::arg("kernel"), py::arg("strides"),
        py::arg("pads"), py::arg("out"), py::arg("max_init") = -INFINITY);
  t.def("global_pool", &global_pool, py::arg("x"), py::arg("max"),
        py::arg("channels_first") = false);
  t.def("activation", &activation, py::arg("act"), py::arg("x"), py::arg("alpha") = 0.0f,
        py::arg("beta") = 0.0f, py::arg("gamma") = 0.0f);
  t.def("merge", &merge, py::arg("kind"), py::arg("inputs"));
  t.def("channel_affine", &channel_affine, py::arg("x"), py::arg("scale"), py::arg("shift"),
        py::arg("channels"), py::arg("inner") = 1);
  t.def("prelu", &prelu, py::arg("x"), py::arg("alpha"));
  t.def("softmax", &softmax, py::arg("x"), py::arg("log") = false);
  t.def("span_norm", &span_norm, py::arg("kind"), py::arg("x"), py::arg("gamma") = py::none(),
        py::arg("beta") = py::none(), py::arg("eps") = 1e-3);
  t.def("group_norm", &group_norm, py::arg("x"), py::arg("groups"), py::arg("gamma") = py::none(),
        py::arg("beta") = py::none(), py::arg("eps") = 1e-3);
  t.def("embedding", &embedding, py::arg("ids"), py::arg("table"));
  t.def("rnn_gates", &rnn_gates, py::arg("kind"), py::arg("pre"), py::arg("h"),
        py::arg("c") = py::none(), py::arg("x") = py::none(), py::arg("aux") = py::none(),
        py::arg("act") = "tanh", py::arg("ract") = "sigmoid", py::arg("ract_alpha") = 0.0f,
        py::arg("ract_beta") = 0.0f);
  t.def("attention", &attention, py::arg("q"), py::arg("k"), py::arg("v"), py::arg("heads") = 1,
        py::arg("kv_heads") = 1, py::arg("scale") = 1.0f, py::arg("additive") = false,
        py::arg("add_inner") = 1.0f, py::arg("add_outer") = 1.0f, py::arg("add_scale") = py::none(),
        py::arg("causal") = false, py::arg("window") = 0, py::arg("zero_masked") = false,
        py::arg("return_scores") = false,
        py::arg("masks") = std::vector<std::pair<std::string, py::array>>{});
  t.def("resize", &resize, py::arg("x"), py::arg("oh"), py::arg("ow"), py::arg("bilinear"),
        py::arg("frac_f64"), py::arg("h_lo"), py::arg("h_hi"), py::arg("h_frac"), py::arg("w_lo"),
        py::arg("w_hi"), py::arg("w_frac"));
  t.def("pad", &pad, py::arg("x"), py::arg("out_dims"), py::arg("begin"));
  t.def("repeat", &repeat, py::arg("x"), py::arg("repeat"));
  t.def("transpose", &transpose, py::arg("x"), py::arg("perm"));
#ifdef TFJS_INFER_CUDA_EMU
  register_emu_selftests(t);
#endif
}

}  // namespace tfjs_infer
