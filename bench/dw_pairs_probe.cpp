// Probe (issue 15gb, not in the library): a bf16 depthwise whose
// multiply-adds run on vdpbf16ps, two horizontal taps of one channel in one
// 32-bit lane, against the depthwise bf16 mode runs
// (x86/depthwise_avx512bf16.cpp: FMA arithmetic, bf16 stores), on MobileNetV2's
// 3x3 depthwise layers alone; and first the instruction mixes that bound it.
//
//   bench/dw_pairs_probe.py builds and runs it (prints the CPU model)
//
// The pairs scheme: the input columns of a row paired by index (2m, 2m + 1),
// per channel bf16(x[2m]) in the low word and bf16(x[2m + 1]) in the high one
// (vcvtne2ps2bf16 of 32 channels per column, then vpunpcklwd / vpunpckhwd,
// which leave the channels permuted within 128-bit lanes: the weights are
// paired alike and the results put back in order by a vpermw as they are
// stored). An output whose K taps start at column s reads the K / 2 + 1 pairs
// from s >> 1 with weight pairs (w[kx], w[kx + 1]), a 0 word outside the
// window: K x K = K (K / 2 + 1) vdpbf16ps per 32 channels of 2 x 16 lanes
// against K x K FMAs per 16 channels (3x3: 6 against 9 per 16 channels).
//
// Each layer: relu6, 'same', batch 1, thread CPU time, the two kernels
// alternated `rounds` times, each sample the best of 5 calls; prints the
// medians (us), the ratio and the largest difference of the outputs.
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "../cpp/kernels/x86/depthwise_avx512bf16.cpp"

namespace tfjs_infer::kernels {
namespace {

using V = VecAvx512;

// 32 channels [c, c + 32) of one column as bfloat16 words in channel order
// (vcvtne2ps2bf16: round to nearest even); n: channels present (masked).
inline __m512i column_bf16(const float* p, int64_t n) {
  const __mmask16 m0 = V::first_n(n < 16 ? n : 16), m1 = V::first_n(n < 16 ? 0 : n - 16);
  const __m512bh h =
      _mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(m1, p + 16), _mm512_maskz_loadu_ps(m0, p));
  return reinterpret_cast<const __m512i&>(h);
}

// A pair of columns (lo, hi) as two vectors of 32-bit lanes (bf16(lo) low
// word, bf16(hi) high word): vpunpcklwd / vpunpckhwd interleave within
// 128-bit lanes, so .a holds channels {0-3, 8-11, 16-19, 24-27} and .b
// {4-7, 12-15, 20-23, 28-31} (the weights are paired alike; the results are
// put back in channel order as they are stored). In-lane unpacks instead of
// vpermw: 12 vdpbf16ps + 3 vcvtne2ps2bf16 + 3 unpacks ran in the time of the
// 12 vdpbf16ps alone, with vpermw 1.12x that (Zen 4, bench/dw_pairs_probe.py).
struct Pair {
  __m512i a, b;
};
inline Pair make_pair(__m512i lo, __m512i hi) {
  return {_mm512_unpacklo_epi16(lo, hi), _mm512_unpackhi_epi16(lo, hi)};
}

inline __m512 dot_pairs(__m512 acc, __m512i x, __m512i w) {
  return _mm512_dpbf16_ps(acc, reinterpret_cast<const __m512bh&>(x),
                          reinterpret_cast<const __m512bh&>(w));
}

// The weight pairs of one 32-channel block: [parity of s][ky][pair j].
template <int K>
struct PairWeights {
  static constexpr int kJ = K / 2 + 1;
  Pair w[2][K][kJ];
};

template <int K>
void load_pair_weights(const DepthwiseArgs& a, int64_t c, int64_t n, PairWeights<K>& pw) {
  auto tap = [&](int64_t ky, int64_t kx) {
    if (kx < 0 || kx >= K) return _mm512_setzero_si512();
    return column_bf16(a.w + (ky * K + kx) * a.c + c, n);
  };
  for (int par = 0; par < 2; ++par)
    for (int ky = 0; ky < K; ++ky)
      for (int j = 0; j < PairWeights<K>::kJ; ++j)
        pw.w[par][ky][j] = make_pair(tap(ky, 2 * j - par), tap(ky, 2 * j + 1 - par));
}

// vpermw index putting cvtne2ps2bf16(b, a) of the two result vectors (words
// 0-15: channels of .a, 16-31: of .b) back in channel order.
inline __m512i unshuffle_index() {
  alignas(64) uint16_t idx[32];
  for (int ch = 0; ch < 32; ++ch) {
    const int lane = ch / 8, in = ch % 8;  // 128-bit lane, index in it
    idx[ch] = static_cast<uint16_t>((in < 4 ? 0 : 16) + lane * 4 + in % 4);
  }
  return _mm512_load_si512(idx);
}

// The bias of a block in the two vectors' channel order.
inline void load_bias_pair(const float* bias, int64_t c, int64_t n, __m512& ba, __m512& bb) {
  alignas(64) float t[32] = {};
  for (int64_t i = 0; i < n; ++i) t[i] = bias[c + i];
  alignas(64) float ta[16], tb[16];
  for (int lane = 0; lane < 4; ++lane)
    for (int i = 0; i < 4; ++i) {
      ta[lane * 4 + i] = t[lane * 8 + i];
      tb[lane * 4 + i] = t[lane * 8 + 4 + i];
    }
  ba = _mm512_load_ps(ta);
  bb = _mm512_load_ps(tb);
}

template <DwAct A>
inline __m512 act(__m512 v) {
  if constexpr (A == DwAct::kRelu) v = _mm512_max_ps(_mm512_setzero_ps(), v);
  if constexpr (A == DwAct::kRelu6)
    v = _mm512_min_ps(_mm512_set1_ps(6.0f), _mm512_max_ps(_mm512_setzero_ps(), v));
  return v;
}

struct Block {
  int64_t c, n;  // first channel, channels present (<= 32)
  __mmask32 m;
  __m512 ba, bb;
  bool bias;
  __m512i unshuffle;
};

// G outputs from column ox0 of one output row; s0 = ox0 * S - pad_left has
// parity Par0. x_row0: input row iy0, column 0 (only rows in range read).
// Inside: every column the pairs cover lies in the row (no checks).
template <int K, int S, int G, int Par0, bool Inside, DwAct A>
inline void pairs_group(const DepthwiseArgs& a, const PairWeights<K>& pw, const Block& bk,
                        const float* x_row0, uint16_t* y_row, int64_t ox0, int64_t ky0,
                        int64_t ky1) {
  constexpr int L = (G - 1) * S + K;      // columns the G outputs read
  constexpr int NP = (Par0 + L + 1) / 2;  // pairs covering them
  constexpr int kJ = PairWeights<K>::kJ;
  const int64_t C = a.c;
  const int64_t col0 = ((ox0 * S - a.pad_left) >> 1) * 2;  // first pair's first column
  const int64_t row_step = a.dil_h * a.in_w * C;
  __m512 acc_a[G], acc_b[G];
#pragma GCC unroll 16
  for (int p = 0; p < G; ++p) acc_a[p] = acc_b[p] = _mm512_setzero_ps();
#pragma GCC unroll 5
  for (int ky = 0; ky < K; ++ky) {
    if (ky < ky0 || ky >= ky1) continue;
    const float* q = x_row0 + ky * row_step + col0 * C + bk.c;
    Pair pr[NP];
#pragma GCC unroll 16
    for (int i = 0; i < NP; ++i) {
      __m512i lo, hi;
      if (Inside) {
        lo = column_bf16(q, bk.n);
        hi = column_bf16(q + C, bk.n);
        q += 2 * C;
#if defined(__GNUC__)
        // One pointer bumped per pair (as depthwise_x86.h's dw_slide_group).
        __asm__("" : "+r"(q));
#endif
      } else {
        const int64_t i0 = col0 + 2 * i;
        lo = i0 >= 0 && i0 < a.in_w ? column_bf16(q + 2 * i * C, bk.n) : _mm512_setzero_si512();
        hi = i0 + 1 >= 0 && i0 + 1 < a.in_w ? column_bf16(q + (2 * i + 1) * C, bk.n)
                                            : _mm512_setzero_si512();
      }
      pr[i] = make_pair(lo, hi);
    }
#pragma GCC unroll 16
    for (int p = 0; p < G; ++p) {
      const int rel = Par0 + p * S;  // s - col0
      const int par = rel & 1, q0 = rel >> 1;
#pragma GCC unroll 4
      for (int j = 0; j < kJ; ++j) {
        acc_a[p] = dot_pairs(acc_a[p], pr[q0 + j].a, pw.w[par][ky][j].a);
        acc_b[p] = dot_pairs(acc_b[p], pr[q0 + j].b, pw.w[par][ky][j].b);
      }
    }
  }
  uint16_t* yp = y_row + ox0 * C + bk.c;
#pragma GCC unroll 16
  for (int p = 0; p < G; ++p) {
    __m512 va = acc_a[p], vb = acc_b[p];
    if (bk.bias) {
      va = _mm512_add_ps(va, bk.ba);
      vb = _mm512_add_ps(vb, bk.bb);
    }
    const __m512bh h = _mm512_cvtne2ps_pbh(act<A>(vb), act<A>(va));
    const __m512i out = _mm512_permutexvar_epi16(bk.unshuffle, reinterpret_cast<const __m512i&>(h));
    _mm512_mask_storeu_epi16(yp + p * C, bk.m, out);
  }
}

// Whether the pairs of G outputs from ox0 all lie inside the row.
template <int K, int S, int G>
inline bool group_inside(const DepthwiseArgs& a, int64_t ox0) {
  const int64_t s0 = ox0 * S - a.pad_left;
  const int64_t col0 = (s0 >> 1) * 2;
  const int64_t end = s0 + (G - 1) * S + K;  // one past the last column read
  return col0 >= 0 && end + (end & 1) <= a.in_w;
}

template <int K, int S, int G, bool Inside, DwAct A>
inline void pairs_group_any(const DepthwiseArgs& a, const PairWeights<K>& pw, const Block& bk,
                            const float* x_row0, uint16_t* y_row, int64_t ox0, int64_t ky0,
                            int64_t ky1) {
  if (((ox0 * S - a.pad_left) & 1) == 0) {
    pairs_group<K, S, G, 0, Inside, A>(a, pw, bk, x_row0, y_row, ox0, ky0, ky1);
  } else {
    pairs_group<K, S, G, 1, Inside, A>(a, pw, bk, x_row0, y_row, ox0, ky0, ky1);
  }
}

template <int K, int S, DwAct A>
void pairs_rows(const DepthwiseArgs& a) {
  // Outputs per group: 2 x G independent vdpbf16ps chains; groups start on
  // an even column so that G outputs build (G S + K) / 2 pairs per row.
  constexpr int G = 8;
  const int64_t nb = (a.c + 31) / 32;
  // Every block's weight pairs and bias, made once per call: the rows are
  // the outer loop, so each input row is read from L1/L2 once for all blocks.
  thread_local std::vector<PairWeights<K>> pws;
  thread_local std::vector<Block> bks;
  if (static_cast<int64_t>(pws.size()) < nb) {
    pws.resize(nb);
    bks.resize(nb);
  }
  for (int64_t b = 0; b < nb; ++b) {
    Block& bk = bks[b];
    bk.unshuffle = unshuffle_index();
    bk.bias = a.bias != nullptr;
    bk.c = b * 32;
    bk.n = a.c - bk.c < 32 ? a.c - bk.c : 32;
    bk.m = static_cast<__mmask32>(bk.n == 32 ? ~0u : (1u << bk.n) - 1u);
    if (bk.bias) load_bias_pair(a.bias, bk.c, bk.n, bk.ba, bk.bb);
    load_pair_weights<K>(a, bk.c, bk.n, pws[b]);
  }
  for (int64_t oy = a.row_begin; oy < a.row_end; ++oy) {
    const int64_t iy0 = oy * a.stride_h - a.pad_top;
    int64_t ky0, ky1;
    tap_range(iy0, a.dil_h, K, a.in_h, ky0, ky1);
    const float* x_row0 = a.x + iy0 * a.in_w * a.c;
    uint16_t* y_row = a.y_bf16 + oy * a.out_w * a.c;
    for (int64_t b = 0; b < nb; ++b) {
      const PairWeights<K>& pw = pws[b];
      const Block& bk = bks[b];
      int64_t ox = 0;
      if (((-a.pad_left) & 1) != 0 && a.out_w > 0) {
        pairs_group_any<K, S, 1, false, A>(a, pw, bk, x_row0, y_row, ox, ky0, ky1);
        ox = 1;
      }
      for (; ox + G <= a.out_w; ox += G) {
        if (group_inside<K, S, G>(a, ox)) {
          pairs_group_any<K, S, G, true, A>(a, pw, bk, x_row0, y_row, ox, ky0, ky1);
        } else {
          pairs_group_any<K, S, G, false, A>(a, pw, bk, x_row0, y_row, ox, ky0, ky1);
        }
      }
      if (ox + 4 <= a.out_w) {
        pairs_group_any<K, S, 4, false, A>(a, pw, bk, x_row0, y_row, ox, ky0, ky1);
        ox += 4;
      }
      if (ox + 2 <= a.out_w) {
        pairs_group_any<K, S, 2, false, A>(a, pw, bk, x_row0, y_row, ox, ky0, ky1);
        ox += 2;
      }
      if (ox < a.out_w) pairs_group_any<K, S, 1, false, A>(a, pw, bk, x_row0, y_row, ox, ky0, ky1);
    }
  }
}

template <int K, int S>
void pairs_act(const DepthwiseArgs& a) {
  switch (a.act.kind) {
    case ActKind::kRelu:
      pairs_rows<K, S, DwAct::kRelu>(a);
      break;
    case ActKind::kRelu6:
      pairs_rows<K, S, DwAct::kRelu6>(a);
      break;
    default:
      pairs_rows<K, S, DwAct::kLinear>(a);
      break;
  }
}

}  // namespace

namespace probe {

void depthwise_bf16_pairs(const DepthwiseArgs& a) {
  if (a.kw == 3) {
    if (a.stride_w == 1) pairs_act<3, 1>(a);
    if (a.stride_w == 2) pairs_act<3, 2>(a);
  } else {
    if (a.stride_w == 1) pairs_act<5, 1>(a);
    if (a.stride_w == 2) pairs_act<5, 2>(a);
  }
}

}  // namespace probe
}  // namespace tfjs_infer::kernels

namespace {

using tfjs_infer::ActKind;
using tfjs_infer::DepthwiseArgs;

double thread_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

float from_bf16(uint16_t h) {
  const uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

template <class Fn>
double best_of(Fn fn, int calls) {
  double best = 1e9;
  for (int i = 0; i < calls; ++i) {
    const double t0 = thread_seconds();
    fn();
    best = std::min(best, thread_seconds() - t0);
  }
  return best;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Instruction mixes per 2 outputs x 32 channels of a 3x3 stride-1 layer,
// independent chains on registers (throughput, not latency): the float
// kernel's 36 FMAs (2 outputs x 2 vectors x 9), without and with its
// epilogue (per 16 channels: bias add, relu6, vcvtneps2bf16, store); the
// pairs kernel's 24 vdpbf16ps (2 x 2 x 6) alone, with the 6 pairs it makes
// (vcvtne2ps2bf16 + an unpack, or + vpermw), and with its epilogue (per 32
// channels: 2 bias adds, relu6 on 2 vectors, vcvtne2ps2bf16, the vpermw that
// undoes the unpacks' channel order, store).
#define F4(a, b, c, d)                                                                  \
  "vfmadd231ps %%zmm30, %%zmm31, %%zmm" #a "\n\tvfmadd231ps %%zmm30, %%zmm31, %%zmm" #b \
  "\n\tvfmadd231ps %%zmm30, %%zmm31, %%zmm" #c "\n\tvfmadd231ps %%zmm30, %%zmm31, %%zmm" #d "\n\t"
#define F12 F4(0, 1, 2, 3) F4(4, 5, 6, 7) F4(8, 9, 10, 11)
#define F36 F12 F12 F12
#define D4(a, b, c, d)                                                              \
  "vdpbf16ps %%zmm30, %%zmm31, %%zmm" #a "\n\tvdpbf16ps %%zmm30, %%zmm31, %%zmm" #b \
  "\n\tvdpbf16ps %%zmm30, %%zmm31, %%zmm" #c "\n\tvdpbf16ps %%zmm30, %%zmm31, %%zmm" #d "\n\t"
#define D12 D4(0, 1, 2, 3) D4(4, 5, 6, 7) D4(8, 9, 10, 11)
#define D24 D12 D12
#define MK(op, r, t) \
  "vcvtne2ps2bf16 %%zmm30, %%zmm31, %%zmm" #r "\n\t" op " %%zmm30, %%zmm31, %%zmm" #t "\n\t"
#define MK6(op) \
  MK(op, 12, 13) MK(op, 14, 15) MK(op, 16, 17) MK(op, 12, 13) MK(op, 14, 15) MK(op, 16, 17)
// Float epilogue of 16 channels (accumulator r), bf16 mode's depthwise.
#define EPF(r)                                                                 \
  "vaddps %%zmm29, %%zmm" #r                                                   \
  ", %%zmm20\n\tvmaxps %%zmm28, %%zmm20, %%zmm20\n\tvminps %%zmm27, %%zmm20, " \
  "%%zmm20\n\tvcvtneps2bf16 %%zmm20, %%ymm21\n\tvmovdqu16 %%ymm21, (%0)\n\t"
// Pairs epilogue of 32 channels (accumulators r and s).
#define EPP(r, s)                                                                    \
  "vaddps %%zmm29, %%zmm" #r ", %%zmm20\n\tvaddps %%zmm29, %%zmm" #s                 \
  ", %%zmm22\n\tvmaxps %%zmm28, %%zmm20, %%zmm20\n\tvmaxps %%zmm28, %%zmm22, "       \
  "%%zmm22\n\tvminps %%zmm27, %%zmm20, %%zmm20\n\tvminps %%zmm27, %%zmm22, "         \
  "%%zmm22\n\tvcvtne2ps2bf16 %%zmm22, %%zmm20, %%zmm23\n\tvpermw %%zmm23, %%zmm26, " \
  "%%zmm23\n\tvmovdqu16 %%zmm23, (%0)\n\t"
#define CLOB                                                                                    \
  "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",      \
      "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm20", "xmm21", "xmm22", \
      "xmm23", "memory"

alignas(64) uint16_t mix_out[32];

void mix_fma(int64_t n) {
  for (int64_t i = 0; i < n; ++i) asm volatile(F36::"r"(mix_out) : CLOB);
}
void mix_fma_epilogue(int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    asm volatile(F36 EPF(0) EPF(1) EPF(2) EPF(3)::"r"(mix_out) : CLOB);
}
void mix_dp(int64_t n) {
  for (int64_t i = 0; i < n; ++i) asm volatile(D24::"r"(mix_out) : CLOB);
}
void mix_dp_unpack(int64_t n) {
  for (int64_t i = 0; i < n; ++i) asm volatile(D24 MK6("vpunpcklwd")::"r"(mix_out) : CLOB);
}
void mix_dp_permw(int64_t n) {
  for (int64_t i = 0; i < n; ++i) asm volatile(D24 MK6("vpermw")::"r"(mix_out) : CLOB);
}
void mix_dp_unpack_epilogue(int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    asm volatile(D24 MK6("vpunpcklwd") EPP(0, 1) EPP(2, 3)::"r"(mix_out) : CLOB);
}

void mixes(int rounds) {
  const __m512 one = _mm512_set1_ps(1.0001f);
  asm volatile(
      "vmovaps %0, %%zmm26\n\tvmovaps %0, %%zmm27\n\tvmovaps %0, %%zmm28\n\tvmovaps %0, "
      "%%zmm29\n\tvmovaps %0, %%zmm30\n\tvmovaps %0, %%zmm31" ::"v"(one)
      : "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31");
  struct Mix {
    const char* name;
    void (*fn)(int64_t);
  } ms[] = {{"36 vfmadd231ps", mix_fma},
            {"36 vfmadd231ps + epilogue", mix_fma_epilogue},
            {"24 vdpbf16ps", mix_dp},
            {"24 vdpbf16ps + 6 (vcvtne2ps2bf16 + vpunpcklwd)", mix_dp_unpack},
            {"24 vdpbf16ps + 6 (vcvtne2ps2bf16 + vpermw)", mix_dp_permw},
            {"24 vdpbf16ps + 6 (cvt + unpack) + epilogue", mix_dp_unpack_epilogue}};
  double base = 0;
  for (const Mix& m : ms) {
    const int64_t n = 1'000'000;
    m.fn(n / 10);
    std::vector<double> t;
    for (int r = 0; r < rounds; ++r) t.push_back(best_of([&] { m.fn(n); }, 1) / n * 1e9);
    const double ns = median(t);
    if (base == 0) base = ns;
    std::printf("%-48s %6.2f ns per 2 outputs x 32 channels | %.2fx the FMAs' time\n", m.name, ns,
                ns / base);
  }
}

void layer(int64_t h, int64_t w, int64_t c, int64_t s, int rounds) {
  std::mt19937 gen(1);
  std::uniform_real_distribution<float> ux(0.0f, 6.0f);
  std::normal_distribution<float> nw(0.0f, 0.3f);
  std::vector<float> x(h * w * c), k(9 * c), b(c);
  for (auto& v : x) v = ux(gen);
  for (auto& v : k) v = nw(gen);
  for (auto& v : b) v = nw(gen);
  const int64_t oh = (h + s - 1) / s, ow = (w + s - 1) / s;
  const int64_t pad_h = std::max<int64_t>((oh - 1) * s + 3 - h, 0);
  const int64_t pad_w = std::max<int64_t>((ow - 1) * s + 3 - w, 0);
  std::vector<uint16_t> y0(oh * ow * c), y1(oh * ow * c);
  DepthwiseArgs a;
  a.x = x.data();
  a.w = k.data();
  a.bias = b.data();
  a.in_h = h;
  a.in_w = w;
  a.c = c;
  a.out_h = oh;
  a.out_w = ow;
  a.kh = a.kw = 3;
  a.stride_h = a.stride_w = s;
  a.pad_top = pad_h / 2;
  a.pad_left = pad_w / 2;
  a.row_begin = 0;
  a.row_end = oh;
  a.act.kind = ActKind::kRelu6;
  DepthwiseArgs a0 = a, a1 = a;
  a0.y_bf16 = y0.data();
  a1.y_bf16 = y1.data();
  std::vector<double> t0, t1;
  for (int r = 0; r < rounds; ++r) {
    t0.push_back(best_of([&] { tfjs_infer::kernels::avx512bf16::depthwise_bf16(a0); }, 5));
    t1.push_back(best_of([&] { tfjs_infer::kernels::probe::depthwise_bf16_pairs(a1); }, 5));
  }
  double diff = 0;
  for (size_t i = 0; i < y0.size(); ++i)
    diff = std::max(diff, static_cast<double>(std::fabs(from_bf16(y0[i]) - from_bf16(y1[i]))));
  const double m0 = median(t0) * 1e6, m1 = median(t1) * 1e6;
  std::printf(
      "%4ldx%-4ldx%4ld s%ld | fma %8.1f us | pairs %8.1f us | pairs/fma %.3f | max diff %.3g\n",
      static_cast<long>(h), static_cast<long>(w), static_cast<long>(c), static_cast<long>(s), m0,
      m1, m1 / m0, diff);
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 9;
  const int64_t shapes[][4] = {{112, 112, 32, 1}, {112, 112, 96, 2}, {56, 56, 144, 1},
                               {56, 56, 144, 2},  {28, 28, 192, 1},  {14, 14, 384, 1},
                               {14, 14, 576, 1},  {7, 7, 960, 1}};
  mixes(rounds);
  for (const auto& sh : shapes) layer(sh[0], sh[1], sh[2], sh[3], rounds);
  return 0;
}
