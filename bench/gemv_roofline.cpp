// The floor of a batch-1 dense chain whose weights stream from L3: one core
// reading buffers of the chain's sizes (the MLP 784-512-512-10: 784x512,
// 512x512 and 512x32 floats, packed) over and over, as the engine does once
// per call. Built and run by bench/gemv_roofline.py:
//   g++ -O2 -std=c++17 -mavx512f gemv_roofline.cpp -o gemv_roofline
//   ./gemv_roofline ROUNDS PASSES BYTES[,BYTES...] [cold]
// Candidates (taking turns every round, thread CPU time, medians):
//   4k      each buffer on its own 64-byte aligned 4 KiB pages (MADV_NOHUGEPAGE)
//   huge    each buffer 2 MiB aligned with MADV_HUGEPAGE (transparent huge pages)
//   nta1    4k, the first buffer read behind prefetchnta (does the rest stay in L2?)
//   nta1h   the same on huge pages
//   sN      4k, each buffer read as N parts side by side, 256 bytes from each
//           in turn (the GEMV tiles' pattern: N = 2 x the groups a tile spans)
//   s4h     s4 on huge pages
//   l2      one buffer of 512 KiB (the L2 rate)
// Each pass reads every byte once with 64-byte loads into 8 accumulators,
// which is all the memory traffic the GEMV has (its FMAs hide under it).
#include <immintrin.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

namespace {

double thread_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

constexpr size_t kHuge = size_t{2} << 20;

float* alloc(size_t bytes, bool huge) {
  const size_t align = huge ? kHuge : 4096;
  const size_t size = (bytes + align - 1) / align * align;
  void* p = std::aligned_alloc(align, size);
  if (!p) std::exit(1);
  madvise(p, size, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
  std::memset(p, 1, size);
  return static_cast<float*>(p);
}

__attribute__((noinline)) float read_stream(const float* p, size_t bytes, bool nta) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  const float* end = p + bytes / 4;
  for (; p + 128 <= end; p += 128) {
    if (nta) {
      for (int i = 0; i < 8; ++i)
        _mm_prefetch(reinterpret_cast<const char*>(p + 512 + 16 * i), _MM_HINT_NTA);
    }
    a0 = _mm512_add_ps(a0, _mm512_load_ps(p));
    a1 = _mm512_add_ps(a1, _mm512_load_ps(p + 16));
    a2 = _mm512_add_ps(a2, _mm512_load_ps(p + 32));
    a3 = _mm512_add_ps(a3, _mm512_load_ps(p + 48));
    a4 = _mm512_add_ps(a4, _mm512_load_ps(p + 64));
    a5 = _mm512_add_ps(a5, _mm512_load_ps(p + 80));
    a6 = _mm512_add_ps(a6, _mm512_load_ps(p + 96));
    a7 = _mm512_add_ps(a7, _mm512_load_ps(p + 112));
  }
  a0 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                     _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
  return _mm512_reduce_add_ps(a0);
}

// The GEMV's access pattern: `streams` equal parts of the buffer read side by
// side, 256 bytes (a two-panel group's k row) from each part in turn.
__attribute__((noinline)) float read_streams(const float* p, size_t bytes, int streams) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  const size_t part = bytes / 4 / streams / 64 * 64;  // floats per part, whole 256-byte rows
  for (size_t r = 0; r < part; r += 64) {
    for (int s = 0; s < streams; ++s) {
      const float* q = p + s * part + r;
      a0 = _mm512_add_ps(a0, _mm512_load_ps(q));
      a1 = _mm512_add_ps(a1, _mm512_load_ps(q + 16));
      a2 = _mm512_add_ps(a2, _mm512_load_ps(q + 32));
      a3 = _mm512_add_ps(a3, _mm512_load_ps(q + 48));
    }
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

long anon_huge_kib() {
  FILE* f = std::fopen("/proc/self/smaps_rollup", "r");
  if (!f) return -1;
  char line[256];
  long kib = -1;
  while (std::fgets(line, sizeof line, f))
    if (std::sscanf(line, "AnonHugePages: %ld kB", &kib) == 1) break;
  std::fclose(f);
  return kib;
}

struct Candidate {
  std::string name;
  std::vector<float*> bufs;
  std::vector<size_t> bytes;
  bool nta_first = false;
  int streams = 0;  // > 0: read_streams with this many parts
  std::vector<double> samples;
};

volatile float sink;

// Cold mode: a 64 MiB buffer read before every pass pushes the weights out of
// L3 (the 32 MiB L3 of an EPYC Genoa CCD), as a model's other layers do.
const float* g_flush = nullptr;
constexpr size_t kFlushBytes = size_t{64} << 20;

double run_passes(Candidate& c, int passes) {
  float s = 0;
  double total = 0;
  for (int i = 0; i < passes; ++i) {
    if (g_flush) s += read_stream(g_flush, kFlushBytes, false);
    const double t0 = thread_seconds();
    for (size_t b = 0; b < c.bufs.size(); ++b)
      s += c.streams ? read_streams(c.bufs[b], c.bytes[b], c.streams)
                     : read_stream(c.bufs[b], c.bytes[b], c.nta_first && b == 0);
    total += thread_seconds() - t0;
  }
  sink = s;
  return total / passes;
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 15;
  const int passes = argc > 2 ? std::atoi(argv[2]) : 400;
  std::vector<size_t> sizes;
  std::string list = argc > 3 ? argv[3] : "1605632,1048576,65536";
  for (size_t pos = 0; pos < list.size();) {
    const size_t comma = list.find(',', pos);
    sizes.push_back(std::stoull(list.substr(pos, comma - pos)) / 512 * 512);
    pos = comma == std::string::npos ? list.size() : comma + 1;
  }
  if (argc > 4 && std::string(argv[4]) == "cold") g_flush = alloc(kFlushBytes, false);
  std::vector<Candidate> cands;
  const long huge0 = anon_huge_kib();
  for (const char* name : {"4k", "huge", "nta1", "nta1h", "s1", "s2", "s4", "s8", "s4h"}) {
    Candidate c;
    c.name = name;
    const bool huge = c.name == "huge" || c.name == "nta1h" || c.name == "s4h";
    c.nta_first = c.name.rfind("nta", 0) == 0;
    if (c.name[0] == 's') c.streams = c.name[1] - '0';
    for (size_t s : sizes) {
      c.bufs.push_back(alloc(s, huge));
      c.bytes.push_back(s);
    }
    cands.push_back(c);
  }
  std::printf("huge pages given to the buffers: %ld KiB\n", anon_huge_kib() - huge0);
  Candidate l2;
  l2.name = "l2";
  l2.bufs.push_back(alloc(512 << 10, false));
  l2.bytes.push_back(512 << 10);
  cands.push_back(l2);
  for (int r = 0; r < rounds; ++r) {
    for (size_t i = 0; i < cands.size(); ++i) {
      Candidate& c = cands[r % 2 ? cands.size() - 1 - i : i];
      run_passes(c, 20);  // warm: this candidate's buffers in the caches it leaves them in
      c.samples.push_back(run_passes(c, passes));
    }
  }
  std::printf("%-6s %10s %10s %8s\n", "", "us/pass", "GB/s", "bytes");
  for (Candidate& c : cands) {
    std::sort(c.samples.begin(), c.samples.end());
    const double med = c.samples[c.samples.size() / 2];
    size_t bytes = 0;
    for (size_t b : c.bytes) bytes += b;
    std::printf("%-6s %10.2f %10.1f %8zu\n", c.name.c_str(), med * 1e6, bytes / med * 1e-9, bytes);
  }
  return 0;
}
