#include "compile/arena_fit.h"

#include <algorithm>

namespace tfjs_infer {

// Lowest offset where `bytes` fit between the live blocks (sorted by offset).
size_t first_fit(const std::vector<Live>& live, size_t bytes) {
  size_t offset = 0;
  for (const Live& b : live) {
    if (offset + bytes <= b.offset) break;
    offset = std::max(offset, b.offset + b.bytes);
  }
  return offset;
}

// Whether [offset, offset + bytes) is inside `limit` and clear of every live block.
bool fits_in_gap(const std::vector<Live>& live, size_t offset, size_t bytes, size_t limit) {
  if (offset + bytes > limit) return false;
  for (const Live& b : live)
    if (offset < b.offset + b.bytes && b.offset < offset + bytes) return false;
  return true;
}

// How recently [offset, offset + bytes)'s lines were touched: the touch times
// weighted by the bytes they cover; bytes never touched count as time -1.
double touch_score(const std::vector<Touch>& touched, size_t offset, size_t bytes) {
  double sum = 0;
  size_t covered = 0;
  for (const Touch& t : touched) {
    const size_t lo = std::max(offset, t.offset);
    const size_t hi = std::min(offset + bytes, t.offset + t.bytes);
    if (lo >= hi) continue;
    sum += static_cast<double>(hi - lo) * t.time;
    covered += hi - lo;
  }
  return (sum - static_cast<double>(bytes - covered)) / static_cast<double>(bytes);
}

// Records that ops up to `time` touched [offset, offset + bytes): older spans
// it overlaps keep only their parts outside it.
void mark_touched(std::vector<Touch>& touched, size_t offset, size_t bytes, int time) {
  std::vector<Touch> kept;
  const size_t end = offset + bytes;
  for (const Touch& t : touched) {
    const size_t t_end = t.offset + t.bytes;
    if (t_end <= offset || end <= t.offset) {
      kept.push_back(t);
      continue;
    }
    if (t.offset < offset) kept.push_back({t.offset, offset - t.offset, t.time});
    if (end < t_end) kept.push_back({end, t_end - end, t.time});
  }
  kept.push_back({offset, bytes, time});
  touched.swap(kept);
}

// TFJS_INFER_PLAN_RECENT=1: the offset whose lines were touched most recently
// (starting or ending at a freed span) among those clear of the live blocks
// and within `limit` (the arena first fit would need at this point, so the
// arena grows no further than first fit's at each step); ties and no
// candidate: first fit. An experiment, off: on AMD EPYC Zen 4 (family 25
// model 17, 1 MiB L2, 32 MiB L3), 1 thread, thread CPU time, bench/env_ab.py
// --var TFJS_INFER_PLAN_RECENT --values 0,1 --rounds 6 --seconds 2, it
// measured flat in fp32 (batch 1: 0.993-1.001x, batch 32: 0.996-1.005x on
// MobileNetV2, ResNet50, the MNIST CNN, the text CNN) and slower at batch 32
// in bf16 (ResNet50 1.015x, 1.026x; MobileNetV2 1.015x, 1.009x) and int8
// (ResNet50 0.996x, 1.013x; MobileNetV2 1.015x, 1.005x), with the same arena
// sizes on those models: first fit's low offsets keep the slices' working
// set compact.
size_t recent_fit(const std::vector<Live>& live, const std::vector<Touch>& touched, size_t bytes,
                  size_t limit) {
  size_t best = first_fit(live, bytes);
  double best_score = touch_score(touched, best, bytes);
  auto consider = [&](size_t offset) {
    if (!fits_in_gap(live, offset, bytes, limit)) return;
    const double score = touch_score(touched, offset, bytes);
    if (score > best_score || (score == best_score && offset < best)) {
      best = offset;
      best_score = score;
    }
  };
  for (const Touch& t : touched) {
    consider(t.offset);
    if (t.offset + t.bytes >= bytes) consider(t.offset + t.bytes - bytes);
  }
  return best;
}

}  // namespace tfjs_infer
