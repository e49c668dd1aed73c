// Where make_plan (compile/model.cpp) places each value in a call's arena:
// first fit between the live blocks, or (TFJS_INFER_PLAN_RECENT=1) the fit
// whose lines were touched most recently.
#pragma once

#include <cstddef>
#include <vector>

namespace tfjs_infer {

// The arena plan's blocks: a live value's bytes and the op that reads it last;
// a freed span and the op that touched its lines last (its last reader).
struct Live {
  size_t offset, bytes;
  int last_use;
};
struct Touch {
  size_t offset, bytes;
  int time;
};

// Lowest offset where `bytes` fit between the live blocks (sorted by offset).
size_t first_fit(const std::vector<Live>& live, size_t bytes);
// Whether [offset, offset + bytes) is inside `limit` and clear of every live block.
bool fits_in_gap(const std::vector<Live>& live, size_t offset, size_t bytes, size_t limit);
// How recently [offset, offset + bytes)'s lines were touched: the touch times
// weighted by the bytes they cover; bytes never touched count as time -1.
double touch_score(const std::vector<Touch>& touched, size_t offset, size_t bytes);
// Records that ops up to `time` touched [offset, offset + bytes): older spans
// it overlaps keep only their parts outside it.
void mark_touched(std::vector<Touch>& touched, size_t offset, size_t bytes, int time);
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
                  size_t limit);

}  // namespace tfjs_infer
