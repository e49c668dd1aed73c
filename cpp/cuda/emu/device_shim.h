// The device side of the CUDA host emulation: what a .cu kernel source needs
// to compile as host C++ and run under the emulator's scheduler (scheduler.h).
//
// Each CUDA thread of a block runs as a fiber. threadIdx/blockIdx/blockDim/
// gridDim read the running fiber's state; __syncthreads(), __syncwarp() and
// the __shfl_*_sync family are scheduling points where the fiber waits until
// every thread of the block (or every lane of the mask) has arrived; a thread
// that exits while others wait, or threads waiting at different barriers,
// abort the launch with a KernelFault (divergent barrier / deadlock).
//
// Static __shared__ arrays live in one linker section that is poisoned
// (0xFF bytes: NaN floats, -1 ints) before every block; dynamic shared memory
// is a per-block buffer, poisoned the same way (TFJS_DYNAMIC_SHARED). Blocks
// of a launch run one after another, and launches are serialized, so one
// copy of each static array serves every block.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "cuda_runtime_api.h"

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static __attribute__((section("tfjs_emu_shared"), aligned(16)))

namespace tfjs_infer::emu {

struct ThreadState {
  dim3 thread_idx, block_idx, block_dim, grid_dim;
  unsigned int linear_tid = 0;
};

// The running fiber's coordinates (valid inside a kernel only).
const ThreadState& current();
unsigned char* dynamic_shared();
void sync_block(const char* file, int line);
void sync_warp(unsigned int mask, const char* file, int line);
// Lane exchange: publishes `bytes` of `value` for the calling lane, waits for
// the mask, copies source lane `src`'s bytes into `out` (own value when src is
// outside the mask or the width segment), waits again.
void warp_exchange(unsigned int mask, const void* value, void* out, unsigned int bytes, int src,
                   const char* file, int line);

template <typename T>
T shfl(unsigned int mask, T v, int src, const char* file, int line) {
  static_assert(sizeof(T) <= 8, "shuffles move at most 8 bytes");
  T out = v;
  warp_exchange(mask, &v, &out, sizeof(T), src, file, line);
  return out;
}

inline int lane_id() { return static_cast<int>(current().linear_tid % 32u); }

}  // namespace tfjs_infer::emu

#define threadIdx (::tfjs_infer::emu::current().thread_idx)
#define blockIdx (::tfjs_infer::emu::current().block_idx)
#define blockDim (::tfjs_infer::emu::current().block_dim)
#define gridDim (::tfjs_infer::emu::current().grid_dim)
#define warpSize 32

#define __syncthreads() ::tfjs_infer::emu::sync_block(__FILE__, __LINE__)
inline void __syncwarp(unsigned int mask = 0xffffffffu) {
  ::tfjs_infer::emu::sync_warp(mask, "__syncwarp", 0);
}

namespace tfjs_infer::emu {

// Source lane for shuffle mode 0 (index), 1 (xor), 2 (down), 3 (up), with the
// hardware's lane arithmetic inside segments of `width` lanes; -1 keeps the
// caller's own value (down/up past the segment edge).
inline int shfl_src_lane(int arg, int mode, int width) {
  const int lane = lane_id();
  const int base = lane - lane % width;
  switch (mode) {
    case 0:
      return base + ((arg % width) + width) % width;
    case 1: {
      const int t = lane ^ arg;
      return t >= base + width || t < base ? lane : t;
    }
    case 2:
      return lane % width + arg < width ? lane + arg : -1;
    default:
      return lane % width - arg >= 0 ? lane - arg : -1;
  }
}

}  // namespace tfjs_infer::emu

template <typename T>
inline T __shfl_sync(unsigned int mask, T v, int src, int width = 32) {
  return ::tfjs_infer::emu::shfl(mask, v, ::tfjs_infer::emu::shfl_src_lane(src, 0, width),
                                 "__shfl_sync", 0);
}
template <typename T>
inline T __shfl_xor_sync(unsigned int mask, T v, int lane_mask, int width = 32) {
  return ::tfjs_infer::emu::shfl(mask, v, ::tfjs_infer::emu::shfl_src_lane(lane_mask, 1, width),
                                 "__shfl_xor_sync", 0);
}
template <typename T>
inline T __shfl_down_sync(unsigned int mask, T v, unsigned int delta, int width = 32) {
  return ::tfjs_infer::emu::shfl(
      mask, v, ::tfjs_infer::emu::shfl_src_lane(static_cast<int>(delta), 2, width),
      "__shfl_down_sync", 0);
}
template <typename T>
inline T __shfl_up_sync(unsigned int mask, T v, unsigned int delta, int width = 32) {
  return ::tfjs_infer::emu::shfl(
      mask, v, ::tfjs_infer::emu::shfl_src_lane(static_cast<int>(delta), 3, width),
      "__shfl_up_sync", 0);
}

// Atomics: launches run on one OS thread, so plain read-modify-write is atomic.
template <typename T>
inline T atomicAdd(T* p, T v) {
  const T old = *p;
  *p = old + v;
  return old;
}
template <typename T>
inline T atomicMax(T* p, T v) {
  const T old = *p;
  *p = old > v ? old : v;
  return old;
}
template <typename T>
inline T atomicMin(T* p, T v) {
  const T old = *p;
  *p = old < v ? old : v;
  return old;
}
template <typename T>
inline T atomicExch(T* p, T v) {
  const T old = *p;
  *p = v;
  return old;
}
template <typename T>
inline T atomicCAS(T* p, T compare, T v) {
  const T old = *p;
  if (old == compare) *p = v;
  return old;
}

// Correctly rounded intrinsics: without contraction (-ffp-contract=off) the
// host's + and * round each result, as __fadd_rn/__fmul_rn do on the device.
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline float __int_as_float(int v) {
  float f;
  std::memcpy(&f, &v, sizeof f);
  return f;
}
inline int __float_as_int(float f) {
  int v;
  std::memcpy(&v, &f, sizeof v);
  return v;
}
template <typename T>
inline T __ldg(const T* p) {
  return *p;
}
using std::erf;
using std::exp;
using std::expm1;
using std::fabs;
using std::log;
using std::log1p;
using std::sqrt;
using std::tanh;
