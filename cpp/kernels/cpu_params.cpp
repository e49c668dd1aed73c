#include "kernels/cpu_params.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "core/cpu_features.h"

namespace tfjs_infer {

namespace {

// What the kernels were tuned on before the parameters came from cpuid (AMD
// Zen 5): the fallback where cpuid says nothing.
constexpr int64_t kDefaultL1d = 48 << 10;
constexpr int64_t kDefaultL2 = 1 << 20;
// Rows of the register tiles that stream a k range of A from L1 (MR of the
// blocked path, 6 on every ISA) and columns of the narrowest column block (two
// 32-column AVX-512 panels).
constexpr int64_t kTileRows = 6;
constexpr int64_t kMinBlockCols = 64;
// k rows ahead that a sweep's first row tile prefetches its B block (which
// comes from beyond L2 for that tile only): ~8 KB ahead on the 512-byte rows
// of a 4-panel AVX-512 group. Measured on an Intel Xeon (Emerald Rapids):
// 49x4608x512 (ResNet50 conv5 3x3) +10-20 %, no shape slower (bench/gemm.py).
constexpr int64_t kPrefetchRows = 16;
// The next B block's prefetch into L2 (GemmBlocking::next_prefetch), on every
// CPU: memory traffic that overlaps the current block's FMAs instead of
// stalling the next block's first tile. Measured on an Intel Xeon (Emerald
// Rapids), B from memory as in a model, interleaved in one process:
// 49x4608x512, 49x2048x512, 49x1024x2048 +18-22 %, 196x2304x256 +5 %; inside
// ResNet50 at batch 1 its stage-5 layers 0.80-0.86x their time, the model
// 0.95x. Zen 5 not measured. On an EPYC Genoa (Zen 4, whose prefetcht1 goes to
// L2) it stays: B from memory (bench/gemm_blocking.py --cold-b --reps 9) the
// stage-4/5 shapes ran at 94-109 GFLOP/s with it, 0.96-1.03x that without;
// ResNet50 batch 1 (bench/env_ab.py, 1 thread) 1.01x its time without, 1.03x
// without it and the first-tile prefetch; prefetcht0 instead (next_prefetch 2)
// 1.01-1.04x the GFLOP/s, the model 0.990x and 0.996x its time in two runs:
// within noise, not taken.
// k rows ahead that the small-m tiles (the batch-1 GEMV, B streaming from L3)
// prefetch B. 4 where it was tuned (Zen 5: MLP batch 1 27.5 -> 24 us) and on
// Intel. None on AMD family 0x19 (Zen 4; Zen 3 shares the family, not
// measured): on an EPYC Genoa (family 25 model 17) the hardware prefetchers
// alone streamed B from L3 at 92 GB/s against 72 with the software prefetch,
// which got in their way (bench/gemm_blocking.py, interleaved, medians of 15:
// 1x784x512 1.26x, 1x1024x1024 1.39x, 2x784x512 1.21x, 4x1024x1024 1.02x;
// AVX2 1.36x / 1.47x / 1.13x; 2, 8, 16 and 32 rows ahead all below none), the
// MLP at batch 1 0.77x its time (bench/env_ab.py), the LSTM unchanged. With B
// from memory (--cold-b) none still leads: 4 rows ahead 0.85-0.99x its GFLOP/s.
constexpr int64_t kGemvPrefetchRows = 4;
// GemmBlocking::res_prefetch: a row tile prefetches the next row tile's
// residual and C rows before its k loop. 1 (with a fused residual) on AMD
// family 0x19: on an EPYC Genoa (family 25 model 17), residual and C from
// memory (bench/residual_prefetch.py --rounds 11, 16 buffers, interleaved,
// medians, load 5-6): ResNet50's 1x1 + Add shapes 3136x64x256 0.84-0.88x
// their time, 784x128x512 0.94x, 196x256x1024 and 49x512x2048 1.00x;
// bench/env_ab.py, 1 thread: ResNet50 batch 32 0.98x, batch 1 0.99x, MNIST
// CNN and the MLP 1.00x. 2 (C rows without a residual too) gained more on
// ResNet50 (batch 32 0.95x, batch 1 0.985x; 3136x64x256 without a residual
// 0.84x) but cost the MNIST CNN 1.6 % at batch 1 and 32, so it stays an
// option. Intel (a tile-ahead residual prefetch measured no gain on an
// Emerald Rapids Xeon; on a Xeon with AMX, family 6 model 167 as its KVM
// guest reports it, bench/env_ab.py --var TFJS_INFER_GEMM_RES_PREFETCH
// --values 0,1 --models resnet50 --batch 1 --rounds 6, 1 thread, load 6-7:
// 1.000x) and Zen 5 (not measured): 0.
constexpr int64_t kZen4ResPrefetch = 1;
// GemmBlocking::int8_k_block_words: the AVX-512 int8 GEMM's k blocks. 128
// words (a 4-panel block of 32 KiB kept in L1 while a chunk's row tiles
// pass) measured 0.90-0.92x the unblocked time on a 48 KiB L1D (Xeon family 6
// model 207, kernels/x86/lowp_x86.h). On Zen 4's 32 KiB L1D the block does
// not stay there beside the A rows and its sums' store and reload cost more
// than L2 feeding the panels: unblocked, u8 rows, 1 thread, interleaved,
// medians of 41 (EPYC Genoa, family 25 model 17, load 2.3-3.4): 784x1152x128
// 0.96x the 128-word time, 196x2304x256 0.95x, 49x4608x512 0.95x, 196x1024x256
// 0.95x, 98x2048x512 0.96x; 48-96 words were slower than 128 (1.01-1.10x).
// Zen 5 (48 KiB L1D, not measured) keeps 128.
constexpr int64_t kInt8KBlockWords = 128;
// GemmBlocking::int8_amx: 1 wherever cpu_features() grants AMX-INT8 (cpuid,
// XCR0's tile state and Linux's tile permission; core/cpu_features.h): the
// int8 GEMM on tiles (kernels/x86/gemm_int8_amxint8.cpp), same bits. On a
// Xeon family 6 model 167 (KVM, 2 vCPUs), 1 thread, thread CPU time,
// interleaved, medians (bench/int8_amx_ab.py --models resnet50 mobilenet_v2
// --batch 32 --rounds 5, load 3-5): ResNet50 int8 at batch 32 0.67x the
// AVX512-VNNI kernel's time (379 against 564 ms), MobileNetV2 0.96x (111
// against 115 ms); the kernel alone 0.54-0.87x on ResNet50's shapes but
// 3136x64x256 (1.09x: C's stores bound it) and m < 7 rows (kept on VNNI).
// GemmBlocking::int8_huge_page_bytes: int8 weights packed in at least this
// many bytes go on 2 MiB transparent huge pages (core/huge_pages.h). An int8
// model's 1-image slices (int8_slice_bytes) stream its 25 MB of ResNet50
// weights from memory once per image; in 4 KiB pages each page costs a TLB
// miss and a restart of the hardware prefetchers. EPYC Genoa (family 25
// model 17), 1 thread, thread CPU time: the int8 kernel alone with B from
// memory (bench/int8_kernel_ab.py --b-copies 32) ran 10-21 % slower than
// with B in cache on ResNet50's stage-5 shapes, and B on huge pages took
// 0.96-0.98x of the 4 KiB time. The model, batch 32, bench/env_ab.py --var
// TFJS_INFER_INT8_HUGE_PAGES --values 0,262144,1 --models resnet50 --threads 1
// --rounds 5 --seconds 3 --precision int8 (load 3-5): int8 weights of at
// least 256 KiB 0.976x and 0.978x, all of them (1 byte) 0.972x and 0.970x;
// batch 1 (256 KiB) 0.989x. So every int8 weight (the regions waste no
// memory: RSS +2-6 MB of 228). Other CPUs (not measured): 0.
constexpr int64_t kZen4Int8HugePageBytes = 1;

// A larger L2 block measured no faster: on the 2 MiB L2 of an Intel Xeon
// (Emerald Rapids) 512 KiB ran at 0.93-1.14x (10 of 13 shape runs >= 1.0x,
// medians) the speed of 1 MiB (bench/gemm_blocking.py, two runs on a loaded
// host). A Zen 5 core (1 MiB L2) gets 512 KiB either way. On an EPYC Genoa
// (Zen 4, 1 MiB L2, 32 KiB L1D) neither the 1 MiB block nor an Intel core's
// 48 KiB-L1D blocking (k block 2048, row chunk 192, L1 block 24 KiB) beat its
// own (bench/gemm_blocking.py --candidate, medians of 11): 1 MiB 0.92-1.03x,
// 48 KiB 0.95-1.02x the GFLOP/s over the bench/gemm.py shapes; bench/env_ab.py,
// 1 thread: TFJS_INFER_GEMM_L2_BLOCK=1M ResNet50 batch 1 1.07x its time, MLP
// batch 256 1.02x; TFJS_INFER_L1D_BYTES=48K 1.03x and 1.01x.
constexpr int64_t kMaxL2Block = 512 << 10;
// AVX-512 packed panels per group. Intel: 2, so that a blocked-path tile's
// two panels are one contiguous run per k row (Emerald Rapids, bench/gemm.py:
// 49x4608x512 +10 %, no shape slower). AMD family 0x19 (Zen 4) too: on an EPYC
// Genoa (family 25 model 17), 2 against 4 in fresh processes taking turns,
// GEMV prefetch off (bench/gemm.py, two rounds each): 49x4608x512 +12-21 %,
// 1x1024x1024 +4-12 %, the other shapes within +-3 %; bench/env_ab.py, 1
// thread: ResNet50 batch 1 0.91x and 0.95x its time (two runs of 5-7), MLP
// batch 256 0.97-0.99x, MLP batch 1 0.98-1.01x. Elsewhere (Zen 5, where the
// kernels were tuned, not measured with 2): 4, the batch-1 GEMV's single
// 512-byte run per k row.
constexpr int64_t kGroupOf2PanelGroup = 2;
constexpr int64_t kDefaultPanelGroup = 4;
// Rows of the AVX-512 two-panel tiles: 6 x 64 (24 accumulators) on every
// CPU; 7 x 64 (28 accumulators, which with the four B vectors and the
// broadcast need 33 of the 32 zmm registers: one accumulator lives on the
// stack) stays an option (TFJS_INFER_GEMM_TILE_ROWS=7).
// Intel had 7: on an Emerald Rapids Xeon, interleaved against 6 (bench/gemm.py
// --tile-rows 6 7), 49x4608x512 (ResNet50 conv5 3x3: 7 tiles of 7 rows
// instead of 4 of 6 and 5 of 5) +9-13 %, 32x1024x1024 +5 %, 256x784x512 and
// 1024^3 +2-5 %, when the tiles' k loop still tested its two prefetch
// switches on every k row. Since the loop runs in phases without them
// (kernels/simd/gemm_tile_simd.h), 6 leads on a Xeon with AMX (family 6 model
// 167 as its KVM guest reports it; 48 KiB L1D, 2 MiB L2), bench/gemm.py --isa
// avx512 --tile-rows 6 7, 1 thread (load 3-4): 256x784x512 164 against 154
// GFLOP/s, 1024^3 157/150, 196x2304x256 154/149, 12544x147x64 163/151,
// 12544x32x64 131/116, 49x4608x512 146/144, 32x1024x1024 145/146; in models,
// bench/env_ab.py --var TFJS_INFER_GEMM_TILE_ROWS --values 7,6, 1 thread
// (load 4-6): ResNet50 batch 1 0.972x its time, MLP batch 256 0.967x,
// MobileNetV2 batch 32 0.971x, MNIST CNN batch 256 1.017x, MLP batch 32
// 1.025x, text CNN 1.001x; --values 6,7 --batch 32 --rounds 4 --seconds 4
// (load 3-4): ResNet50 7 rows 1.043x the time of 6 (every sample slower).
// Emerald Rapids with the phased loop: not measured.
// Zen 4 keeps 6: on an EPYC Genoa (panel group 2) 7 measured +0-4 % on the
// bench/gemm.py shapes, but in whole models (bench/env_ab.py, 1 thread) MLP
// batch 32 0.98x its time, batch 1 and 256 1.00x, ResNet50 batch 1 1.00x,
// MNIST CNN batch 32 1.01x: no gain worth a per-CPU rule.
constexpr int64_t kAvx512TileRows = kTileRows;

// bf16/int8 models run a call of many samples a slice at a time
// (compile/model.cpp), each slice's arena at most half the L3, so that the
// activations one op writes are still cached when the next reads them, beside
// the weights; at most kMaxSliceBytes. ResNet50's arena is ~9 MiB an image.
// Measured at batch 32, 1 thread, bench/precision.py (interleaved, thread CPU
// time, medians):
// - Intel Xeon (Emerald Rapids, 260 MiB L3): int8 in 24 MiB slices (2 images)
//   0.81x the whole call's time; 1 image or larger slices within noise. Where
//   the L3 is that large, the 24 MiB chosen there.
// - AMD Zen 4 (EPYC family 25 model 17, 32 MiB L3 shared with other VMs'
//   cores), load 3-5, four runs: int8 in 1-image slices (16 MiB) 0.90-0.98x
//   the time in 24 MiB slices, 0.88-0.93x the whole call's (ResNet50);
//   MobileNetV2 (~3.4 MiB an image) within 1 % either way. bf16 at any slice
//   size within 2 % of its whole call on both models (its products do half
//   fp32's arithmetic, not a quarter): sliced too, which bounds its arena to a
//   slice's (ResNet50 batch 32: 16 MiB, not 270 MiB). fp32 in 1-image slices
//   measured 1.07x slower (its products reuse each weight panel over the
//   whole batch): whole calls.
constexpr int64_t kMaxSliceBytes = int64_t{24} << 20;

int64_t derive_lowp_slice_bytes(const CpuTopology& t) {
  return t.l3_bytes > 0 ? std::min(kMaxSliceBytes, t.l3_bytes / 2) : kMaxSliceBytes;
}

// int8 models on AMD family 0x19 (Zen 4): a quarter of the L3. ResNet50's int8
// plan is 5.0 MiB an image since its projections run first
// (compile/int8_order_pass.cpp; 6.9 MiB before, 9 MiB when the slices were
// measured), so half the 32 MiB L3 became 3-image slices, slower than 1-image
// ones: EPYC family 25 model 17, 1 thread, batch 32, bench/env_ab.py --var
// TFJS_INFER_INT8_HOIST+TFJS_INFER_LOWP_SLICE_BYTES (thread CPU time, medians,
// load 2-4), against main (Keras order, 16 MiB): projections first in 8 MiB
// slices (1 image) 0.986-0.988x, in 11 MiB (2 images) 1.014x, in 16 MiB
// (3 images) 1.008-1.022x; Keras order in 1-image slices 0.991-0.996x.
// Elsewhere int8 keeps lowp_slice_bytes (unmeasured with the new order).
int64_t derive_int8_slice_bytes(const CpuTopology& t) {
  if (!is_amd_zen4(t) || t.l3_bytes <= 0) return derive_lowp_slice_bytes(t);
  return std::min(kMaxSliceBytes, t.l3_bytes / 4);
}

int64_t round_down(int64_t v, int64_t step) { return v / step * step; }

// "0", "123", "48K", "2M", "1G" (case-insensitive) -> bytes; -1 if malformed.
int64_t parse_size(const std::string& text) {
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0]))) return -1;
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  const std::string suffix(end);
  int64_t unit = 1;
  if (suffix == "k" || suffix == "K") {
    unit = int64_t{1} << 10;
  } else if (suffix == "m" || suffix == "M") {
    unit = int64_t{1} << 20;
  } else if (suffix == "g" || suffix == "G") {
    unit = int64_t{1} << 30;
  } else if (!suffix.empty()) {
    return -1;
  }
  if (v < 0 || v > (int64_t{1} << 40) / unit) return -1;
  return static_cast<int64_t>(v) * unit;
}

// Applies env[name] to *target when it parses; records it either way.
void apply_override(const std::map<std::string, std::string>& env, const std::string& name,
                    int64_t* target, CpuParams& out) {
  const auto it = env.find(name);
  if (it == env.end() || it->second.empty()) return;
  const int64_t v = parse_size(it->second);
  const std::string entry = name + "=" + it->second;
  if (v < 0) {
    out.ignored.push_back(entry);
    return;
  }
  *target = v;
  out.overrides.push_back(entry);
}

// GemmBlocking::narrow_tail: 1 on AMD family 0x19 (Zen 4: AVX-512 runs as two
// 256-bit halves, so a ymm FMA has the MAC rate of a zmm one,
// bench/isa_probe.py): an AVX-512 last panel of 17-24 valid columns
// (MobileNetV2's 24-channel projections) as three ymm vectors per row, 3/4 of
// the FMAs of two zmm. On an EPYC Genoa (family 25 model 17), off against on
// (bench/narrow_tail.py, thread CPU time, interleaved, medians of 9):
// 3136x96x24 and 3136x144x24 0.75x their time, 672-row bands 0.76x,
// 3136x96x56 0.89x; bench/env_ab.py, 1 thread, MobileNetV2 batch 1 0.984x
// and 0.991x (two runs of 8, load 3-8), batch 32 0.983x.
// Intel and Zen 5 (full 512-bit FMA pipes: three ymm FMAs cost more than two
// zmm): 0. Measured on a Xeon with AMX (family 6 model 167 as its KVM guest
// reports it): bench/env_ab.py --var TFJS_INFER_GEMM_NARROW_TAIL --values 0,1
// --models mobilenet_v2 --batch 1 --rounds 6, 1 thread (load 6-7): 1.016x.
constexpr int64_t kZen4NarrowTail = 1;
// GemmBlocking::bf16_half_panel: 1 on AMD family 0x19 (Zen 4, AVX-512 as two
// 256-bit halves: a 256-bit vdpbf16ps does a last panel's 8 valid columns in
// half the time of a 512-bit one). MobileNetV2's projections to 24 channels,
// bf16, batch 32, 1 thread, thread CPU time, bench/env_ab.py --var
// TFJS_INFER_BF16_HALF_PANEL --values 0,1, medians of 6 fresh processes, EPYC
// family 25 model 17, load ~3: 126.8 -> 124.5 ms (0.982x), outputs equal.
// Intel and Zen 5 (one 512-bit op costs one 256-bit op): unmeasured, 0.
constexpr int64_t kZen4Bf16HalfPanel = 1;
// GemmBlocking::bf16_mem_broadcast: 1 on AMD family 0x19. The A word as
// vdpbf16ps's embedded-broadcast memory operand, not a vpbroadcastd per row
// and k pair: the tiles of few panels (12 rows x 1 or 2 panels: a broadcast
// for every one or two vdpbf16ps) gain most. bench/bf16_mem_broadcast.py
// (kernel alone, bf16, relu6, 1 thread, thread CPU time, interleaved, medians
// of 15 and of 21 rounds, EPYC family 25 model 17 (Zen 4), load ~3.3):
// 1536x32x16 0.88-0.91x its time, 784x96x24 0.96-0.98x, 784x144x32 0.97x,
// 1536x27x32 0.96-1.02x, 1536x16x96 0.97-0.99x, 784x24x144 0.99-1.01x,
// 196x64x384 0.97-1.00x; bench/env_ab.py --var TFJS_INFER_BF16_MEM_BROADCAST
// --values 0,1 --threads 1 --batch 32 --precision bf16 --rounds 6 (load 4-5):
// MobileNetV2 0.982x and 0.978x, ResNet50 0.993x (4 rounds), outputs equal.
// Intel and Zen 5: unmeasured, 0.
constexpr int64_t kZen4Bf16MemBroadcast = 1;
// GemmBlocking::bf16_amx: 1 wherever cpu_features() grants AMX-BF16 (as
// int8_amx: the running CPU and OS, not the recorded cpuid): tdpbf16ps ran
// 1532 G MAC/s on one core of a Xeon family 6 model 167 (KVM, 2 vCPUs;
// bench/isa_probe.py), 14.7x vfmadd231ps zmm, where vdpbf16ps runs at 0.50x
// the FMA. bench/precision.py --models resnet50,mobilenet_v2 --batch 32
// --speed-only --precisions fp32,bf16 --no-ort, 1 thread, thread CPU time,
// interleaved, medians of 5 (load 3.4-4.4): ResNet50 bf16 3.08-3.29x fp32's
// throughput (two runs), MobileNetV2 2.11-2.18x; on vdpbf16ps 0.6-0.7x.
// Not the same bits as vdpbf16ps (kernels/x86/gemm_bf16_amxbf16.cpp).
// GemmBlocking::fixed_k: 1 on AMD family 0x19. Thin products (k = 16, 24,
// 32) spend much of a tile outside its FMAs: with k a run-time value the
// 12-row tiles keep a pointer per A row and spill them (a vmovq back per row
// and k step); the tile compiled for its k reads every A value at a constant
// offset from one pointer, its k loop unrolled. bench/gemm_fixed_k.py (relu6,
// 1 thread, thread CPU time, interleaved, medians of 11 rounds, EPYC family
// 25 model 17 (Zen 4), load ~3): 1904x32x16 0.80x its time, 12544x16x96
// 0.85x, 896-1008x16x96 0.95-0.97x, 392-504x24x144 0.95-0.97x, 364x32x192
// 1.02x; bench/op_profile_ab.py (6 rounds, load ~4): MobileNetV2 batch 1's
// stem chain 0.955x, blocks 1-3 0.97-0.98x, the model's ops 0.994x.
// It switches the AVX512-BF16 GEMM's fixed-k tiles too (with the memory
// broadcast; x86/lowp_x86.h lowp_tiles_fixed_k): bench/gemm_fixed_k.py
// --precision bf16 --rounds 41 (load 5.5): 1904x32x16 0.81-0.82x,
// 1008x16x96 0.81-0.87x, 504x24x144 0.89-0.91x, 364x32x192 0.91x,
// 12544x16x96 0.82-0.85x; bench/env_ab.py --var TFJS_INFER_BF16_FIXED_K
// --values 0,1 --models mobilenet_v2 --threads 1 --batch 32 --precision bf16
// (load 4-5): 0.918x (8 rounds), 0.995x (8, noisy), 0.958x (10 rounds, on
// faster in 9 of 10), outputs equal.
// Intel: 0. On a Xeon with AMX (family 6 model 167 as its KVM guest reports
// it), 6-row tiles (the fixed-k tiles exist for those only), the kernel alone
// gains (bench/gemm_fixed_k.py --rounds 11, load ~5.7: 1904x32x16 0.93x,
// 896-1008x16x96 0.96-0.97x, 392-504x24x144 0.98-0.99x, 364x32x192 1.00x,
// 12544x16x96 0.90x) but the model does not: bench/env_ab.py --var
// TFJS_INFER_GEMM_TILE_ROWS+TFJS_INFER_GEMM_FIXED_K --values 6+0,6+1 --models
// mobilenet_v2 --batch 1, 1 thread: 1.047x (6 rounds, load 5-6) and 0.996x
// (8 rounds, load 6-9). Zen 5: unmeasured, 0.
constexpr int64_t kZen4FixedK = 1;
// GemmBlocking::f32_huge_page_bytes: 1 (every fp32 packed weight) on AMD
// family 0x19. Buffers of 2 MiB and more were on huge pages already
// (core/tensor.cpp); MobileNetV2's 7x7 stage reads 0.3-1.6 MB of weights per
// product, from beyond L2 on every call, on 4 KiB pages: a TLB miss and a
// stop for the hardware prefetchers every 4 KiB. In the huge-page regions
// (core/huge_pages.h, where int8 weights go) the model's 14 MB of weights
// take 7 pages. EPYC family 25 model 17, 1 thread, thread CPU time,
// bench/env_ab.py --var TFJS_INFER_F32_HUGE_PAGES --values 0,1 --models
// mobilenet_v2 --batch 1 --rounds 10: 0.979x (load ~5) and 0.959x (load ~2);
// its 7x7 products 0.92-0.98x (bench/op_profile_ab.py); batch 32 0.962x;
// ResNet50, the MLP, the MNIST CNN 0.99-1.01x (noise). More in the README
// (issue 15ga). Intel too: a Xeon with AMX (family 6, model 167 as its KVM
// guest reports it; 48 KiB L1D, 2 MiB L2), 1 thread, thread CPU time,
// bench/env_ab.py --var TFJS_INFER_F32_HUGE_PAGES --values 0,1 --models
// mobilenet_v2,resnet50 --batch 1 --rounds 6 (load 5-6): MobileNetV2 0.955x,
// ResNet50 0.994x, outputs equal. Zen 5: unmeasured, 0.
constexpr int64_t kF32HugePageBytes = 1;
// GemmBlocking::bf16_huge_page_bytes: the same for bf16 packed weights (half
// the bytes of fp32). EPYC family 25 model 17, 1 thread, thread CPU time,
// bench/env_ab.py --var TFJS_INFER_BF16_HUGE_PAGES --values 0,1 --precision
// bf16 (load ~1): MobileNetV2 batch 1 0.986x (10 rounds), ResNet50 batch 1
// 0.999x; batch 32, where each weight serves 32 images, 0.997x (12 rounds,
// quiet host), 1.007x and 0.959x (load 1-2, noisy), ResNet50 0.972x (5
// rounds): a small gain at batch 1, no loss. Intel and Zen 5: unmeasured, 0.
constexpr int64_t kZen4Bf16HugePageBytes = 1;
GemmBlocking& blocking_in_effect() {
  static GemmBlocking blocking = cpu_params().gemm;
  return blocking;
}

}  // namespace

bool is_amd_zen4(const CpuTopology& t) { return t.vendor == "AuthenticAMD" && t.family == 0x19; }

GemmBlocking derive_gemm_blocking(const CpuTopology& t) {
  const int64_t l1d = t.l1d_bytes > 0 ? t.l1d_bytes : kDefaultL1d;
  const int64_t l2 = t.l2_per_core() > 0 ? t.l2_per_core() : kDefaultL2;
  GemmBlocking b;
  // Half the core's L2 for the packed B block the row tiles sweep (the other
  // half holds the A rows and C tiles passing through), at most kMaxL2Block.
  b.l2_block_bytes = std::clamp<int64_t>(l2 / 2, 64 << 10, kMaxL2Block);
  // A tile's rows over one k block (kTileRows x k_block floats) fill L1D, so
  // they stay there while the tile streams the B panels past them.
  b.k_block = std::clamp<int64_t>(round_down(l1d / (kTileRows * 4), 16), 256, 16384);
  // A row chunk's partial sums over the narrowest column block fill L1D.
  b.row_chunk = std::clamp<int64_t>(round_down(l1d / (kMinBlockCols * 4), 12), 48, 1536);
  b.prefetch_rows = kPrefetchRows;
  b.next_prefetch = 1;
  // Thin k: a column block's panels in half of L1D, the other half for the
  // A rows and C tiles passing through.
  b.l1_block_bytes = l1d / 2;
  b.gemv_prefetch_rows = is_amd_zen4(t) ? 0 : kGemvPrefetchRows;
  b.res_prefetch = is_amd_zen4(t) ? kZen4ResPrefetch : 0;
  b.int8_k_block_words = is_amd_zen4(t) ? 0 : kInt8KBlockWords;
  b.int8_amx = cpu_features().amx_int8 ? 1 : 0;
  b.bf16_amx = cpu_features().amx_bf16 ? 1 : 0;
  b.int8_huge_page_bytes = is_amd_zen4(t) ? kZen4Int8HugePageBytes : 0;
  b.f32_huge_page_bytes = is_amd_zen4(t) || t.vendor == "GenuineIntel" ? kF32HugePageBytes : 0;
  b.bf16_huge_page_bytes = is_amd_zen4(t) ? kZen4Bf16HugePageBytes : 0;
  b.narrow_tail = is_amd_zen4(t) ? kZen4NarrowTail : 0;
  b.bf16_half_panel = is_amd_zen4(t) ? kZen4Bf16HalfPanel : 0;
  b.bf16_mem_broadcast = is_amd_zen4(t) ? kZen4Bf16MemBroadcast : 0;
  b.fixed_k = is_amd_zen4(t) ? kZen4FixedK : 0;
  return b;
}

const std::vector<std::string>& cpu_param_variables() {
  static const std::vector<std::string> names = {"TFJS_INFER_L1D_BYTES",
                                                 "TFJS_INFER_L2_BYTES",
                                                 "TFJS_INFER_L3_BYTES",
                                                 "TFJS_INFER_GEMM_L2_BLOCK",
                                                 "TFJS_INFER_GEMM_K_BLOCK",
                                                 "TFJS_INFER_GEMM_ROW_CHUNK",
                                                 "TFJS_INFER_GEMM_PREFETCH_ROWS",
                                                 "TFJS_INFER_GEMM_PANEL_GROUP",
                                                 "TFJS_INFER_GEMM_TILE_ROWS",
                                                 "TFJS_INFER_GEMM_NEXT_PREFETCH",
                                                 "TFJS_INFER_GEMM_L1_BLOCK",
                                                 "TFJS_INFER_GEMM_GEMV_PREFETCH",
                                                 "TFJS_INFER_GEMM_RES_PREFETCH",
                                                 "TFJS_INFER_INT8_K_BLOCK",
                                                 "TFJS_INFER_GEMM_NARROW_TAIL",
                                                 "TFJS_INFER_BF16_HALF_PANEL",
                                                 "TFJS_INFER_BF16_MEM_BROADCAST",
                                                 "TFJS_INFER_INT8_HUGE_PAGES",
                                                 "TFJS_INFER_GEMM_FIXED_K",
                                                 "TFJS_INFER_F32_HUGE_PAGES",
                                                 "TFJS_INFER_BF16_HUGE_PAGES",
                                                 "TFJS_INFER_INT8_AMX",
                                                 "TFJS_INFER_BF16_AMX"};
  return names;
}

CpuParams derive_cpu_params(const CpuTopology& topology,
                            const std::map<std::string, std::string>& env) {
  CpuParams p;
  p.topology = topology;
  CpuTopology& t = p.topology;
  apply_override(env, "TFJS_INFER_L1D_BYTES", &t.l1d_bytes, p);
  int64_t l2 = t.l2_bytes;
  apply_override(env, "TFJS_INFER_L2_BYTES", &l2, p);
  if (l2 != t.l2_bytes) {  // a forced L2 size is the size of one core's L2
    t.l2_bytes = l2;
    t.l2_shared_by = 0;
  }
  apply_override(env, "TFJS_INFER_L3_BYTES", &t.l3_bytes, p);
  p.derived = derive_gemm_blocking(t);
  p.lowp_slice_bytes = derive_lowp_slice_bytes(t);
  p.int8_slice_bytes = derive_int8_slice_bytes(t);
  p.gemm = p.derived;
  apply_override(env, "TFJS_INFER_GEMM_L2_BLOCK", &p.gemm.l2_block_bytes, p);
  apply_override(env, "TFJS_INFER_GEMM_K_BLOCK", &p.gemm.k_block, p);
  apply_override(env, "TFJS_INFER_GEMM_ROW_CHUNK", &p.gemm.row_chunk, p);
  apply_override(env, "TFJS_INFER_GEMM_PREFETCH_ROWS", &p.gemm.prefetch_rows, p);
  apply_override(env, "TFJS_INFER_GEMM_NEXT_PREFETCH", &p.gemm.next_prefetch, p);
  apply_override(env, "TFJS_INFER_GEMM_L1_BLOCK", &p.gemm.l1_block_bytes, p);
  apply_override(env, "TFJS_INFER_GEMM_GEMV_PREFETCH", &p.gemm.gemv_prefetch_rows, p);
  apply_override(env, "TFJS_INFER_GEMM_RES_PREFETCH", &p.gemm.res_prefetch, p);
  apply_override(env, "TFJS_INFER_INT8_K_BLOCK", &p.gemm.int8_k_block_words, p);
  apply_override(env, "TFJS_INFER_INT8_AMX", &p.gemm.int8_amx, p);
  apply_override(env, "TFJS_INFER_INT8_HUGE_PAGES", &p.gemm.int8_huge_page_bytes, p);
  apply_override(env, "TFJS_INFER_F32_HUGE_PAGES", &p.gemm.f32_huge_page_bytes, p);
  apply_override(env, "TFJS_INFER_BF16_HUGE_PAGES", &p.gemm.bf16_huge_page_bytes, p);
  apply_override(env, "TFJS_INFER_GEMM_NARROW_TAIL", &p.gemm.narrow_tail, p);
  apply_override(env, "TFJS_INFER_BF16_HALF_PANEL", &p.gemm.bf16_half_panel, p);
  apply_override(env, "TFJS_INFER_BF16_MEM_BROADCAST", &p.gemm.bf16_mem_broadcast, p);
  apply_override(env, "TFJS_INFER_BF16_AMX", &p.gemm.bf16_amx, p);
  apply_override(env, "TFJS_INFER_GEMM_FIXED_K", &p.gemm.fixed_k, p);
  p.panel_group =
      t.vendor == "GenuineIntel" || is_amd_zen4(t) ? kGroupOf2PanelGroup : kDefaultPanelGroup;
  int64_t group = p.panel_group;
  apply_override(env, "TFJS_INFER_GEMM_PANEL_GROUP", &group, p);
  if (group == 2 || group == 4) {
    p.panel_group = group;
  } else {  // the kernels have these two layouts only
    p.overrides.pop_back();
    p.ignored.push_back("TFJS_INFER_GEMM_PANEL_GROUP=" + env.at("TFJS_INFER_GEMM_PANEL_GROUP"));
  }
  p.tile_rows = kAvx512TileRows;
  int64_t rows = p.tile_rows;
  apply_override(env, "TFJS_INFER_GEMM_TILE_ROWS", &rows, p);
  if (rows == 6 || rows == 7) {
    p.tile_rows = rows;
  } else {  // the kernels have these two tile shapes only
    p.overrides.pop_back();
    p.ignored.push_back("TFJS_INFER_GEMM_TILE_ROWS=" + env.at("TFJS_INFER_GEMM_TILE_ROWS"));
  }
  return p;
}

const CpuParams& cpu_params() {
  static const CpuParams params = [] {
    std::map<std::string, std::string> env;
    for (const std::string& name : cpu_param_variables()) {
      const char* v = std::getenv(name.c_str());
      if (v) env[name] = v;
    }
    return derive_cpu_params(cpu_topology(), env);
  }();
  return params;
}

void set_gemm_blocking(const GemmBlocking& blocking) { blocking_in_effect() = blocking; }

const GemmBlocking& gemm_blocking() { return blocking_in_effect(); }

namespace {
int64_t& tile_rows_in_effect() {
  static int64_t rows = cpu_params().tile_rows;
  return rows;
}
}  // namespace

int64_t gemm_tile_rows() { return tile_rows_in_effect(); }

void set_gemm_tile_rows(int64_t rows) { tile_rows_in_effect() = rows == 6 ? 6 : 7; }

int64_t gemm_panel_group() {
  static const int64_t group = cpu_params().panel_group;
  return group;
}

}  // namespace tfjs_infer
