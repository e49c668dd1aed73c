// bf16 direct small convolution with AVX512-BF16 (ConvDirectArgs::w_bf16):
// the twin of conv_direct_f32 (kernels/simd/conv_direct_simd.h) for the bf16
// GEMM path (x86/gemm_bf16_avx512bf16.cpp). Each block of output pixels
// gathers its windows in im2col order by masked loads from the image (a
// window reaching into the padding: from a copy with zeros there), rounds
// them to bf16 by vcvtne2ps2bf16 (zeros from k to the even word end, as the
// GEMM's A rows), then runs the GEMM tile's vdpbf16ps steps over the k pairs
// on the GEMM's own packed panels, and its bias + linear / relu / relu6
// epilogue: the bits of the im2col + gemm_bf16 path at any block, band or
// batch (each lane runs over the words in order from +0, kernels/lowp.h).
//
// MobileNetV2's first layer (224x224x3x32 stride 2), AMD EPYC family 25
// model 17 (Zen 4), 1 thread, bench/conv_direct.py --precision bf16: 0.913-
// 0.918x the im2col + GEMM path alone at batch 1 (179.6 / 196.6 us), 0.964x
// at batch 32 (memory-bound there: 12.22 / 12.68 ms); the whole model at
// batch 32 moved within noise (bench/env_ab.py: 0.993x, 1.004x) while the
// layer was an op of its own. As the stage of block 0's conv_chain (ops/
// conv_chain.cpp, through ConvDirect::run_rows): bench/env_ab.py --var
// TFJS_INFER_CONV_DIRECT_BF16 --values 0,1 --models mobilenet_v2 --threads 1
// --precision bf16, batch 32 0.998x and 0.994x (117.95 / 117.66 ms, 119.41 /
// 118.66 ms; load 5-6), batch 1 0.984x (3.981 / 3.919 ms). The vdpbf16ps
// steps are about half of the kernel's time, the gather and
// conversion of the windows about a quarter (perf).
#include "kernels/x86/lowp_x86.h"
// (blank line: keeps clang-format from reordering the includes)
#include <algorithm>
#include <vector>

#include "kernels/isa_kernels.h"
#include "kernels/simd/conv_direct_simd.h"

namespace tfjs_infer::kernels::avx512bf16 {
namespace {

// One masked load of a window's taps: lanes `mask` of vector `vec` (taps
// [16 vec, 16 vec + 16) of the window in im2col order) from `off` floats
// after the window's corner (lane 0's address: it may lie before the corner
// or the image, in a masked-off lane, which a masked load does not read).
struct TapLoad {
  int64_t off;
  __mmask16 mask;
};

// The loads that gather a window: for vector v, loads [first[v], first[v+1]).
// Inside the image, kernel row ky (kw cin taps from ky kw cin on) lies at
// ky in_w cin from the corner; a copied window is dense (row_stride kw cin).
struct WindowLoads {
  std::vector<TapLoad> load;
  std::vector<int64_t> first;

  WindowLoads(const ConvDirectArgs& a, int64_t vecs, int64_t row_stride) {
    const int64_t len = a.kw * a.cin;
    first.push_back(0);
    for (int64_t v = 0; v < vecs; ++v) {
      for (int64_t ky = 0; ky < a.kh; ++ky) {
        const int64_t lo = std::max(16 * v, ky * len), hi = std::min(16 * v + 16, (ky + 1) * len);
        if (lo >= hi) continue;
        const auto m =
            static_cast<__mmask16>(((1u << (hi - 16 * v)) - 1u) & ~((1u << (lo - 16 * v)) - 1u));
        load.push_back({ky * row_stride - ky * len + 16 * v, m});
      }
      first.push_back(static_cast<int64_t>(load.size()));
    }
  }
};

// The window at `corner` as bf16 into out (chunks of 32 values, zero past
// kg): the rounding of the GEMM's prepare_short (vcvtne2ps2bf16, RNE).
inline void window_to_bf16(const WindowLoads& w, int64_t chunks, const float* corner,
                           uint16_t* out) {
  const auto base = reinterpret_cast<uintptr_t>(corner);
  const auto at = [&](int64_t e) {
    return reinterpret_cast<const float*>(base + static_cast<uintptr_t>(w.load[e].off * 4));
  };
  for (int64_t c = 0; c < chunks; ++c) {
    __m512 lo = _mm512_setzero_ps(), hi = _mm512_setzero_ps();
    for (int64_t e = w.first[2 * c]; e < w.first[2 * c + 1]; ++e)
      lo = _mm512_mask_loadu_ps(lo, w.load[e].mask, at(e));
    for (int64_t e = w.first[2 * c + 1]; e < w.first[2 * c + 2]; ++e)
      hi = _mm512_mask_loadu_ps(hi, w.load[e].mask, at(e));
    const __m512bh h = _mm512_cvtne2ps_pbh(hi, lo);
    _mm512_store_si512(out + 32 * c, reinterpret_cast<const __m512i&>(h));
  }
}

// Any window: the loads of WindowLoads in a loop, chunk by chunk.
struct LoopGather {
  const WindowLoads& w;
  int64_t chunks;
  void operator()(const float* corner, uint16_t* out) const {
    window_to_bf16(w, chunks, corner, out);
  }
};

// A window of at most 32 taps with at most N loads per vector, its masks and
// offsets held in registers across the rows (empty loads: mask 0), the loads
// of a vector independent (ORed: their lanes are disjoint, the rest +0).
// With LoopGather instead, MobileNetV2's first layer ran 0.994-0.997x the
// im2col + GEMM path (193.2 / 194.5 us), with this 0.913-0.918x, kernel
// alone, batch 1, 1 thread, AMD EPYC family 25 model 17 (Zen 4),
// bench/conv_direct.py --precision bf16 (a build of each, the GEMM path the
// same in both).
template <int N>
struct SmallGather {
  __mmask16 mask[2][N];
  int64_t off[2][N];

  explicit SmallGather(const WindowLoads& w) {
    for (int h = 0; h < 2; ++h)
      for (int j = 0; j < N; ++j) {
        const int64_t e = w.first[h] + j;
        const bool has = e < w.first[h + 1];
        mask[h][j] = has ? w.load[e].mask : 0;
        off[h][j] = has ? w.load[e].off : 0;
      }
  }

  void operator()(const float* corner, uint16_t* out) const {
    const auto base = reinterpret_cast<uintptr_t>(corner);
    __m512 v[2];
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      v[h] = _mm512_setzero_ps();
#pragma GCC unroll 4
      for (int j = 0; j < N; ++j) {
        const auto* at =
            reinterpret_cast<const float*>(base + static_cast<uintptr_t>(off[h][j] * 4));
        v[h] = _mm512_or_ps(v[h], _mm512_maskz_loadu_ps(mask[h][j], at));
      }
    }
    const __m512bh b = _mm512_cvtne2ps_pbh(v[1], v[0]);
    _mm512_store_si512(out, reinterpret_cast<const __m512i&>(b));
  }
};

// The most loads any vector of w takes.
inline int64_t max_loads(const WindowLoads& w) {
  int64_t most = 0;
  for (size_t v = 0; v + 1 < w.first.size(); ++v)
    most = std::max(most, w.first[v + 1] - w.first[v]);
  return most;
}

// acc += the bf16 pairs of A's word (read as vdpbf16ps's embedded broadcast
// when `mem`, as the GEMM's Bf16Mem) times the panel's pairs b.
template <bool Mem>
inline __m512 dp_step(__m512 acc, const uint16_t* word, __m512i b) {
#if defined(__GNUC__)
  if constexpr (Mem) {
    asm("vdpbf16ps %2%{1to16%}, %1, %0"
        : "+v"(acc)
        : "v"(b), "m"(*reinterpret_cast<const int32_t*>(word)));
  } else {
    int32_t x;
    std::memcpy(&x, word, 4);
    asm("vdpbf16ps %2, %1, %0" : "+v"(acc) : "v"(_mm512_set1_epi32(x)), "v"(b));
  }
  return acc;
#else
  int32_t x;
  std::memcpy(&x, word, 4);
  const __m512i av = _mm512_set1_epi32(x);
  return _mm512_dpbf16_ps(acc, reinterpret_cast<const __m512bh&>(av),
                          reinterpret_cast<const __m512bh&>(b));
#endif
}

// What the pixels of a block share: the converted windows (a_stride uint16
// apart), the outputs, the panels.
struct Bf16Block {
  const uint16_t* a;
  int64_t a_stride;
  float* y;  // pixel i's outputs at y + i cout
  int64_t words, panel_bytes;
};

// P pixels x NP panels from panel p0: the GEMM tile's steps and epilogue
// (x86/lowp_x86.h lowp_tile: + bias, max(0, y), min(6, y)).
template <int P, int NP, LowpEpi E, bool Mem>
void dp_tile(const ConvDirectArgs& a, const Bf16Block& blk, int64_t p0) {
  __m512 acc[P][NP];
#pragma GCC unroll 16
  for (int i = 0; i < P; ++i)
#pragma GCC unroll 4
    for (int p = 0; p < NP; ++p) acc[i][p] = _mm512_setzero_ps();
  const uint8_t* b = a.w_bf16 + p0 * blk.panel_bytes;
  for (int64_t w = 0; w < blk.words; ++w) {
    __m512i bv[NP];
#pragma GCC unroll 4
    for (int p = 0; p < NP; ++p) bv[p] = _mm512_loadu_si512(b + p * blk.panel_bytes + w * 64);
#pragma GCC unroll 16
    for (int i = 0; i < P; ++i)
#pragma GCC unroll 4
      for (int p = 0; p < NP; ++p)
        acc[i][p] = dp_step<Mem>(acc[i][p], blk.a + i * blk.a_stride + 2 * w, bv[p]);
  }
  __mmask16 mask[NP];
  __m512 bias[NP];
#pragma GCC unroll 4
  for (int p = 0; p < NP; ++p) {
    const int64_t c0 = (p0 + p) * 16;
    mask[p] = lane_mask(0, a.cout - c0);
    bias[p] = a.bias ? _mm512_maskz_loadu_ps(mask[p], a.bias + c0) : _mm512_setzero_ps();
  }
#pragma GCC unroll 16
  for (int i = 0; i < P; ++i)
#pragma GCC unroll 4
    for (int p = 0; p < NP; ++p) {
      __m512 y = acc[i][p];
      if (a.bias) y = _mm512_add_ps(y, bias[p]);
      if constexpr (E == LowpEpi::kRelu || E == LowpEpi::kRelu6)
        y = _mm512_max_ps(_mm512_setzero_ps(), y);
      if constexpr (E == LowpEpi::kRelu6) y = _mm512_min_ps(_mm512_set1_ps(6.0f), y);
      _mm512_mask_storeu_ps(blk.y + i * a.cout + (p0 + p) * 16, mask[p], y);
    }
}

// n pixels of a block over NP panels: tiles as tall as the GEMM's for NP
// panels (lowp_rows_for), then 4, 2 and 1.
template <int NP, LowpEpi E, bool Mem>
void dp_pixels(const ConvDirectArgs& a, Bf16Block blk, int64_t n, int64_t p0) {
  constexpr int R = lowp_rows_for(NP);
  const auto step = [&](auto rows) {
    constexpr int P = decltype(rows)::value;
    for (; n >= P; n -= P) {
      dp_tile<P, NP, E, Mem>(a, blk, p0);
      blk.a += P * blk.a_stride;
      blk.y += P * a.cout;
    }
  };
  step(std::integral_constant<int, R>{});
  step(std::integral_constant<int, 4>{});
  step(std::integral_constant<int, 2>{});
  step(std::integral_constant<int, 1>{});
}

// n pixels of a block over every panel: groups of 4, then the rest.
template <LowpEpi E, bool Mem>
void dp_block(const ConvDirectArgs& a, const Bf16Block& blk, int64_t n) {
  const int64_t panels = (a.cout + 15) / 16;
  int64_t p = 0;
  for (; p + 4 <= panels; p += 4) dp_pixels<4, E, Mem>(a, blk, n, p);
  switch (panels - p) {
    case 3:
      dp_pixels<3, E, Mem>(a, blk, n, p);
      break;
    case 2:
      dp_pixels<2, E, Mem>(a, blk, n, p);
      break;
    case 1:
      dp_pixels<1, E, Mem>(a, blk, n, p);
      break;
    default:
      break;
  }
}

// Pixels converted before their tiles run: a row (or 16 KiB of converted
// windows), as the GEMM converts a chunk of rows before its tiles. With
// LoopGather, blocks of 12 pixels (one tile) ran 1.07x the im2col + GEMM path
// on MobileNetV2's first layer (the tiles' broadcasts of words just stored),
// rows 0.99x; kernel alone, 1 thread, AMD EPYC family 25 model 17 (Zen 4),
// bench/conv_direct.py --precision bf16.
constexpr int64_t kBlockBytes = 16 << 10;
// The block buffer's words at most: 12 windows of kConvDirectMaxTaps taps (in
// 32-tap chunks), or kBlockBytes of smaller ones. On the stack: the kernel
// runs once per band of a chain, and a heap buffer per call is not needed.
constexpr int64_t kMaxBlockWords =
    std::max<int64_t>(12 * ((kConvDirectMaxTaps + 31) / 32 * 32), kBlockBytes / 2 + 32 * 32);

// inside / dense: the gathers of windows in the image and of copied ones.
template <LowpEpi E, bool Mem, class G>
void conv_direct_bf16_rows(const ConvDirectArgs& a, const ConvDirectGeometry& geo, const G& inside,
                           const G& dense) {
  const int64_t words = (geo.kg + 1) / 2, chunks = (geo.kg + 31) / 32;
  const int64_t a_stride = chunks * 32;
  const int64_t block = std::max<int64_t>(12, kBlockBytes / (a_stride * 2));
  alignas(64) uint16_t abuf[kMaxBlockWords];
  alignas(64) float win[kConvDirectMaxTaps];
  std::fill(win + geo.kg, win + chunks * 32, 0.0f);  // the copies write kg floats
  Bf16Block blk{abuf, a_stride, nullptr, words, words * 64};
  for (int64_t oy = a.row_begin; oy < a.row_end; ++oy) {
    const int64_t iy0 = oy * a.s_h - a.pad_t;
    const bool rows_inside = iy0 >= 0 && iy0 + a.kh <= a.in_h;
    for (int64_t ox0 = 0; ox0 < a.out_w; ox0 += block) {
      const int64_t n = std::min(block, a.out_w - ox0);
      for (int64_t i = 0; i < n; ++i) {
        const int64_t ox = ox0 + i;
        uint16_t* out = abuf + i * a_stride;
        if (rows_inside && ox >= geo.x_lo && ox < geo.x_hi) {
          inside(a.x + (iy0 * a.in_w + ox * a.s_w - a.pad_l) * a.cin, out);
        } else {
          conv_direct_copy_window(a, oy, ox, win);
          dense(win, out);
        }
      }
      blk.y = a.y + (oy * a.out_w + ox0) * a.cout;
      dp_block<E, Mem>(a, blk, n);
    }
  }
}

template <LowpEpi E, bool Mem>
void conv_direct_bf16_gather(const ConvDirectArgs& a) {
  const ConvDirectGeometry geo(a);
  const int64_t chunks = (geo.kg + 31) / 32;
  const WindowLoads inside(a, 2 * chunks, a.in_w * a.cin), dense(a, 2 * chunks, a.kw * a.cin);
  const int64_t most = std::max(max_loads(inside), max_loads(dense));
  if (chunks == 1 && most <= 2) {  // MobileNetV2's first layer: 9-tap rows
    conv_direct_bf16_rows<E, Mem>(a, geo, SmallGather<2>(inside), SmallGather<2>(dense));
  } else if (chunks == 1 && most <= 3) {
    conv_direct_bf16_rows<E, Mem>(a, geo, SmallGather<3>(inside), SmallGather<3>(dense));
  } else {
    conv_direct_bf16_rows<E, Mem>(a, geo, LoopGather{inside, chunks}, LoopGather{dense, chunks});
  }
}

template <bool Mem>
void conv_direct_bf16_epi(const ConvDirectArgs& a) {
  switch (a.act.kind) {
    case ActKind::kRelu:
      conv_direct_bf16_gather<LowpEpi::kRelu, Mem>(a);
      break;
    case ActKind::kRelu6:
      conv_direct_bf16_gather<LowpEpi::kRelu6, Mem>(a);
      break;
    default:
      conv_direct_bf16_gather<LowpEpi::kLinear, Mem>(a);
      break;
  }
}

}  // namespace

void conv_direct_bf16(const ConvDirectArgs& args) {
  if (lowp_bf16_mem_broadcast())
    conv_direct_bf16_epi<true>(args);
  else
    conv_direct_bf16_epi<false>(args);
}

}  // namespace tfjs_infer::kernels::avx512bf16
