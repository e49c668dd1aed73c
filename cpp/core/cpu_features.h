// Runtime CPU feature detection (checks OS register-state support too).
#pragma once

namespace tfjs_infer {

struct CpuFeatures {
  bool avx2_fma = false;  // AVX2 + FMA + F16C
  bool avx512 = false;    // AVX-512 F, BW, DQ, VL (Skylake-X set)
  bool avx512_vnni = false;
  bool avx512_bf16 = false;
  bool avx_vnni = false;  // AVX-VNNI (VEX-encoded vpdpbusd on 256-bit registers)
  // AMX tiles usable by this process: the CPU has them (cpuid), the OS saves
  // their state (XCR0) and granted this process the tile data permission
  // (Linux arch_prctl ARCH_REQ_XCOMP_PERM, asked once at import), and
  // TFJS_INFER_AMX is not "0". amx_status says why not, where they are off.
  bool amx_bf16 = false;  // AMX-TILE + AMX-BF16 (tdpbf16ps), with avx512_bf16
  bool amx_int8 = false;  // AMX-TILE + AMX-INT8 (tdpbusd), with avx512_vnni
  const char* amx_status = "not an x86-64 CPU";
  bool neon = false;
};

const CpuFeatures& cpu_features();

}  // namespace tfjs_infer
