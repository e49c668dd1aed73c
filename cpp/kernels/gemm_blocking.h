// The GEMM's cache blocking: plain data the kernels read (through
// kernels/kernel_args.h) and kernels/cpu_params.cpp derives from the CPU. No
// inline functions and no STL: ISA translation units include it. It lives in
// kernels/, beside the definition of gemm_blocking() and its only readers.
#pragma once

#include <cstdint>

namespace tfjs_infer {

// Cache blocking of the packed-B GEMM (kernels/simd/gemm_simd.h), derived at
// import from this CPU's caches (kernels/cpu_params.cpp) and overridable through
// TFJS_INFER_GEMM_* variables. Blocking changes speed only, never a result bit.
struct GemmBlocking {
  int64_t l2_block_bytes = 512 * 1024;  // packed B kept in L2 while the row tiles pass over it
  int64_t k_block = 2048;               // k above this is cut into blocks (exact partial sums)
  int64_t row_chunk = 192;              // rows per chunk on the k-blocked path
  int64_t prefetch_rows = 0;  // k rows ahead a sweep's first row tile prefetches B (0: none)
  // 1: while the row tiles sweep one block of B, they prefetch the next
  // block into L2, one 64-byte line per k row (prefetcht1); 2: the same
  // into L1 and L2 (prefetcht0); 0: none.
  int64_t next_prefetch = 0;
  // Thin k: column blocks whose packed panels fit this many bytes (an L1D
  // share) instead of the L2 block, row chunks outermost (0: off).
  int64_t l1_block_bytes = 0;
  // Small-m tiles (m <= 4, the batch-1 GEMV): k rows ahead that they
  // prefetch B (0: none).
  int64_t gemv_prefetch_rows = 4;
  // 1: blocked-path row tiles with a fused residual prefetch the next row
  // tile's residual and C rows before their k loop; 2: C rows also without
  // a residual; 0: none.
  int64_t res_prefetch = 0;
  // The AVX-512 int8 GEMM (kernels/x86/lowp_x86.h): k blocks of about this
  // many 4-byte words (4 panels' block: 64 x this bytes), 0: none.
  int64_t int8_k_block_words = 128;
  // 1: the int8 GEMM runs on AMX tiles (kernels/x86/gemm_int8_amxint8.cpp),
  // where cpu_features() grants AMX-INT8 (else it stays on AVX512-VNNI);
  // 0: AVX512-VNNI (kernels/cpu_params.cpp). Same bits either way.
  int64_t int8_amx = 0;
  // int8 weights packed (ops/gemm_driver.cpp) in at least this many bytes go
  // on transparent huge pages (core/huge_pages.h), read when a model is
  // loaded; 0: none (kernels/cpu_params.cpp).
  int64_t int8_huge_page_bytes = 0;
  // fp32 weights packed (ops/gemm_driver.cpp) in at least this many bytes go
  // into the same huge-page regions (core/huge_pages.h), read when a model is
  // loaded; 0: none (kernels/cpu_params.cpp). Buffers of 2 MiB and more are
  // on huge pages anyway (core/tensor.cpp); this takes the smaller ones.
  int64_t f32_huge_page_bytes = 0;
  // bf16 weights packed in at least this many bytes go into the same regions,
  // read when a model is loaded; 0: none (kernels/cpu_params.cpp).
  int64_t bf16_huge_page_bytes = 0;
  // 1: a last panel with more valid columns than one full-width vector but
  // no more than the ISA's narrow tail (AVX-512: 24 = three 8-float ymm
  // vectors) runs with narrow-vector tiles instead of two full vectors per
  // row: 3/4 of the FMA work where a ymm FMA has the zmm MAC rate (AVX-512
  // executed as two 256-bit halves); 0: off (kernels/cpu_params.cpp).
  int64_t narrow_tail = 0;
  // 1: the AVX512-BF16 GEMM runs a last panel of at most 8 valid columns on
  // 256-bit vdpbf16ps (kernels/x86/lowp_x86.h lowp_tile H), half the work
  // where a 512-bit op costs two 256-bit ones; 0: off (kernels/cpu_params.cpp).
  int64_t bf16_half_panel = 0;
  // 1: the AVX512-BF16 GEMM's vdpbf16ps reads each A word from memory as an
  // embedded broadcast ({1to16}) instead of a vpbroadcastd into a register
  // first; 0: the register broadcast (kernels/cpu_params.cpp).
  int64_t bf16_mem_broadcast = 0;
  // 1: the bf16 GEMM runs on AMX tiles (kernels/x86/gemm_bf16_amxbf16.cpp)
  // where the CPU and the OS give them (cpu_features().amx_bf16): its bits
  // differ from the AVX512-BF16 kernel's by float32 summation error, and the
  // bf16 direct convolution (whose bits are the AVX512-BF16 GEMM's) is not
  // used; 0: the AVX512-BF16 kernels (kernels/cpu_params.cpp).
  int64_t bf16_amx = 0;
  // 1: the fp32 GEMM's full row tiles over a thin A whose rows are k
  // contiguous floats with k = 16, 24 or 32 (MobileNetV2's 1x1 products at
  // 112x112 and 56x56) run a tile compiled for that k: its k loop unrolled
  // and every A value at a fixed offset from one pointer, instead of a
  // register per row. With bf16_mem_broadcast it also switches the AVX512-BF16
  // GEMM's tiles compiled for k = 16/24/32 words of packed rows
  // (lowp_tiles_fixed_k; TFJS_INFER_BF16_FIXED_K=0 turns off those alone).
  // 0: off (kernels/cpu_params.cpp). Same bits either way.
  int64_t fixed_k = 0;
};

// The blocking in effect; the GEMM kernels read it on every call.
const GemmBlocking& gemm_blocking();

// Rows of the AVX-512 blocked path's two-panel register tiles (6 or 7; single
// panels get twice as many), fixed at import from the CPU (kernels/cpu_params.cpp)
// and settable between runs for A/B measurements. The tile shape changes speed
// only, never a result bit.
int64_t gemm_tile_rows();
void set_gemm_tile_rows(int64_t rows);

// Panels per group of the AVX-512 packed-B layout (2 or 4; kernels/simd/
// gemm_simd.h), fixed at import from the CPU (kernels/cpu_params.cpp): packing
// and the GEMM must agree on it, so it is not part of the settable blocking.
int64_t gemm_panel_group();

}  // namespace tfjs_infer
