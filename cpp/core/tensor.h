// Shapes, dtypes, owning aligned buffers and non-owning tensor views.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "core/errors.h"
#include "core/huge_pages.h"

namespace tfjs_infer {

enum class DType : int32_t { kFloat32 = 0, kInt32 = 1 };

inline size_t dtype_size(DType) { return 4; }
inline const char* dtype_name(DType d) { return d == DType::kFloat32 ? "float32" : "int32"; }

using Shape = std::vector<int64_t>;

std::string shape_str(const Shape& shape);

// Product of the dims; throws kInvalidModel on a negative dim or on overflow
// (shapes can come from untrusted files).
int64_t checked_num_elements(const Shape& shape);
inline int64_t num_elements(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}
size_t checked_mul(size_t a, size_t b);

// Index of the first NaN or +-inf among x[0:n], or -1 (predict's check_finite).
int64_t first_nonfinite(const float* x, int64_t n);

// Memory for a Buffer of `bytes` (a multiple of 64), released with std::free;
// nullptr when out of memory. 64-byte aligned; from kHugePageBytes up, on
// Linux, 2 MiB aligned with its whole 2 MiB pages advised onto transparent
// huge pages (MADV_HUGEPAGE; TFJS_INFER_HUGE_PAGES=0: never), see tensor.cpp.
void* alloc_buffer_bytes(size_t bytes);

// A 64-byte aligned, owning, move-only buffer (RAII).
template <typename T>
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(size_t count) { reset(count); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer(Buffer&& other) noexcept { swap(other); }
  Buffer& operator=(Buffer&& other) noexcept {
    Buffer tmp(std::move(other));
    swap(tmp);
    return *this;
  }
  ~Buffer() { std::free(data_); }

  // Reallocates to `count` elements (zero-filled); contents are not kept.
  void reset(size_t count) {
    std::free(data_);
    data_ = nullptr;
    size_ = 0;
    if (count == 0) return;
    const size_t bytes = (checked_mul(count, sizeof(T)) + 63) / 64 * 64;
    T* p = static_cast<T*>(alloc_buffer_bytes(bytes));
    if (!p) throw std::bad_alloc();
    // Through a local: stores through a uint8_t* may alias data_, which
    // kept this loop byte by byte. Zeroing also faults the pages in now.
    std::fill(p, p + count, T());
    data_ = p;
    size_ = count;
  }
  T* data() { return data_; }
  const T* data() const { return data_; }
  size_t size() const { return size_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }

 private:
  void swap(Buffer& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
  }
  T* data_ = nullptr;
  size_t size_ = 0;
};

// A non-owning view of a dense row-major tensor.
struct TensorView {
  void* data = nullptr;
  Shape shape;
  DType dtype = DType::kFloat32;

  float* f32() const { return static_cast<float*>(data); }
  int32_t* i32() const { return static_cast<int32_t*>(data); }
  int64_t size() const { return num_elements(shape); }
  int64_t rank() const { return static_cast<int64_t>(shape.size()); }
  int64_t dim(int64_t i) const { return shape[static_cast<size_t>(i < 0 ? rank() + i : i)]; }
};

// The static type of a graph value: shape (concrete at run time) and dtype.
struct ValueType {
  Shape shape;
  DType dtype = DType::kFloat32;
};

}  // namespace tfjs_infer
