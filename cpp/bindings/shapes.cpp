// The core's shape rules for the frontend (tfjs_infer._core): the Python
// lowerings ask these instead of computing window output lengths themselves,
// so each rule is written once (ops/conv_geometry.h). Bad values raise the
// core's InvalidModelError (the frontend adds the layer's name).
#include "bindings/shapes.h"

#include <pybind11/stl.h>

#include <optional>
#include <string>

#include "ops/conv_geometry.h"

namespace py = pybind11;

namespace tfjs_infer {
namespace {

PadMode parse_padding(const std::string& padding) {
  if (padding == "valid") return PadMode::kValid;
  if (padding == "same") return PadMode::kSame;
  if (padding == "causal") return PadMode::kCausal;
  fail(ErrorKind::kInvalidModel,
       "padding must be 'valid', 'same' or 'causal', received '" + padding + "'");
}

void check_window(int64_t n, int64_t k, int64_t s, int64_t d) {
  if (n < 0 || k < 1 || s < 1 || d < 1 || k > kMaxWindow || s > kMaxWindow || d > kMaxWindow)
    fail(ErrorKind::kInvalidModel,
         "expected a length >= 0 and kernel, stride and dilation in [1, " +
             std::to_string(kMaxWindow) + "], received " + std::to_string(n) + ", " +
             std::to_string(k) + ", " + std::to_string(s) + ", " + std::to_string(d));
}

}  // namespace
}  // namespace tfjs_infer

void register_shapes(py::module_& m) {
  using namespace tfjs_infer;
  m.def(
      "conv_output_length",
      [](int64_t n, int64_t k, int64_t s, int64_t d, const std::string& padding) {
        check_window(n, k, s, d);
        return window_output_length(n, k, s, d, parse_padding(padding));
      },
      py::arg("n"), py::arg("k"), py::arg("s"), py::arg("d"), py::arg("padding"),
      "Output length of a convolution or pooling window along one axis (0: the window does "
      "not fit).");
  m.def(
      "conv_transpose_output_length",
      [](int64_t n, int64_t k, int64_t s, int64_t d, const std::string& padding,
         std::optional<int64_t> output_padding) {
        check_window(n, k, s, d);
        if (output_padding && (*output_padding < 0 || *output_padding > kMaxWindow))
          fail(ErrorKind::kInvalidModel, "output_padding must be non-negative");
        return transpose_output_length(n, k, s, d, parse_padding(padding),
                                       output_padding ? *output_padding : -1);
      },
      py::arg("n"), py::arg("k"), py::arg("s"), py::arg("d"), py::arg("padding"),
      py::arg("output_padding"),
      "Output length of a transposed convolution along one axis (output_padding None: "
      "inferred).");
}
