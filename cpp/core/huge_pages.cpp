#include "core/huge_pages.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace tfjs_infer {

namespace {

constexpr size_t kRegionBytes = size_t{32} << 20;

struct Region {
  uint8_t* base = nullptr;
  size_t size = 0;
  size_t used = 0;
  int64_t live = 0;
};

// The regions; new blocks go to the last one (freed space is not reused: the
// blocks are weights, freed with their model).
struct Regions {
  std::mutex mutex;
  std::vector<Region> list;
};

Regions& regions() {
  static Regions* r = new Regions;  // never destroyed: blocks may outlive static teardown
  return *r;
}

#if defined(__linux__)
// A region of `size` bytes (a multiple of kHugePageBytes), kHugePageBytes aligned: the
// mapping is over-sized by one huge page and trimmed on both sides.
uint8_t* map_region(size_t size) {
  void* raw = mmap(nullptr, size + kHugePageBytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  auto* begin = static_cast<uint8_t*>(raw);
  const auto addr = reinterpret_cast<uintptr_t>(begin);
  uint8_t* base = begin + ((kHugePageBytes - addr % kHugePageBytes) % kHugePageBytes);
  if (base > begin) munmap(begin, static_cast<size_t>(base - begin));
  uint8_t* end = begin + size + kHugePageBytes;
  if (end > base + size) munmap(base + size, static_cast<size_t>(end - (base + size)));
  madvise(base, size, MADV_HUGEPAGE);  // advice only: a kernel without THP ignores it
  return base;
}
#endif

}  // namespace

void* huge_pages_alloc(size_t bytes) {
#if defined(__linux__)
  if (bytes == 0) return nullptr;
  bytes = (bytes + 63) / 64 * 64;
  Regions& r = regions();
  std::lock_guard<std::mutex> lock(r.mutex);
  if (r.list.empty() || r.list.back().size - r.list.back().used < bytes) {
    const size_t size =
        std::max(kRegionBytes, (bytes + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes);
    uint8_t* base = map_region(size);
    if (!base) return nullptr;
    r.list.push_back(Region{base, size, 0, 0});
  }
  Region& last = r.list.back();
  uint8_t* p = last.base + last.used;  // fresh anonymous memory: zero
  last.used += bytes;
  ++last.live;
  return p;
#else
  (void)bytes;
  return nullptr;
#endif
}

void huge_pages_free(void* p) {
#if defined(__linux__)
  if (!p) return;
  auto* at = static_cast<uint8_t*>(p);
  Regions& r = regions();
  std::lock_guard<std::mutex> lock(r.mutex);
  for (size_t i = 0; i < r.list.size(); ++i) {
    Region& g = r.list[i];
    if (at < g.base || at >= g.base + g.size) continue;
    if (--g.live == 0) {
      munmap(g.base, g.size);
      r.list.erase(r.list.begin() + static_cast<std::ptrdiff_t>(i));
    }
    return;
  }
#else
  (void)p;
#endif
}

HugePagesStats huge_pages_stats() {
  Regions& r = regions();
  std::lock_guard<std::mutex> lock(r.mutex);
  HugePagesStats s;
  s.regions = static_cast<int64_t>(r.list.size());
  for (const Region& g : r.list) s.blocks += g.live;
  return s;
}

void HugeBlock::reset(size_t bytes) {
  release();
  if (bytes == 0) return;
  data_ = static_cast<uint8_t*>(huge_pages_alloc(bytes));
  in_region_ = data_ != nullptr;
  if (in_region_) return;
  const size_t rounded = (bytes + 63) / 64 * 64;
  data_ = static_cast<uint8_t*>(std::aligned_alloc(64, rounded));
  if (!data_) throw std::bad_alloc();
  std::memset(data_, 0, rounded);
}

void HugeBlock::release() {
  if (in_region_)
    huge_pages_free(data_);
  else
    std::free(data_);
  data_ = nullptr;
  in_region_ = false;
}

void HugeBlock::swap(HugeBlock& o) noexcept {
  std::swap(data_, o.data_);
  std::swap(in_region_, o.in_region_);
}

}  // namespace tfjs_infer
