// The batch-1 step of a fused recurrent cell cut by units for two threads
// (recurrent.cpp's "rnn" op, run_row_parts): the weights' parts (UnitParts)
// and the per-step hand-off between the two threads (StepHandoff).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "core/threading.h"
#include "kernels/kernels.h"

namespace tfjs_infer {

// Parts by units of a batch-1 fused step (UnitParts), cut at multiples of 16
// units (whole vectors on every ISA); two, for the two threads that share them
// (StepHandoff).
constexpr int kUnitParts = 2;
constexpr int64_t kUnitPartAlign = 16;

// Floating-point operations of one fused step below which a batch-1 row stays
// on one thread: each step hands the state over between the threads, which
// cost 0.2-1.2 us a step on the 2-vCPU AMD EPYC (Zen 4) VM (load 6-7, calls
// in which both threads held their cores, LSTMs of 50 steps, FxU: 1-thread
// thread CPU time against the 2-thread wall time): 24x96 (92160 a step) 91.7
// against 105.1 us, 20x80 (64000) 76.6 / 83.8, 32x128 (163840) 156.7 / 88-126.
constexpr int64_t kMinSplitStepWork = int64_t{1} << 17;

// The fused step's [W; U] (k rows, gates x units columns) cut by units for one
// row: part p holds the columns of units [j[p], j[p+1]) of every gate, gate
// after gate, packed for the one-row GEMV on its own, so its product lands as
// the gate kernel's pre-activations for those units and its gate math needs no
// other part. Each column is the same dot product as in the whole GEMV, and
// each unit the same gate lanes: a row's bits do not depend on the parts.
// At batch 1 two threads each take one part of every step, one core's L2
// holding half the weights (bench/rnn_unit_parts.py); one thread keeps the
// whole GEMV: run part after part on one thread, an 8x32 LSTM (two parts of
// 64 columns, each padded to AVX-512's 128-column block) took 2.1x its time,
// 32x128 and 64x256 0.99-1.01x (EPYC Zen 4); four parts of 32 units in turn
// (one part's gate math beside the next part's GEMV, out of order) 1.01x on
// the bench LSTM (bench/rnn_unit_parts.py with the split forced, then undone).
// The parts are a second copy of [W; U] (F + u) x 4u floats.
struct UnitParts {
  int count = 0;  // 0: not cut (units too few)
  int64_t j[kUnitParts + 1] = {};
  size_t off[kUnitParts] = {};  // part p's packed floats start
  Buffer<float> packed;
  Buffer<float> bias;  // gates x units, in the parts' column order

  void pack(const KernelTable& k, const float* wu, const float* b, int64_t rows, int gates,
            int64_t units) {
    if (units < kUnitParts * kUnitPartAlign || 2 * rows * gates * units < kMinSplitStepWork) return;
    count = kUnitParts;
    for (int p = 0; p <= count; ++p) j[p] = units * p / count / kUnitPartAlign * kUnitPartAlign;
    j[count] = units;
    size_t total = 0;
    for (int p = 0; p < count; ++p) {
      off[p] = total;
      total += k.rnn_gemv_packed_size(rows, gates * (j[p + 1] - j[p]));
    }
    packed.reset(total);
    if (b) bias.reset(static_cast<size_t>(gates * units));
    std::vector<float> part;
    for (int p = 0; p < count; ++p) {
      const int64_t w = j[p + 1] - j[p], cols = gates * w;
      part.assign(static_cast<size_t>(rows * cols), 0.0f);
      for (int64_t r = 0; r < rows; ++r)
        for (int g = 0; g < gates; ++g)
          std::copy_n(wu + r * gates * units + g * units + j[p], w, part.data() + r * cols + g * w);
      k.rnn_gemv_pack(part.data(), rows, cols, packed.data() + off[p]);
      if (b)
        for (int g = 0; g < gates; ++g)
          std::copy_n(b + g * units + j[p], w, bias.data() + gates * j[p] + g * w);
    }
  }
};

// The two parts of every step of one row, on two participants: the first to
// arrive leads and computes every step's part 0; part 1 goes to the other from
// the step at which it arrives (one exchange on part1_) and to the leader
// before that, so a late worker never delays the call. Each part of step s
// waits for both parts of step s - 1 (each reads the whole state); in steady
// state a step costs two one-writer progress flags, no read-modify-write.
class StepHandoff {
 public:
  template <class Fn>
  void run(int64_t steps, Fn&& part) {
    if (arrivals_.fetch_add(1, std::memory_order_relaxed) == 0) {
      lead(steps, part);
    } else {
      follow(steps, part);
    }
  }

 private:
  static constexpr int64_t kFollowerOwns = int64_t{1} << 62;

  template <class Fn>
  void lead(int64_t steps, Fn& part) {
    for (int64_t s = 0; s < steps; ++s) {
      spin_until_at_least(done_[1].v, s);
      part(s, 0);
      done_[0].v.store(s + 1, std::memory_order_release);
      int64_t mine = s;  // part 1 of step s, unless the follower owns it
      if (part1_.load(std::memory_order_relaxed) == s &&
          part1_.compare_exchange_strong(mine, s + 1, std::memory_order_acq_rel)) {
        part(s, 1);
        done_[1].v.store(s + 1, std::memory_order_release);
      }
    }
    spin_until_at_least(done_[1].v, steps);
  }

  template <class Fn>
  void follow(int64_t steps, Fn& part) {
    for (int64_t s = part1_.exchange(kFollowerOwns, std::memory_order_acq_rel); s < steps; ++s) {
      spin_until_at_least(done_[0].v, s);
      spin_until_at_least(done_[1].v, s);
      part(s, 1);
      done_[1].v.store(s + 1, std::memory_order_release);
    }
  }

  alignas(64) std::atomic<int64_t> arrivals_{0};
  alignas(64) std::atomic<int64_t> part1_{0};  // the next step part 1 of which the leader may take
  struct alignas(64) Progress {
    std::atomic<int64_t> v{0};  // steps done of one part
  };
  Progress done_[2];
};

}  // namespace tfjs_infer
