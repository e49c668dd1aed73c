// Parallel loops for ops, on tfjs_infer's own thread pool (threading.cpp).
//
// Work is split into whole tasks (row blocks, column panels); a reduction is
// never split, and each task computes the same outputs whichever thread runs
// it, so results do not depend on the thread count or on the schedule.
//
// Why not OpenMP: libgomp's workers spin for a long time and then sleep in a
// way that makes the first parallel region after ~20 ms of idle cost several
// milliseconds on virtual machines, and a spinning waiter starves the worker
// it waits for when the cores are shared. This pool spins briefly, sleeps on a
// futex, and lets the calling thread claim every task a late worker has not
// started yet, so a slow wake-up never makes a call slower than one thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <type_traits>
#include <vector>

namespace tfjs_infer {

// Below this many floating-point operations a loop stays on one thread: waking
// a second core costs more than it saves.
constexpr int64_t kMinWorkPerThread = 1 << 17;

inline int threads_for(int max_threads, int64_t total_work, int64_t tasks) {
  int64_t t = total_work / kMinWorkPerThread;
  if (t > max_threads) t = max_threads;
  if (t > tasks) t = tasks;
  return t < 1 ? 1 : static_cast<int>(t);
}

namespace detail {
using TaskFn = void (*)(void* ctx, int64_t task, int worker);
// Runs fn(ctx, t, worker) for t in [0, tasks) on up to `threads` threads;
// own_runs: each participant first takes its own equal run of the tasks.
void run_parallel(int64_t tasks, int threads, TaskFn fn, void* ctx, bool own_runs = false);

// fn(task, worker) through run_parallel, inline on this thread where there is
// one thread or one task (worker 0).
template <typename Fn>
void run_fn(int64_t tasks, int threads, Fn& fn, bool own_runs) {
  if (threads <= 1 || tasks <= 1) {
    for (int64_t t = 0; t < tasks; ++t) fn(t, 0);
    return;
  }
  using F = std::remove_reference_t<Fn>;
  run_parallel(
      tasks, threads, [](void* ctx, int64_t t, int worker) { (*static_cast<F*>(ctx))(t, worker); },
      const_cast<void*>(static_cast<const void*>(&fn)), own_runs);
}
}  // namespace detail

// Calls fn(task, worker) for task in [0, tasks), on up to `threads` threads;
// `worker` is in [0, threads) and no two concurrent calls share one (for
// per-thread scratch). Which worker runs which task is not fixed. fn must not
// throw (validation happens before run()).
template <typename Fn>
void parallel_for_indexed(int64_t tasks, int threads, Fn&& fn) {
  detail::run_fn(tasks, threads, fn, false);
}

// Calls fn(task) for task in [0, tasks), on up to `threads` threads.
template <typename Fn>
void parallel_for(int64_t tasks, int threads, Fn&& fn) {
  parallel_for_indexed(tasks, threads, [&fn](int64_t t, int) { fn(t); });
}

// parallel_for_owned with fn(task, worker), `worker` as in
// parallel_for_indexed (for per-thread scratch).
template <typename Fn>
void parallel_for_owned_indexed(int64_t tasks, int threads, Fn&& fn) {
  detail::run_fn(tasks, threads, fn, true);
}

// parallel_for where the caller and each worker first take their own equal
// run of the tasks, in order (the caller the first), and only then the
// others' untaken ones: from call to call the same thread computes the same
// part while every thread arrives in time (the same weight columns stay in its
// core's L2), and a late or descheduled thread still leaves its tasks to the
// others. For splits whose parts reuse per-thread cache (the GEMM splits).
template <typename Fn>
void parallel_for_owned(int64_t tasks, int threads, Fn&& fn) {
  parallel_for_owned_indexed(tasks, threads, [&fn](int64_t t, int) { fn(t); });
}

// While alive, parallel loops on this thread leave sleeping workers asleep
// (awake, spinning ones still help) when `on`. For a short call after idle:
// waking a worker costs the caller a syscall (7-20 us on VMs) and the worker
// arrives too late to take a share of a call that lasts only tens of us.
class KeepSleepersAsleep {
 public:
  explicit KeepSleepersAsleep(bool on);
  ~KeepSleepersAsleep();
  KeepSleepersAsleep(const KeepSleepersAsleep&) = delete;
  KeepSleepersAsleep& operator=(const KeepSleepersAsleep&) = delete;

 private:
  bool previous_;
};

// Busy time of each participant of one pool job (a parallel loop that ran on
// more than one thread), for bench/thread_scaling.py --trace: what a split
// would cost on idle cores, measured on a shared host (thread CPU time leaves
// out the time another process held the core).
struct PoolJobTrace {
  int64_t tasks = 0;
  int parts = 0;                 // participants (the caller + the workers asked)
  int64_t wall_ns = 0;           // the caller's time from publishing to the end
  int64_t caller_wait_ns = 0;    // of which waiting for workers' tasks
  int64_t busy_cpu_ns[4] = {};   // per participant (the caller first): thread CPU time in tasks
  int64_t busy_wall_ns[4] = {};  //   ... and wall time in tasks
  int64_t ran[4] = {};           //   ... and tasks run
};

// Starts (on) or stops recording PoolJobTrace for every job; off by default
// (when on, each task costs four clock reads).
void pool_trace(bool on);
// The jobs recorded since the last call (at most 1 << 16 are kept).
std::vector<PoolJobTrace> pool_trace_take();

// Waits until counter >= target (an acquire load): pause-spins, then yields the
// core (the thread it waits for may be queued behind this one). For the hand-off
// between the tasks of one pool job that advance in lockstep (the steps of a
// batch-1 recurrent layer split by units).
void spin_until_at_least(const std::atomic<int64_t>& counter, int64_t target);

// Starts pool workers now (at model load) so that `threads` threads can run a
// loop; never shrinks. Cheap when they already exist.
void reserve_threads(int threads);

// Workers the pool holds (for tests and build_info).
int pool_workers();

// How long an idle worker spins before it sleeps, in microseconds
// (TFJS_INFER_SPIN_US, default 200).
int pool_spin_us();

// Whether the build found OpenMP (the pool does not use it).
bool openmp_enabled();

// Cores this process may run on (its affinity mask).
int default_num_threads();

}  // namespace tfjs_infer
