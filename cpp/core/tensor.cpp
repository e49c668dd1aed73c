#include "core/tensor.h"

namespace tfjs_infer {

std::string shape_str(const Shape& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += shape[i] < 0 ? std::string("None") : std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

size_t checked_mul(size_t a, size_t b) {
  size_t r = 0;
  if (__builtin_mul_overflow(a, b, &r))
    fail(ErrorKind::kInvalidModel, "tensor size overflows the address space");
  return r;
}

int64_t checked_num_elements(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) fail(ErrorKind::kInvalidModel, "negative dimension in shape " + shape_str(shape));
    if (__builtin_mul_overflow(n, d, &n) || n > (int64_t{1} << 40))
      fail(ErrorKind::kInvalidModel, "shape " + shape_str(shape) + " is absurdly large");
  }
  return n;
}

}  // namespace tfjs_infer
