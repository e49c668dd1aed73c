#include "core/cpu_features.h"

namespace tfjs_infer {

namespace {
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
