// Parallel loops for ops. Work is split into whole tasks (row blocks, column
// panels); a reduction is never split, so results do not depend on the thread
// count.
#pragma once

#include <cstdint>

#ifdef _OPENMP
#include <omp.h>
#endif

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

// Calls fn(task) for task in [0, tasks), on up to `threads` threads.
// fn must not throw (validation happens before run()).
template <typename Fn>
void parallel_for(int64_t tasks, int threads, Fn&& fn) {
#ifdef _OPENMP
  if (threads > 1 && tasks > 1) {
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t t = 0; t < tasks; ++t) fn(t);
    return;
  }
#endif
  (void)threads;
  for (int64_t t = 0; t < tasks; ++t) fn(t);
}

inline bool openmp_enabled() {
#ifdef _OPENMP
  return true;
#else
  return false;
#endif
}

inline int default_num_threads() {
#ifdef _OPENMP
  return omp_get_num_procs();
#else
  return 1;
#endif
}

}  // namespace tfjs_infer
