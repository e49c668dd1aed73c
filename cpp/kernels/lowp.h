// Reduced-precision GEMMs (the opt-in load_model(precision="bf16" | "int8")):
// packed layouts shared by every implementation, and the entry points.
//
//   C[0:m, n_begin:n_end] = act(dequant(A' . B') + bias + residual)
//
// A is float32, read in place and converted per call, row by row (so a row's
// result never depends on the other rows of the call: bitwise identical at
// every batch size and thread count). B' was packed once at load.
//
// bf16: A and B rounded to bfloat16 (round to nearest even); each output lane
// starts at +0 and takes, for k pairs p = 0, 1, ... in order,
//   acc = (acc + a[2p+1] b[2p+1]) + a[2p] b[2p]     (float32, products exact)
// which is what AVX512-BF16 vdpbf16ps does (it also flushes denormal inputs
// and results to zero). Then (acc + bias) + residual and the activation.
//
// int8: B quantized per column (symmetric, s8 in [-127, 127], scale_w[j] =
// max|w[:, j]| / 127); each A row quantized asymmetrically to u8 with its own
// scale and zero point (lowp_quantize_row): q = clamp(rint(x / s) + zp, 0,
// 255), zero exactly representable. The int32 sums of q_a q_w are exact
// (AVX512-VNNI vpdpbusd; k <= kInt8MaxK keeps them in range), then
//   y = float(acc - zp colsum_w[j]) * (s_a scale_w[j])
// then (y + bias) + residual and the activation. Every implementation gives
// the same bits (the integer part is exact, the float part is the same ops).
// Or A comes quantized already (GemmArgs::q_rows: one sample's u8 rows with
// its scale and zero point, ops/conv_int8.cpp): the kernels gather its bytes
// into the rows they would have quantized, and the rest is the same.
//
// Layout: panels of kLowpNr columns (zero padded past n). bf16: a panel is
// ceil(k / 2) pair rows of kLowpNr (b[2p][j], b[2p+1][j]) uint16 pairs. int8:
// a panel is ceil(k / 4) quad rows of kLowpNr groups of 4 int8 (b[4q..4q+3][j]);
// after all panels, scale_w (float) then colsum_w (int32), kLowpNr per panel.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/kernel_args.h"

namespace tfjs_infer {

constexpr int64_t kLowpNr = 16;
// Largest k for int8: k * 255 * 127 (the largest |sum|) stays below 2^31.
constexpr int64_t kInt8MaxK = 65536;

// Bytes of a packed B (k rows, n columns).
size_t lowp_bf16_packed_bytes(int64_t k, int64_t n);
size_t lowp_int8_packed_bytes(int64_t k, int64_t n);
// Packs row-major b (k, n). Portable: one layout for every ISA.
void lowp_bf16_pack(const float* b, int64_t k, int64_t n, void* packed);
void lowp_int8_pack(const float* b, int64_t k, int64_t n, void* packed);

// float32 -> bfloat16 bits, round to nearest even (NaN stays a quiet NaN).
uint16_t lowp_bf16_round(float x);

// Whether the AVX512-BF16 GEMM runs a last panel of at most 8 columns on
// 256-bit vectors (x86/lowp_x86.h lowp_tile H): GemmBlocking::bf16_half_panel
// in effect (derived in kernels/cpu_params.cpp; TFJS_INFER_BF16_HALF_PANEL
// overrides). Same bits either way.
bool lowp_bf16_half_panels();

// Whether the AVX512-BF16 GEMM reads A words as vdpbf16ps's embedded
// broadcast (x86/gemm_bf16_avx512bf16.cpp Bf16Mem): GemmBlocking::
// bf16_mem_broadcast in effect (kernels/cpu_params.cpp;
// TFJS_INFER_BF16_MEM_BROADCAST overrides). Same bits either way.
bool lowp_bf16_mem_broadcast();

// Whether the AVX-512 table's int8 GEMM runs on AMX tiles now
// (x86/gemm_int8_amxint8.cpp): GemmBlocking::int8_amx set (kernels/
// cpu_params.cpp; TFJS_INFER_INT8_AMX overrides) and AMX-INT8 granted by the
// CPU and the OS (core/cpu_features.h), else AVX512-VNNI. Same bits either way.
bool lowp_int8_amx();

// Whether the bf16 GEMM runs on AMX tiles (x86/gemm_bf16_amxbf16.cpp):
// GemmBlocking::bf16_amx in effect (kernels/cpu_params.cpp;
// TFJS_INFER_BF16_AMX overrides) and the tiles usable (cpu_features().
// amx_bf16: the CPU, the OS's tile permission, TFJS_INFER_AMX). Not the same
// bits as the AVX512-BF16 kernel (float32 summation order, kernels/x86/
// gemm_bf16_amxbf16.cpp); read on every call, so one process can compare.
bool lowp_bf16_amx();

// Quantization parameters of one A row (int8): lo = min(0, min x), hi =
// max(0, max x), s = (hi - lo) / 255, inv = 1 / s, zp = clamp(rint(-lo *
// inv), 0, 255); s = inv = 1 and zp = 0 (a flat row) when hi == lo or when
// the range is so small (below ~7e-37) that 1 / s overflows; s is NaN when
// the row holds NaN or
// +-inf (every output of the row is then NaN).
struct RowQuant {
  float scale = 1.0f;
  float inv = 1.0f;
  int32_t zp = 0;
};
RowQuant lowp_row_params(float lo, float hi);

// lowp_row_params' rule, inlined into each kernel's row loop (an out-of-line
// call with libm's nearbyintf cost as much per row as a small GEMM row). In
// an anonymous namespace: each translation unit, whatever its ISA flags, gets
// its own copy, and no copy built with AVX flags can stand in for another.
namespace {
inline RowQuant row_params_inline(float lo, float hi) {
  RowQuant r;
  if (!std::isfinite(lo) || !std::isfinite(hi) || !std::isfinite(hi - lo)) {
    r.scale = NAN;
    return r;
  }
  lo = lo < 0.0f ? lo : 0.0f;
  hi = hi > 0.0f ? hi : 0.0f;
  if (hi == lo) return r;
  r.scale = (hi - lo) / 255.0f;
  r.inv = 1.0f / r.scale;
  if (!std::isfinite(r.inv)) return RowQuant{};  // a range too small to scale: flat
  const float zp = std::nearbyint(-lo * r.inv);
  r.zp = static_cast<int32_t>(zp > 255.0f ? 255.0f : zp);
  return r;
}
// One value to u8 with a row's (or a sample's) parameters: rint(x inv) + zp
// clamped to [0, 255], as the SIMD kernels' cvtps (round to nearest even) and
// saturating packs do it (|x inv| <= 255 inside the range it was scaled for).
inline uint8_t quantize_value(float x, float inv, int32_t zp) {
  const float r = std::nearbyint(x * inv) + static_cast<float>(zp);
  return static_cast<uint8_t>(r < 0.0f ? 0.0f : r > 255.0f ? 255.0f : r);
}

// Rows [r0, r0 + rows) of a quantized A (GemmArgs::q_rows) gathered into
// dst, rows dst_stride bytes apart, each zero padded from k to words * 4
// bytes, with the sample's parameters in rq[]: the chunk the int8 kernels
// sweep, as their own quantization of float rows leaves it.
inline void gather_quantized_rows(const GemmArgs& g, int64_t r0, int64_t rows, int64_t words,
                                  uint8_t* dst, int64_t dst_stride, RowQuant* rq) {
  const int64_t segs = g.k / g.seg_k;
  RowQuant q;
  q.scale = g.q_scale;
  q.inv = 1.0f / g.q_scale;  // unused by the kernels' epilogues (scale and zp only)
  q.zp = g.q_zp;
  for (int64_t i = 0; i < rows; ++i) {
    const uint8_t* src = g.q_rows[r0 + i];
    uint8_t* row = dst + i * dst_stride;
    for (int64_t s = 0; s < segs; ++s)
      std::memcpy(row + s * g.seg_k, src + g.seg_off[s], static_cast<size_t>(g.seg_k));
    std::memset(row + g.k, 0, static_cast<size_t>(words * 4 - g.k));
    rq[i] = q;
  }
}
}  // namespace

namespace kernels {

#define TFJS_INFER_DECLARE_LOWP_BF16(ns)                 \
  namespace ns {                                         \
  void gemm_bf16(const GemmArgs& g, const void* packed); \
  void depthwise_bf16(const DepthwiseArgs& a);           \
  }
#define TFJS_INFER_DECLARE_LOWP_INT8(ns)                                              \
  namespace ns {                                                                      \
  void gemm_int8(const GemmArgs& g, const void* packed);                              \
  void int8_range(const float* x, int64_t n, float* lo, float* hi);                   \
  void int8_quantize(const float* x, int64_t n, float inv, int32_t zp, uint8_t* dst); \
  }

// generic: scalar references (the ground truth for tests; any CPU).
TFJS_INFER_DECLARE_LOWP_BF16(generic)
TFJS_INFER_DECLARE_LOWP_INT8(generic)
TFJS_INFER_DECLARE_LOWP_BF16(avx512bf16)
TFJS_INFER_DECLARE_LOWP_INT8(avx512vnni)
TFJS_INFER_DECLARE_LOWP_INT8(avxvnni)
// AMX-INT8: gemm_int8 only (A's range and quantization are AVX512-VNNI's).
namespace amxint8 {
void gemm_int8(const GemmArgs& g, const void* packed);
}

#undef TFJS_INFER_DECLARE_LOWP_BF16
#undef TFJS_INFER_DECLARE_LOWP_INT8

}  // namespace kernels
}  // namespace tfjs_infer
