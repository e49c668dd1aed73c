// Raw-kernel hooks for the test suite and bench/gemm.py: tfjs_infer._core._testing.
//
// Every function takes an ISA name ("generic", "avx2", "avx512", "neon") and
// calls that KernelTable directly, so tests compare every built ISA in one
// process. Not a public API.
#include "bindings/testing.h"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif
#include <chrono>
#include <ctime>

#include "compile/model.h"
#include "core/huge_pages.h"
#include "core/tensor.h"
#include "kernels/kernels.h"
#include "ops/activation.h"

namespace py = pybind11;

namespace tfjs_infer {
namespace {

using F32Array = py::array_t<float, py::array::forcecast>;

ActKind parse_kind(const std::string& name) {
  ActKind kind = ActKind::kLinear;
  if (!act_kind_by_name(name, &kind)) throw py::value_error("unknown activation '" + name + "'");
  return kind;
}

const KernelTable& table(const std::string& isa) { return kernels_by_name(isa); }

// A float buffer whose end touches an inaccessible page (Linux), so a kernel
// that reads or writes one float past the end faults instead of passing.
class GuardedFloats {
 public:
  GuardedFloats(size_t n, bool guard) : n_(n) {
#if defined(__linux__)
    if (guard) {
      page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
      const size_t bytes = (n * sizeof(float) + page_ - 1) / page_ * page_;
      map_len_ = bytes + page_;
      void* p = mmap(nullptr, map_len_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) throw std::bad_alloc();
      map_ = static_cast<char*>(p);
      mprotect(map_ + bytes, page_, PROT_NONE);
      data_ = reinterpret_cast<float*>(map_ + bytes) - n;
      return;
    }
#endif
    (void)guard;
    void* p = nullptr;
    if (posix_memalign(&p, 64, std::max<size_t>(n, 1) * sizeof(float)) != 0) throw std::bad_alloc();
    heap_ = static_cast<float*>(p);
    data_ = heap_;
  }
  ~GuardedFloats() {
#if defined(__linux__)
    if (map_) munmap(map_, map_len_);
#endif
    std::free(heap_);
  }
  GuardedFloats(const GuardedFloats&) = delete;
  GuardedFloats& operator=(const GuardedFloats&) = delete;
  float* data() { return data_; }
  size_t size() const { return n_; }

 private:
  size_t n_ = 0;
  float* data_ = nullptr;
  float* heap_ = nullptr;
  char* map_ = nullptr;
  size_t map_len_ = 0;
  size_t page_ = 0;
};

// Packed weights of one table.
struct PackedB {
  std::string isa;
  int64_t k = 0, n = 0;
  std::shared_ptr<GuardedFloats> data;
};

PackedB pack_b(const std::string& isa, const F32Array& b_in) {
  const KernelTable& t = table(isa);
  py::array_t<float, py::array::c_style | py::array::forcecast> b(b_in);
  if (b.ndim() != 2) throw py::value_error("b must be 2-D [k, n]");
  PackedB p;
  p.isa = isa;
  p.k = b.shape(0);
  p.n = b.shape(1);
  if (p.k < 1 || p.n < 1) throw py::value_error("b must be non-empty");
  p.data = std::make_shared<GuardedFloats>(t.gemm_packed_b_size(p.k, p.n), true);
  t.gemm_pack_b(b.data(), p.k, p.n, nullptr, p.data->data());
  return p;
}

// A 2-D float32 view with unit column stride (row stride free), or throws.
struct View2D {
  const float* data;
  int64_t rows, cols, ld;
};

View2D view2d(const py::array& arr, const char* what) {
  if (arr.ndim() != 2 || !py::isinstance<py::array_t<float>>(arr))
    throw py::value_error(std::string(what) + " must be a 2-D float32 array");
  if (arr.strides(1) != static_cast<py::ssize_t>(sizeof(float)) ||
      arr.strides(0) % static_cast<py::ssize_t>(sizeof(float)) != 0 || arr.strides(0) < 0)
    throw py::value_error(std::string(what) + " must have unit column stride");
  return {static_cast<const float*>(arr.data()), arr.shape(0), arr.shape(1),
          arr.shape(0) > 1 ? static_cast<int64_t>(arr.strides(0) / sizeof(float)) : arr.shape(1)};
}

// Copies rows x cols of a strided view into a guarded buffer with row stride ld.
std::unique_ptr<GuardedFloats> guarded_copy(const View2D& v, int64_t ld, bool guard) {
  const size_t n = v.rows > 0 ? static_cast<size_t>((v.rows - 1) * ld + v.cols) : 0;
  auto g = std::make_unique<GuardedFloats>(n, guard);
  std::fill(g->data(), g->data() + n, 0.0f);
  for (int64_t r = 0; r < v.rows; ++r)
    std::memcpy(g->data() + r * ld, v.data + r * v.ld, sizeof(float) * v.cols);
  return g;
}

// C = act(A . B + bias + residual) through one table's gemm_f32.
//
// a: [m, k] float32, row stride free (lda = its row stride, >= k).
// b: a PackedB from pack_b() of the same ISA, or a [k, n] array packed here.
// out: optional [m, n] array written in place; columns outside
//   [n_begin, n_end) and the padding of strided rows must stay untouched.
// n_split / m_split: the column range is cut into n_split parts on panel
//   borders and the rows into m_split parts; every part is its own gemm_f32
//   call (threads > 1 runs them in an OpenMP team).
// guard: A, bias, residual and C live in buffers that end at an inaccessible
//   page, so any read or write past their ends faults.
py::array gemm(const std::string& isa, const py::array& a_arr, const py::object& b_obj,
               const std::optional<py::array>& bias_arr, const std::optional<py::array>& res_arr,
               const std::string& act, float alpha, float beta, float gamma, int64_t n_split,
               int64_t m_split, int threads, const std::optional<py::array>& out_arr,
               int64_t n_begin, int64_t n_end, bool guard, int64_t reps) {
  const KernelTable& t = table(isa);
  PackedB packed;
  if (py::isinstance<PackedB>(b_obj)) {
    packed = b_obj.cast<PackedB>();
    if (packed.isa != isa && kernels_by_name(packed.isa).isa != t.isa)
      throw py::value_error("packed for another ISA");
  } else {
    packed = pack_b(isa, b_obj.cast<F32Array>());
  }
  const View2D a = view2d(a_arr, "a");
  if (a.cols != packed.k)
    throw py::value_error("a has " + std::to_string(a.cols) + " columns, b has " +
                          std::to_string(packed.k) + " rows");
  const int64_t m = a.rows, k = packed.k, n = packed.n;
  if (n_end < 0) n_end = n;
  if (n_begin < 0 || n_begin > n_end || n_end > n || n_begin % t.gemm_nr != 0)
    throw py::value_error("bad column range");
  if (n_split < 1 || m_split < 1 || reps < 1) throw py::value_error("splits and reps must be >= 1");

  const bool copy_inputs = guard;
  std::unique_ptr<GuardedFloats> a_buf, bias_buf, res_buf;
  const float* a_ptr = a.data;
  int64_t lda = a.ld;
  if (copy_inputs) {
    a_buf = guarded_copy(a, a.ld, true);
    a_ptr = a_buf->data();
  }
  const float* bias_ptr = nullptr;
  py::array_t<float, py::array::c_style | py::array::forcecast> bias_c;
  if (bias_arr) {
    bias_c = py::array_t<float, py::array::c_style | py::array::forcecast>(*bias_arr);
    if (bias_c.ndim() != 1 || bias_c.shape(0) != n) throw py::value_error("bias must be [n]");
    bias_ptr = bias_c.data();
    if (copy_inputs) {
      bias_buf = guarded_copy({bias_c.data(), 1, n, n}, n, true);
      bias_ptr = bias_buf->data();
    }
  }
  const float* res_ptr = nullptr;
  int64_t ldr = 0;
  View2D res{};
  if (res_arr) {
    res = view2d(*res_arr, "residual");
    if (res.rows != m || res.cols != n) throw py::value_error("residual must be [m, n]");
    res_ptr = res.data;
    ldr = res.ld;
    if (copy_inputs) {
      res_buf = guarded_copy(res, res.ld, true);
      res_ptr = res_buf->data();
    }
  }

  py::array out;
  if (out_arr) {
    out = *out_arr;
    const View2D o = view2d(out, "out");
    if (o.rows != m || o.cols != n) throw py::value_error("out must be [m, n]");
    if (!out.writeable()) throw py::value_error("out must be writeable");
  } else {
    out = py::array_t<float>({m, n});
  }
  const View2D o = view2d(out, "out");
  float* c_ptr = static_cast<float*>(out.mutable_data());
  std::unique_ptr<GuardedFloats> c_buf;
  if (copy_inputs) {
    c_buf = guarded_copy(o, o.ld, true);
    c_ptr = c_buf->data();
  }

  ActParams p;
  p.kind = parse_kind(act);
  p.alpha = alpha;
  p.beta = beta;
  p.gamma = gamma;

  // Work items: m_split row ranges x n_split panel ranges.
  const int64_t nr = t.gemm_nr;
  const int64_t p0 = n_begin / nr, p1 = (n_end + nr - 1) / nr;
  const int64_t tasks = m_split * n_split;
  auto run_task = [&](int64_t task) {
    const int64_t mi = task / n_split, ni = task % n_split;
    const int64_t r0 = m * mi / m_split, r1 = m * (mi + 1) / m_split;
    GemmArgs g;
    g.m = r1 - r0;
    g.n = n;
    g.k = k;
    g.a = a_ptr + r0 * lda;
    g.lda = lda;
    g.packed_b = packed.data->data();
    g.c = c_ptr + r0 * o.ld;
    g.ldc = o.ld;
    g.n_begin = std::min(n_end, (p0 + (p1 - p0) * ni / n_split) * nr);
    g.n_end = std::min(n_end, (p0 + (p1 - p0) * (ni + 1) / n_split) * nr);
    g.bias = bias_ptr;
    g.residual = res_ptr ? res_ptr + r0 * ldr : nullptr;
    g.ldr = ldr;
    g.act = p;
    if (g.m > 0 && g.n_end > g.n_begin) t.gemm_f32(g);
  };
  {
    py::gil_scoped_release release;
    for (int64_t rep = 0; rep < reps; ++rep) {
#ifdef _OPENMP
      if (threads > 1 && tasks > 1) {
#pragma omp parallel for num_threads(threads) schedule(static)
        for (int64_t task = 0; task < tasks; ++task) run_task(task);
        continue;
      }
#endif
      (void)threads;
      for (int64_t task = 0; task < tasks; ++task) run_task(task);
    }
  }
  if (c_buf) {
    float* dst = static_cast<float*>(out.mutable_data());
    for (int64_t r = 0; r < m; ++r)
      std::memcpy(dst + r * o.ld, c_buf->data() + r * o.ld, sizeof(float) * n);
  }
  return out;
}

py::array_t<float> activation(const std::string& isa, const std::string& kind, const F32Array& x_in,
                              float alpha, float beta, float gamma, int64_t offset) {
  const KernelTable& t = table(isa);
  py::array_t<float, py::array::c_style | py::array::forcecast> x(x_in);
  const int64_t n = x.size();
  if (offset < 0 || offset > 64) throw py::value_error("offset must be in [0, 64]");
  ActParams p;
  p.kind = parse_kind(kind);
  p.alpha = alpha;
  p.beta = beta;
  p.gamma = gamma;
  // The kernel runs on a guarded copy starting `offset` floats into a buffer
  // (misaligned starts), whose end touches an inaccessible page.
  GuardedFloats buf(static_cast<size_t>(n + offset), true);
  std::fill(buf.data(), buf.data() + offset, 12345.0f);
  std::memcpy(buf.data() + offset, x.data(), sizeof(float) * n);
  {
    py::gil_scoped_release release;
    t.activation_f32(p, buf.data() + offset, n);
  }
  for (int64_t i = 0; i < offset; ++i)
    if (buf.data()[i] != 12345.0f) throw std::runtime_error("activation wrote before its start");
  py::array_t<float> out(x.request().shape);
  std::memcpy(out.mutable_data(), buf.data() + offset, sizeof(float) * n);
  return out;
}

// Seconds per activation_f32 call over x (median of `reps`; the input is
// restored before every call and only the kernel is timed).
double time_activation(const std::string& isa, const std::string& kind, const F32Array& x_in,
                       int64_t reps) {
  const KernelTable& t = table(isa);
  py::array_t<float, py::array::c_style | py::array::forcecast> x(x_in);
  const int64_t n = x.size();
  ActParams p;
  p.kind = parse_kind(kind);
  p.alpha = 1.0f;
  std::vector<float> work(static_cast<size_t>(n));
  std::vector<double> times;
  {
    py::gil_scoped_release release;
    for (int64_t r = 0; r < std::max<int64_t>(reps, 1); ++r) {
      std::memcpy(work.data(), x.data(), sizeof(float) * n);
      const auto t0 = std::chrono::steady_clock::now();
      t.activation_f32(p, work.data(), n);
      times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
  }
  std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
  return times[times.size() / 2];
}

py::array_t<float> softmax(const std::string& isa, const F32Array& x_in, bool log) {
  const KernelTable& t = table(isa);
  py::array_t<float, py::array::c_style | py::array::forcecast> x(x_in);
  if (x.ndim() != 2) throw py::value_error("x must be 2-D [rows, cols]");
  const int64_t rows = x.shape(0), cols = x.shape(1);
  GuardedFloats buf(static_cast<size_t>(rows * cols), true);
  std::memcpy(buf.data(), x.data(), sizeof(float) * rows * cols);
  {
    py::gil_scoped_release release;
    t.softmax_f32(buf.data(), rows, cols, log ? 1 : 0);
  }
  py::array_t<float> out({rows, cols});
  std::memcpy(out.mutable_data(), buf.data(), sizeof(float) * rows * cols);
  return out;
}

// -- recurrent kernels ---------------------------------------------------------

// A [rows, cols] operand of rnn_gates at row stride cols + kRowPad, the padding
// holding a sentinel that must survive the call (a kernel that ignores the
// leading dimension or writes past a row's end is caught).
constexpr int64_t kRowPad = 3;
constexpr float kSentinel = -7777.0f;

struct PaddedRows {
  std::vector<float> buf;
  int64_t rows = 0, cols = 0, ld = 0;
  float* data() { return buf.data(); }
};

PaddedRows padded_rows(const F32Array& in, int64_t rows, int64_t min_cols, const char* what) {
  py::array_t<float, py::array::c_style | py::array::forcecast> a(in);
  if (a.ndim() != 2 || a.shape(0) != rows || a.shape(1) < min_cols)
    throw py::value_error(std::string(what) + " must be 2-D [" + std::to_string(rows) +
                          ", >= " + std::to_string(min_cols) + "]");
  PaddedRows p;
  p.rows = rows;
  p.cols = a.shape(1);
  p.ld = p.cols + kRowPad;
  p.buf.assign(static_cast<size_t>(rows * p.ld), kSentinel);
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(p.data() + r * p.ld, a.data() + r * p.cols, sizeof(float) * p.cols);
  return p;
}

py::array_t<float> unpad(const PaddedRows& p, const char* what) {
  py::array_t<float> out({p.rows, p.cols});
  float* dst = static_cast<float*>(out.mutable_data());
  for (int64_t r = 0; r < p.rows; ++r) {
    const float* row = p.buf.data() + r * p.ld;
    for (int64_t j = p.cols; j < p.ld; ++j)
      if (row[j] != kSentinel)
        throw std::runtime_error(std::string("rnn_gates wrote past ") + what);
    std::memcpy(dst + r * p.cols, row, sizeof(float) * p.cols);
  }
  return out;
}

RnnGateKind parse_gate_kind(const std::string& name) {
  if (name == "simple") return RnnGateKind::kSimple;
  if (name == "lstm") return RnnGateKind::kLstm;
  if (name == "gru_reset_after") return RnnGateKind::kGruResetAfter;
  if (name == "gru_zr") return RnnGateKind::kGruZr;
  if (name == "gru_h") return RnnGateKind::kGruH;
  throw py::value_error("unknown gate kind '" + name + "'");
}

// Gate columns `pre` holds per unit for each kind (kernel_args.h, RnnGateArgs).
int64_t gate_width(RnnGateKind kind) {
  switch (kind) {
    case RnnGateKind::kLstm:
      return 4;
    case RnnGateKind::kGruResetAfter:
      return 3;
    case RnnGateKind::kGruZr:
      return 2;
    default:
      return 1;
  }
}

// One table's rnn_gates_f32 on copies of the operands (rows of h give m and
// its columns the units); returns the operands after the call as
// (x, pre, h, c, aux). act/ract name the activation and recurrent activation,
// ract_alpha/ract_beta the hard_sigmoid slope and offset.
py::tuple rnn_gates(const std::string& isa, const std::string& kind_name, const F32Array& x_in,
                    const F32Array& pre_in, const F32Array& h_in, const F32Array& c_in,
                    const F32Array& aux_in, const std::string& act, const std::string& ract,
                    float ract_alpha, float ract_beta) {
  const KernelTable& t = table(isa);
  const RnnGateKind kind = parse_gate_kind(kind_name);
  py::array_t<float, py::array::c_style | py::array::forcecast> h_arr(h_in);
  if (h_arr.ndim() != 2) throw py::value_error("h must be 2-D [m, units]");
  const int64_t m = h_arr.shape(0), u = h_arr.shape(1);
  const bool reset_after = kind == RnnGateKind::kGruResetAfter;
  const bool uses_aux = kind == RnnGateKind::kGruZr || kind == RnnGateKind::kGruH;
  PaddedRows x = padded_rows(x_in, m, reset_after ? 3 * u : 0, "x");
  PaddedRows pre = padded_rows(pre_in, m, gate_width(kind) * u, "pre");
  PaddedRows h = padded_rows(h_arr, m, u, "h");
  PaddedRows c = padded_rows(c_in, m, kind == RnnGateKind::kLstm ? u : 0, "c");
  PaddedRows aux = padded_rows(aux_in, m, uses_aux ? u : 0, "aux");
  RnnGateArgs ga;
  ga.kind = kind;
  ga.m = m;
  ga.units = u;
  ga.act.kind = parse_kind(act);
  ga.ract.kind = parse_kind(ract);
  ga.ract.alpha = ract_alpha;
  ga.ract.beta = ract_beta;
  ga.x = x.data();
  ga.ldx = x.ld;
  ga.pre = pre.data();
  ga.ldp = pre.ld;
  ga.h = h.data();
  ga.ldh = h.ld;
  ga.c = c.data();
  ga.ldc = c.ld;
  ga.aux = aux.data();
  ga.lda = aux.ld;
  {
    py::gil_scoped_release release;
    t.rnn_gates_f32(ga);
  }
  return py::make_tuple(unpad(x, "x"), unpad(pre, "pre"), unpad(h, "h"), unpad(c, "c"),
                        unpad(aux, "aux"));
}

// y = x . B + bias + residual for one row through one table's packed GEMV
// (rnn_gemv_pack + rnn_gemv_f32); B and y live in guarded buffers.
py::array_t<float> rnn_gemv(const std::string& isa, const F32Array& x_in, const F32Array& b_in,
                            const py::object& bias_obj, const py::object& res_obj) {
  const KernelTable& t = table(isa);
  py::array_t<float, py::array::c_style | py::array::forcecast> x(x_in), b(b_in);
  if (b.ndim() != 2 || x.ndim() != 1 || x.shape(0) != b.shape(0) || b.shape(1) < 1)
    throw py::value_error("x must be [k] and b [k, n] with n >= 1");
  const int64_t k = b.shape(0), n = b.shape(1);
  auto vector_of = [n](const py::object& obj, const char* what) {
    std::vector<float> v;
    if (obj.is_none()) return v;
    F32Array a = obj.cast<F32Array>();
    if (a.ndim() != 1 || a.shape(0) != n) throw py::value_error(std::string(what) + " must be [n]");
    v.assign(a.data(), a.data() + n);
    return v;
  };
  const std::vector<float> bias = vector_of(bias_obj, "bias"), res = vector_of(res_obj, "residual");
  GuardedFloats packed(t.rnn_gemv_packed_size(k, n), true);
  GuardedFloats y(static_cast<size_t>(n), true);
  t.rnn_gemv_pack(b.data(), k, n, packed.data());
  RnnGemvArgs g;
  g.k = k;
  g.n = n;
  g.x = x.data();
  g.packed = packed.data();
  g.bias = bias.empty() ? nullptr : bias.data();
  g.residual = res.empty() ? nullptr : res.data();
  g.y = y.data();
  {
    py::gil_scoped_release release;
    t.rnn_gemv_f32(g);
  }
  py::array_t<float> out(n);
  std::memcpy(out.mutable_data(), y.data(), sizeof(float) * n);
  return out;
}

// FMA throughput of one core for bench/gemm.py's "% of peak": 12 independent
// chains of vector FMAs (enough to cover latency x ports on current x86
// cores). Compiled per function with the ISA's target attribute and called
// only when that table exists, so this baseline file stays SIGILL-safe.
// CPU time of the calling thread (wall time where unavailable): the probe must
// not count time the OS gave to other processes.
double thread_seconds() {
#if defined(__linux__)
  timespec ts;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0) return ts.tv_sec + 1e-9 * ts.tv_nsec;
#endif
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

#if defined(__x86_64__) && defined(__GNUC__)
// One FMA per chain; the empty asm keeps every chain alive and in a register.
// clang-format off
#define TFJS_INFER_FMA(fma, c) \
  c = fma(c, a, b);            \
  __asm__ volatile("" : "+v"(c));
#define TFJS_INFER_PEAK_BODY(T, set1, fma, lanes)                                        \
  const T a = set1(0.999999f), b = set1(1e-7f);                                          \
  T c0 = set1(1.0f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0,      \
    c8 = c0, c9 = c0, c10 = c0, c11 = c0;                                                \
  const double t0 = thread_seconds();                                                    \
  for (int64_t i = 0; i < iters; ++i) {                                                  \
    TFJS_INFER_FMA(fma, c0) TFJS_INFER_FMA(fma, c1) TFJS_INFER_FMA(fma, c2)              \
    TFJS_INFER_FMA(fma, c3) TFJS_INFER_FMA(fma, c4) TFJS_INFER_FMA(fma, c5)              \
    TFJS_INFER_FMA(fma, c6) TFJS_INFER_FMA(fma, c7) TFJS_INFER_FMA(fma, c8)              \
    TFJS_INFER_FMA(fma, c9) TFJS_INFER_FMA(fma, c10) TFJS_INFER_FMA(fma, c11)            \
  }                                                                                      \
  const double sec = thread_seconds() - t0;                                              \
  return 2.0 * (lanes) * 12 * static_cast<double>(iters) / sec / 1e9;
// clang-format on

__attribute__((target("avx2,fma"))) double fma_peak_avx2(int64_t iters) {
  TFJS_INFER_PEAK_BODY(__m256, _mm256_set1_ps, _mm256_fmadd_ps, 8)
}

__attribute__((target("avx512f,avx2,fma"))) double fma_peak_avx512(int64_t iters){
    TFJS_INFER_PEAK_BODY(__m512, _mm512_set1_ps, _mm512_fmadd_ps, 16)}
#undef TFJS_INFER_PEAK_BODY
#undef TFJS_INFER_FMA
#endif

// GFLOP/s of the FMA loop for `isa`, or None where there is no probe.
py::object fma_peak(const std::string& isa, int64_t iters) {
  const Isa which = table(isa).isa;
  double gflops = -1.0;
  {
    py::gil_scoped_release release;
#if defined(__x86_64__) && defined(__GNUC__)
    if (which == Isa::kAvx2) gflops = fma_peak_avx2(iters);
    if (which == Isa::kAvx512) gflops = fma_peak_avx512(iters);
#endif
  }
  (void)iters;
  (void)which;
  if (gflops < 0) return py::none();
  return py::float_(gflops);
}

// The VmFlags line of /proc/self/smaps for the mapping holding `addr` ("" when
// not found or not Linux): "hg" in it means the range was advised onto huge
// pages (MADV_HUGEPAGE).
std::string vm_flags_of(uintptr_t addr) {
  std::string flags;
#if defined(__linux__)
  FILE* f = std::fopen("/proc/self/smaps", "r");
  if (!f) return flags;
  char line[512];
  bool inside = false;
  while (std::fgets(line, sizeof line, f)) {
    unsigned long lo = 0, hi = 0;
    if (std::sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {  // a mapping's first line
      inside = addr >= lo && addr < hi;
    } else if (inside && std::strncmp(line, "VmFlags:", 8) == 0) {
      flags = line + 8;
      break;
    }
  }
  std::fclose(f);
#endif
  return flags;
}

// A Buffer<float> of `count` elements, as the ops allocate their weights and
// arenas: its address, whether every element reads zero, and the VmFlags of
// the mapping at its first and last 2 MiB page (core/tensor.cpp's huge pages).
py::dict buffer_probe(size_t count) {
  Buffer<float> b(count);
  const auto addr = reinterpret_cast<uintptr_t>(b.data());
  py::dict out;
  out["address"] = static_cast<uint64_t>(addr);
  out["zero"] = std::all_of(b.data(), b.data() + count, [](float v) { return v == 0.0f; });
  out["flags_first"] = vm_flags_of(addr);
  const size_t whole = count * 4 / kHugePageBytes * kHugePageBytes;
  out["flags_last_whole"] = whole ? vm_flags_of(addr + whole - 1) : std::string();
  return out;
}

}  // namespace
}  // namespace tfjs_infer

void register_testing(pybind11::module_& m) {
  using namespace tfjs_infer;
  py::module_ t = m.def_submodule("_testing", "raw kernels for tests (not a public API)");
  t.def(
      "arena_offsets",
      [](const CompiledModel& m, const std::vector<std::vector<int64_t>>& shapes) {
        return m.arena_offsets(shapes);
      },
      py::arg("model"), py::arg("input_shapes"),
      "Arena offset of each graph value in the plan for these input shapes (-1: outside it).");
  t.def(
      "huge_pages_stats",
      [] {
        const HugePagesStats s = huge_pages_stats();
        return py::make_tuple(s.regions, s.blocks);
      },
      "(regions, live blocks) of core/huge_pages.h's allocator.");
  t.def("available_isas", [] {
    std::vector<std::string> out;
    for (Isa isa : available_isas()) out.push_back(isa_name(isa));
    return out;
  });
  t.def("gemm_nr", [](const std::string& isa) { return table(isa).gemm_nr; }, py::arg("isa"));
  t.def("openmp", [] {
#ifdef _OPENMP
    return true;
#else
    return false;
#endif
  });
  py::class_<PackedB>(t, "PackedB")
      .def_readonly("isa", &PackedB::isa)
      .def_readonly("k", &PackedB::k)
      .def_readonly("n", &PackedB::n)
      .def("data", [](const PackedB& p) {
        py::array_t<float> out(static_cast<py::ssize_t>(p.data->size()));
        std::memcpy(out.mutable_data(), p.data->data(), sizeof(float) * p.data->size());
        return out;
      });
  t.def("pack_b", &pack_b, py::arg("isa"), py::arg("b"));
  t.def("gemm", &gemm, py::arg("isa"), py::arg("a"), py::arg("b"), py::arg("bias") = py::none(),
        py::arg("residual") = py::none(), py::arg("act") = "linear", py::arg("alpha") = 0.0f,
        py::arg("beta") = 0.0f, py::arg("gamma") = 0.0f, py::arg("n_split") = 1,
        py::arg("m_split") = 1, py::arg("threads") = 1, py::arg("out") = py::none(),
        py::arg("n_begin") = 0, py::arg("n_end") = -1, py::arg("guard") = false,
        py::arg("reps") = 1);
  t.def("activation", &activation, py::arg("isa"), py::arg("kind"), py::arg("x"),
        py::arg("alpha") = 0.0f, py::arg("beta") = 0.0f, py::arg("gamma") = 0.0f,
        py::arg("offset") = 0);
  t.def("fma_peak", &fma_peak, py::arg("isa"), py::arg("iters") = 20000000);
  t.def("time_activation", &time_activation, py::arg("isa"), py::arg("kind"), py::arg("x"),
        py::arg("reps") = 21);
  t.def("softmax", &softmax, py::arg("isa"), py::arg("x"), py::arg("log") = false);
  t.def("rnn_gates", &rnn_gates, py::arg("isa"), py::arg("kind"), py::arg("x"), py::arg("pre"),
        py::arg("h"), py::arg("c"), py::arg("aux"), py::arg("act") = "tanh",
        py::arg("ract") = "sigmoid", py::arg("ract_alpha") = 0.0f, py::arg("ract_beta") = 0.0f);
  t.def("rnn_gemv", &rnn_gemv, py::arg("isa"), py::arg("x"), py::arg("b"),
        py::arg("bias") = py::none(), py::arg("residual") = py::none());
  t.def("buffer_probe", &buffer_probe, py::arg("count"),
        "A Buffer<float>(count): address, all zero, VmFlags at its first and last whole 2 MiB.");
  register_testing_lowp(t);
}
