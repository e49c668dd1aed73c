#include "core/tensor.h"

#include <cstring>

#include "core/env_switch.h"

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace tfjs_infer {

// Large buffers (the packed weights of big layers, the arenas) on transparent
// huge pages, which Linux in its common "madvise" mode gives only to memory
// that asks. Weights that a call streams from memory (a layer whose weights
// the model's other layers evicted from L3 since its last call) read faster:
// on an EPYC Genoa (Zen 4, family 25 model 17, 32 MiB L3), 1 thread, load
// 5-8, bench/gemv_roofline.py --cold (64 MiB of other data read before each
// pass): MobileNetV2's 5.2 MB classifier 0.86x the time of 4 KiB pages, the
// MLP's 2.72 MB 0.67x; its op in MobileNetV2 at batch 1 (bench/op_profile_ab.py
// --var TFJS_INFER_HUGE_PAGES --last 1, 8 rounds) 308 -> 214 us, the model
// 0.986x (bench/env_ab.py: batch 1 0.990x, batch 32 0.994x; ResNet50 batch 1
// 1.005x, batch 32 0.992x; MLP and MNIST CNN 0.995-1.001x). From L3 (the MLP
// at batch 1, called back to back) no change (bench/gemv_roofline.py: 28.44
// against 28.73 us). Memory stays what the buffer needs: only the buffer's
// whole 2 MiB pages are advised, its tail keeps 4 KiB pages.
void* alloc_buffer_bytes(size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  static const bool huge = !env_is("TFJS_INFER_HUGE_PAGES", "0");
  if (huge && bytes >= kHugePageBytes) {
    // aligned_alloc wants a size that is a multiple of the alignment.
    const size_t size = (bytes + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
    void* p = std::aligned_alloc(kHugePageBytes, size);
    // Advice only: where the kernel refuses it the pages stay small.
    if (p) madvise(p, bytes / kHugePageBytes * kHugePageBytes, MADV_HUGEPAGE);
    return p;
  }
#endif
  return std::aligned_alloc(64, bytes);
}

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
