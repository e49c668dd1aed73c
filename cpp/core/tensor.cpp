#include "core/tensor.h"

#if defined(__linux__)
#include <sys/mman.h>
#endif

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

namespace {
constexpr size_t kHugePage = size_t{2} << 20;
}

size_t buffer_alignment(size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  // Rounding up to whole huge pages adds less than half of the buffer.
  if (bytes >= kHugePage) return kHugePage;
#endif
  (void)bytes;
  return 64;
}

void advise_huge_pages(void* p, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  // A hint: where it is refused (THP off) nothing changes.
  if (bytes >= kHugePage) madvise(p, bytes, MADV_HUGEPAGE);
#else
  (void)p;
  (void)bytes;
#endif
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
