// Long-lived large buffers on transparent huge pages (2 MiB, Linux): the
// int8 weights (ops/gemm_driver.cpp), which stream from memory between an
// int8 model's slices of samples, and the fp32 and bf16 weights where
// GemmBlocking::f32_/bf16_huge_page_bytes say so (read from beyond L2 on
// every call); in 4 KiB pages each page is a TLB miss and a stop for the hardware
// prefetchers, which do not cross page boundaries.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

namespace tfjs_infer {

// A transparent huge page (x86-64 Linux): the alignment and the unit advised
// by both the Buffer path (core/tensor.cpp, buffers of at least one) and the
// shared regions below.
constexpr size_t kHugePageBytes = size_t{2} << 20;

// `bytes` zero-filled bytes, 64-byte aligned, carved out of shared regions of
// at least 32 MiB, 2 MiB aligned and marked MADV_HUGEPAGE before their first
// touch (so the kernel backs them with huge pages where it has them); a region
// is unmapped when its last block is freed. nullptr where not supported (not
// Linux) or when the mapping fails: the caller then allocates as usual.
void* huge_pages_alloc(size_t bytes);
// Frees a block of huge_pages_alloc (nullptr: nothing).
void huge_pages_free(void* p);

// Regions mapped and blocks live now (tests).
struct HugePagesStats {
  int64_t regions = 0;
  int64_t blocks = 0;
};
HugePagesStats huge_pages_stats();

// A move-only owner of one huge_pages_alloc block, or of an ordinary aligned
// allocation where that gave nullptr.
class HugeBlock {
 public:
  HugeBlock() = default;
  HugeBlock(const HugeBlock&) = delete;
  HugeBlock& operator=(const HugeBlock&) = delete;
  HugeBlock(HugeBlock&& o) noexcept { swap(o); }
  HugeBlock& operator=(HugeBlock&& o) noexcept {
    HugeBlock tmp(std::move(o));
    swap(tmp);
    return *this;
  }
  ~HugeBlock() { release(); }

  // `bytes` zero-filled bytes (0: none); the previous block is freed.
  void reset(size_t bytes);
  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }

 private:
  void release();
  void swap(HugeBlock& o) noexcept;

  uint8_t* data_ = nullptr;
  bool in_region_ = false;  // from huge_pages_alloc, else std::aligned_alloc
};

}  // namespace tfjs_infer
