// What the AMX tile kernels share (x86/gemm_bf16_amxbf16.cpp,
// x86/gemm_int8_amxint8.cpp): ldtilecfg's operand and its load. Include only
// from files built with -mamx-tile.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace tfjs_infer::kernels {
// In an anonymous namespace: the two kernels' translation units have
// different ISA flags, and neither copy may stand in for the other.
namespace {

// ldtilecfg's 64-byte operand, palette 1 (8 tiles of at most 16 rows x 64
// bytes): bytes 16-47 each tile's bytes per row, 48-63 its rows.
struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};
static_assert(sizeof(TileConfig) == 64, "ldtilecfg reads 64 bytes");

// GCC's _tile_loadconfig asm names only 8 of the 64 bytes as its input: the
// barrier makes every field stored before ldtilecfg reads them.
inline void load_tile_config(const TileConfig& cfg) {
  asm volatile("" ::"r"(&cfg) : "memory");
  _tile_loadconfig(&cfg);
}

}  // namespace
}  // namespace tfjs_infer::kernels
