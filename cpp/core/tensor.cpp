#include "core/tensor.h"

#include <cstring>

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

int64_t first_nonfinite(const float* x, int64_t n) {
  // A float is NaN or +-inf when its exponent bits are all ones. Blocks of 64
  // are screened with a branch-free OR the compiler vectorizes; only a block
  // that holds one is searched element by element.
  constexpr uint32_t kExp = 0x7f800000u;
  constexpr int64_t kBlock = 64;
  auto bad = [&](int64_t i) {
    uint32_t bits;
    std::memcpy(&bits, x + i, sizeof bits);
    return (bits & kExp) == kExp;
  };
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t end = std::min(n, b + kBlock);
    uint32_t any = 0;
    for (int64_t i = b; i < end; ++i) any |= bad(i) ? 1u : 0u;
    if (!any) continue;
    for (int64_t i = b; i < end; ++i)
      if (bad(i)) return i;
  }
  return -1;
}

}  // namespace tfjs_infer
