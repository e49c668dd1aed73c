// Measured per-core throughput of the multiply-accumulate instructions the
// GEMM kernels are built on: what bounds fp32, bf16 and int8 on this CPU.
//
//   g++ -O2 -std=c++17 bench/isa_probe.cpp -o /tmp/isa_probe && /tmp/isa_probe [rounds=7]
//   (bench/isa_probe.py compiles and runs it, and prints the CPU model)
//
// Each probe issues 12 independent accumulator chains of one instruction (more
// than latency x ports on any current x86 core, so throughput bounds it) in a
// loop, timed by this thread's CPU time (a shared machine's other processes
// do not count); the median of `rounds` runs. Multiply-accumulates per
// instruction: vfmadd231ps zmm 16, vdpbf16ps zmm 32 (16 lanes x 2 pairs),
// vpdpbusd zmm 64 (16 lanes x 4 bytes); ymm halves of each. AMX-INT8
// tdpbusd (16 x 16 int32 += 16 x 64 u8 by 64 x 16 s8: 16384) on six
// accumulator tiles, where the CPU has it and Linux grants the tile state
// (arch_prctl ARCH_REQ_XCOMP_PERM); AMX-BF16 tdpbf16ps (16 x 16 float32 +=
// 16 x 32 bf16 by 32 x 16: 8192) the same way.
#include <cpuid.h>
#include <time.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

double thread_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// 12 independent instructions on registers 0-11, sources 12 and 13.
#define TWELVE(op, r)                                                                             \
  op " %%" r "13, %%" r "12, %%" r "0\n\t" op " %%" r "13, %%" r "12, %%" r "1\n\t" op " %%" r    \
     "13, %%" r "12, %%" r "2\n\t" op " %%" r "13, %%" r "12, %%" r "3\n\t" op " %%" r "13, %%" r \
     "12, %%" r "4\n\t" op " %%" r "13, %%" r "12, %%" r "5\n\t" op " %%" r "13, %%" r "12, %%" r \
     "6\n\t" op " %%" r "13, %%" r "12, %%" r "7\n\t" op " %%" r "13, %%" r "12, %%" r "8\n\t" op \
     " %%" r "13, %%" r "12, %%" r "9\n\t" op " %%" r "13, %%" r "12, %%" r "10\n\t" op " %%" r   \
     "13, %%" r "12, %%" r "11\n\t"

#define PROBE(name, op, r, clobbers)                                                           \
  void name(int64_t iters) {                                                                   \
    for (int64_t i = 0; i < iters; ++i) asm volatile(TWELVE(op, r) TWELVE(op, r)::: clobbers); \
  }

#define ZMM_CLOBBERS \
  "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11"

PROBE(fma_zmm, "vfmadd231ps", "zmm", ZMM_CLOBBERS)
PROBE(fma_ymm, "vfmadd231ps", "ymm", ZMM_CLOBBERS)
PROBE(dpbf16_zmm, "vdpbf16ps", "zmm", ZMM_CLOBBERS)
PROBE(dpbusd_zmm, "vpdpbusd", "zmm", ZMM_CLOBBERS)
PROBE(dpbusd_ymm_vex, "%{vex%} vpdpbusd", "ymm", ZMM_CLOBBERS)

// Every tile 16 rows x 64 bytes (palette 1); the sources tmm6 and tmm7 zeroed.
void configure_full_tiles() {
  alignas(64) unsigned char cfg[64] = {};
  cfg[0] = 1;
  for (int t = 0; t < 8; ++t) {
    cfg[16 + 2 * t] = 64;
    cfg[48 + t] = 16;
  }
  asm volatile("ldtilecfg %0" ::"m"(cfg) : "memory");
  asm volatile("tilezero %%tmm6\n\ttilezero %%tmm7" ::);
}

// 24 tile products per iteration into tmm0-5 (four each), sources tmm6 and
// tmm7: six independent chains, every tile 16 rows x 64 bytes (palette 1).
#define SIX_TILES(op)                                                  \
  op " %%tmm7, %%tmm6, %%tmm0\n\t" op " %%tmm7, %%tmm6, %%tmm1\n\t" op \
     " %%tmm7, %%tmm6, %%tmm2\n\t" op " %%tmm7, %%tmm6, %%tmm3\n\t" op \
     " %%tmm7, %%tmm6, %%tmm4\n\t" op " %%tmm7, %%tmm6, %%tmm5"

#define TILE_PROBE(name, op)                                     \
  void name(int64_t iters) {                                     \
    configure_full_tiles();                                      \
    for (int64_t i = 0; i < iters; ++i)                          \
      for (int j = 0; j < 4; ++j) asm volatile(SIX_TILES(op)::); \
    asm volatile("tilerelease" ::);                              \
  }

TILE_PROBE(tdpbusd_tiles, "tdpbusd")      // AMX-INT8
TILE_PROBE(tdpbf16ps_tiles, "tdpbf16ps")  // AMX-BF16

// AMX-TILE and AMX-BF16 (cpuid 7.0 edx bits 24, 22) and the tile state
// granted, as amx_int8_granted.
bool amx_bf16_granted() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !((d >> 24) & 1) || !((d >> 22) & 1))
    return false;
#if defined(__linux__)
  return syscall(SYS_arch_prctl, 0x1023, 18) == 0;
#else
  return false;
#endif
}

// AMX-TILE and AMX-INT8 (cpuid 7.0 edx bits 24, 25) and the OS's tile state
// granted to this process (Linux 5.16+: ARCH_REQ_XCOMP_PERM for XTILEDATA).
bool amx_int8_granted() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !((d >> 24) & 1) || !((d >> 25) & 1))
    return false;
#if defined(__linux__)
  return syscall(SYS_arch_prctl, 0x1023, 18) == 0;
#else
  return false;
#endif
}

struct Probe {
  const char* name;
  const char* isa;  // __builtin_cpu_supports name
  void (*fn)(int64_t);
  int macs;  // multiply-accumulates per instruction
};

// Median instructions per second of fn (24 per loop iteration).
double rate(void (*fn)(int64_t), int rounds) {
  const int64_t iters = 2'000'000;
  fn(iters / 10);  // warm up (and wake the 512-bit units)
  std::vector<double> r;
  for (int i = 0; i < rounds; ++i) {
    const double t0 = thread_seconds();
    fn(iters);
    r.push_back(24.0 * static_cast<double>(iters) / (thread_seconds() - t0));
  }
  std::sort(r.begin(), r.end());
  return r[r.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::max(1, std::atoi(argv[1])) : 7;
  const Probe probes[] = {
      {"vfmadd231ps zmm", "avx512f", fma_zmm, 16},
      {"vdpbf16ps zmm", "avx512bf16", dpbf16_zmm, 32},
      {"vpdpbusd zmm (AVX512-VNNI)", "avx512vnni", dpbusd_zmm, 64},
      {"vfmadd231ps ymm", "fma", fma_ymm, 8},
      {"vpdpbusd ymm (AVX-VNNI)", "avxvnni", dpbusd_ymm_vex, 32},
      {"tdpbusd (AMX-INT8)", "amx-int8", tdpbusd_tiles, 16 * 16 * 64},
      {"tdpbf16ps (AMX-BF16)", "amx-bf16", tdpbf16ps_tiles, 16 * 16 * 32},
  };
  __builtin_cpu_init();
  double fma_rate = 0;
  std::printf("%-28s %12s %14s %s\n", "instruction", "G instr/s", "G MAC/s/core",
              "MAC rate / vfmadd231ps zmm");
  for (const Probe& p : probes) {
    bool ok = false;
    // __builtin_cpu_supports needs a literal name: one branch per probe.
    const std::string_view isa = p.isa;
    if (isa == "avx512f") ok = __builtin_cpu_supports("avx512f");
    if (isa == "avx512bf16") ok = __builtin_cpu_supports("avx512bf16");
    if (isa == "avx512vnni") ok = __builtin_cpu_supports("avx512vnni");
    if (isa == "fma") ok = __builtin_cpu_supports("fma");
    if (isa == "avxvnni") ok = __builtin_cpu_supports("avxvnni");
    if (isa == "amx-int8") ok = amx_int8_granted();
    if (isa == "amx-bf16") ok = amx_bf16_granted();
    if (!ok) {
      std::printf("%-28s %12s\n", p.name, "not on this CPU");
      continue;
    }
    const double r = rate(p.fn, rounds);
    if (p.fn == fma_zmm) fma_rate = r * p.macs;
    std::printf(
        "%-28s %12.2f %14.1f %s\n", p.name, r * 1e-9, r * p.macs * 1e-9,
        fma_rate > 0 ? (std::to_string(r * p.macs / fma_rate).substr(0, 4) + "x").c_str() : "-");
  }
  return 0;
}
