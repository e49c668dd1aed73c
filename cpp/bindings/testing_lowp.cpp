// Test hooks of the reduced-precision GEMMs (kernels/lowp.h), part of
// tfjs_infer._core._testing: pack B, run one table's gemm_bf16 / gemm_int8
// over row and column splits. Not a public API.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "bindings/testing.h"
#include "core/tensor.h"
#include "kernels/kernels.h"
#include "kernels/lowp.h"
#include "ops/activation.h"

namespace py = pybind11;

namespace tfjs_infer {
namespace {

using F32 = py::array_t<float, py::array::c_style | py::array::forcecast>;
using LowpFn = void (*)(const GemmArgs&, const void*);

bool is_int8(const std::string& precision) {
  if (precision != "bf16" && precision != "int8")
    throw py::value_error("precision must be 'bf16' or 'int8'");
  return precision == "int8";
}

LowpFn lowp_fn(const std::string& isa, const std::string& precision) {
  const KernelTable& t = kernels_by_name(isa);
  LowpFn fn = is_int8(precision) ? t.gemm_int8 : t.gemm_bf16;
  if (!fn) throw py::value_error("ISA '" + isa + "' has no " + precision + " kernel on this CPU");
  return fn;
}

// The packed bytes of b (k, n).
py::array_t<uint8_t> lowp_pack(const std::string& precision, const F32& b) {
  if (b.ndim() != 2 || b.shape(0) < 1 || b.shape(1) < 1)
    throw py::value_error("b must be a non-empty 2-D array");
  const int64_t k = b.shape(0), n = b.shape(1);
  const bool int8 = is_int8(precision);
  const size_t bytes = int8 ? lowp_int8_packed_bytes(k, n) : lowp_bf16_packed_bytes(k, n);
  py::array_t<uint8_t> out(static_cast<py::ssize_t>(bytes));
  if (int8) {
    lowp_int8_pack(b.data(), k, n, out.mutable_data());
  } else {
    lowp_bf16_pack(b.data(), k, n, out.mutable_data());
  }
  return out;
}

// C = act(dequant(A' B') + bias + residual) through one table's kernel, the
// rows cut into m_split calls and the columns [n_begin, n_end) into n_split
// calls on 16-column borders; C's other cells keep `fill`.
py::array_t<float> gemm_lowp(const std::string& isa, const std::string& precision, const F32& a,
                             const F32& b, const std::optional<F32>& bias,
                             const std::optional<F32>& residual, const std::string& act,
                             float alpha, int64_t n_begin, int64_t n_end, int64_t m_split,
                             int64_t n_split, float fill, int64_t reps,
                             const std::optional<py::array_t<uint8_t>>& prepacked,
                             std::optional<py::array_t<float, py::array::c_style>> out_arg) {
  const LowpFn fn = lowp_fn(isa, precision);
  if (a.ndim() != 2 || b.ndim() != 2 || a.shape(1) != b.shape(0))
    throw py::value_error("a must be [m, k] and b [k, n]");
  const int64_t m = a.shape(0), k = a.shape(1), n = b.shape(1);
  if (n_end < 0) n_end = n;
  if (n_begin < 0 || n_begin > n_end || n_end > n || m_split < 1 || n_split < 1 || reps < 1)
    throw py::value_error("bad column range or splits");
  if (bias && (bias->ndim() != 1 || bias->shape(0) != n)) throw py::value_error("bias must be [n]");
  if (residual && (residual->ndim() != 2 || residual->shape(0) != m || residual->shape(1) != n))
    throw py::value_error("residual must be [m, n]");
  // prepacked: lowp_pack(precision, b) done once by the caller (benchmarks).
  const py::array_t<uint8_t> packed = prepacked ? *prepacked : lowp_pack(precision, b);
  const size_t want =
      is_int8(precision) ? lowp_int8_packed_bytes(k, n) : lowp_bf16_packed_bytes(k, n);
  if (static_cast<size_t>(packed.size()) != want)
    throw py::value_error("prepacked has the wrong size");
  // out: C written in place (benchmarks cycling buffers: no fill, so C is
  // where the caller left it, in cache or not); it may be the residual.
  py::array_t<float> out = out_arg ? py::array_t<float>(*out_arg) : py::array_t<float>({m, n});
  if (out.ndim() != 2 || out.shape(0) != m || out.shape(1) != n || !out.writeable())
    throw py::value_error("out must be a writable C-contiguous float32 [m, n]");
  if (!out_arg) std::fill(out.mutable_data(), out.mutable_data() + m * n, fill);
  ActParams p;
  if (!act_kind_by_name(act, &p.kind)) throw py::value_error("unknown activation '" + act + "'");
  p.alpha = alpha;
  const int64_t p0 = n_begin / kLowpNr, p1 = (n_end + kLowpNr - 1) / kLowpNr;
  float* c = out.mutable_data();
  // The packed bytes where a model keeps them, 64-byte aligned (a Buffer):
  // numpy's array may start 16 bytes into a line, which slowed the AMX
  // tile loads of B (kernels/x86/gemm_bf16_amxbf16.cpp).
  Buffer<uint8_t> aligned(want);
  std::memcpy(aligned.data(), packed.data(), want);
  py::gil_scoped_release release;
  for (int64_t rep = 0; rep < reps; ++rep)
    for (int64_t mi = 0; mi < m_split; ++mi)
      for (int64_t ni = 0; ni < n_split; ++ni) {
        const int64_t r0 = m * mi / m_split, r1 = m * (mi + 1) / m_split;
        GemmArgs g;
        g.m = r1 - r0;
        g.n = n;
        g.k = k;
        g.a = a.data() + r0 * k;
        g.lda = k;
        g.c = c + r0 * n;
        g.ldc = n;
        g.n_begin = std::max(n_begin, (p0 + (p1 - p0) * ni / n_split) * kLowpNr);
        g.n_end = std::min(n_end, (p0 + (p1 - p0) * (ni + 1) / n_split) * kLowpNr);
        g.bias = bias ? bias->data() : nullptr;
        g.residual = residual ? residual->data() + r0 * n : nullptr;
        g.ldr = n;
        g.act = p;
        if (g.m > 0 && g.n_end > g.n_begin) fn(g, aligned.data());
      }
  return out;
}

// x (any shape) quantized as one sample, as the per-sample int8 convolution
// quantizes an image (ops/conv_int8.cpp): the table's range, the parameters
// (lowp_row_params), then the values. Returns (u8 values, scale, zero point);
// reps > 1 repeats it (benchmarks).
py::tuple int8_quantize_sample(const std::string& isa, const F32& x, int64_t reps) {
  const KernelTable& t = kernels_by_name(isa);
  if (!t.int8_range || !t.int8_quantize)
    throw py::value_error("ISA '" + isa + "' has no int8 kernels on this CPU");
  if (reps < 1) throw py::value_error("reps must be positive");
  const int64_t n = x.size();
  py::array_t<uint8_t> out(static_cast<py::ssize_t>(n));
  RowQuant q;
  {
    py::gil_scoped_release release;
    for (int64_t rep = 0; rep < reps; ++rep) {
      float lo = 0.0f, hi = 0.0f;
      t.int8_range(x.data(), n, &lo, &hi);
      q = lowp_row_params(lo, hi);
      if (std::isfinite(q.scale)) t.int8_quantize(x.data(), n, q.inv, q.zp, out.mutable_data());
    }
  }
  return py::make_tuple(out, q.scale, q.zp);
}

}  // namespace
}  // namespace tfjs_infer

void register_testing_lowp(pybind11::module_& t) {
  using namespace tfjs_infer;
  t.def(
      "lowp_isas",
      [](const std::string& precision) {
        const bool int8 = is_int8(precision);
        std::vector<std::string> out;
        for (Isa isa : available_isas()) {
          const KernelTable& k = *kernels_for(isa);
          if (int8 ? k.gemm_int8 != nullptr : k.gemm_bf16 != nullptr) out.push_back(isa_name(isa));
        }
        return out;
      },
      py::arg("precision"));
  t.def("int8_amx", &lowp_int8_amx,
        "Whether the AVX-512 int8 GEMM runs on AMX tiles now (kernels/lowp.h lowp_int8_amx).");
  t.def("lowp_pack", &lowp_pack, py::arg("precision"), py::arg("b"));
  t.def("int8_quantize_sample", &int8_quantize_sample, py::arg("isa"), py::arg("x"),
        py::arg("reps") = 1);
  t.def("gemm_lowp", &gemm_lowp, py::arg("isa"), py::arg("precision"), py::arg("a"), py::arg("b"),
        py::arg("bias") = py::none(), py::arg("residual") = py::none(), py::arg("act") = "linear",
        py::arg("alpha") = 0.0f, py::arg("n_begin") = 0, py::arg("n_end") = -1,
        py::arg("m_split") = 1, py::arg("n_split") = 1, py::arg("fill") = 7777.0f,
        py::arg("reps") = 1, py::arg("prepacked") = py::none(), py::arg("out") = py::none());
}
