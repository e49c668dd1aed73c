// RAII owners of device memory, pinned host memory and streams.
#pragma once

#include <cstddef>
#include <utility>

#include "cuda/runtime/cuda_api.h"

namespace tfjs_infer {

// Device memory (cudaMalloc), or pinned host memory (cudaHostAlloc) when
// `pinned`: what async copies need to overlap and not stage through the driver.
class CudaBuffer {
 public:
  enum class Kind { kDevice, kPinned };
  CudaBuffer() = default;
  CudaBuffer(Kind kind, size_t bytes) : kind_(kind) {
    if (bytes == 0) return;
    if (kind == Kind::kDevice)
      check_cuda(cudaMalloc(&ptr_, bytes), "cudaMalloc");
    else
      check_cuda(cudaHostAlloc(&ptr_, bytes, cudaHostAllocDefault), "cudaHostAlloc");
    bytes_ = bytes;
  }
  CudaBuffer(const CudaBuffer&) = delete;
  CudaBuffer& operator=(const CudaBuffer&) = delete;
  CudaBuffer(CudaBuffer&& o) noexcept { swap(o); }
  CudaBuffer& operator=(CudaBuffer&& o) noexcept {
    CudaBuffer tmp(std::move(o));
    swap(tmp);
    return *this;
  }
  ~CudaBuffer() {
    if (!ptr_) return;
    if (kind_ == Kind::kDevice)
      cudaFree(ptr_);
    else
      cudaFreeHost(ptr_);
  }
  char* data() const { return static_cast<char*>(ptr_); }
  size_t bytes() const { return bytes_; }

 private:
  void swap(CudaBuffer& o) noexcept {
    std::swap(kind_, o.kind_);
    std::swap(ptr_, o.ptr_);
    std::swap(bytes_, o.bytes_);
  }
  Kind kind_ = Kind::kDevice;
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

class CudaStream {
 public:
  CudaStream() {
    check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
  }
  CudaStream(const CudaStream&) = delete;
  CudaStream& operator=(const CudaStream&) = delete;
  ~CudaStream() { cudaStreamDestroy(stream_); }
  cudaStream_t get() const { return stream_; }
  void sync() const { check_cuda(cudaStreamSynchronize(stream_), "cudaStreamSynchronize"); }

 private:
  cudaStream_t stream_ = nullptr;
};

}  // namespace tfjs_infer
