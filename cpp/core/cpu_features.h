// Runtime CPU feature detection (checks OS register-state support too).
#pragma once

namespace tfjs_infer {

struct CpuFeatures {
  bool avx2_fma = false;  // AVX2 + FMA + F16C
  bool avx512 = false;    // AVX-512 F, BW, DQ, VL (Skylake-X set)
  bool avx512_vnni = false;
  bool avx512_bf16 = false;
  bool avx_vnni = false;  // AVX-VNNI (VEX-encoded vpdpbusd on 256-bit registers)
  bool neon = false;
};

const CpuFeatures& cpu_features();

}  // namespace tfjs_infer
