#include "core/cpu_features.h"

#include "core/env_switch.h"

#if defined(__x86_64__) && defined(__linux__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace tfjs_infer {

namespace {

#if defined(__x86_64__) && defined(__linux__)
// cpuid leaf 7 EDX: AMX-BF16 (bit 22), AMX-TILE (24), AMX-INT8 (25).
struct AmxCpuid {
  bool tile = false, bf16 = false, int8 = false;
};
AmxCpuid amx_cpuid() {
  AmxCpuid a;
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid_max(0, nullptr) < 7) return a;
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  a.bf16 = (edx >> 22) & 1;
  a.tile = (edx >> 24) & 1;
  a.int8 = (edx >> 25) & 1;
  return a;
}

// XCR0 bits 17 (XTILECFG) and 18 (XTILEDATA): the OS manages tile state.
// Only called when cpuid says OSXSAVE (leaf 1 ECX bit 27).
bool os_saves_tiles() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  __cpuid(1, eax, ebx, ecx, edx);
  if (!((ecx >> 27) & 1)) return false;
  unsigned lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((lo >> 17) & 3) == 3;
}

// Linux (5.16+) hands out the tile data state per process on request; the
// request fails (and AMX stays off) on older kernels or where an existing
// sigaltstack is too small for the larger signal frame.
bool request_tile_permission() {
  constexpr long kArchReqXcompPerm = 0x1023;
  constexpr long kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
}

void detect_amx(CpuFeatures& f) {
  const AmxCpuid a = amx_cpuid();
  if (!a.tile || !(a.bf16 || a.int8)) {
    f.amx_status = "the CPU has no AMX";
    return;
  }
  if (env_is("TFJS_INFER_AMX", "0")) {
    f.amx_status = "off (TFJS_INFER_AMX=0)";
    return;
  }
  if (!os_saves_tiles()) {
    f.amx_status = "the OS does not enable tile state (XCR0)";
    return;
  }
  if (!request_tile_permission()) {
    f.amx_status = "the kernel refused the tile data permission (arch_prctl)";
    return;
  }
  f.amx_bf16 = a.bf16 && f.avx512_bf16;
  f.amx_int8 = a.int8 && f.avx512_vnni;
  f.amx_status = "on";
}
#endif

CpuFeatures detect() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  // libgcc's __builtin_cpu_supports also checks that the OS saves the wide
  // registers (XGETBV), since GCC 7.4.
  __builtin_cpu_init();
  f.avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
               __builtin_cpu_supports("f16c");
  f.avx512 = f.avx2_fma && __builtin_cpu_supports("avx512f") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512vl");
  f.avx512_vnni = f.avx512 && __builtin_cpu_supports("avx512vnni");
#if __GNUC__ >= 12 || defined(__clang__)
  f.avx512_bf16 = f.avx512 && __builtin_cpu_supports("avx512bf16");
#endif
#if __GNUC__ >= 11 || defined(__clang__)
  f.avx_vnni = f.avx2_fma && __builtin_cpu_supports("avxvnni");
#endif
#if defined(__x86_64__) && defined(__linux__)
  detect_amx(f);
#else
  f.amx_status = "AMX is used on Linux x86-64 only";
#endif
#elif defined(__aarch64__)
  f.neon = true;  // baseline on AArch64
#endif
  return f;
}
}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

}  // namespace tfjs_infer
