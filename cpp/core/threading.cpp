// The thread pool behind parallel_for (see threading.h for why not OpenMP).
//
// One process-wide pool of persistent workers. A loop is a "job": the caller
// publishes it, wakes the workers it wants, then claims tasks itself until
// none are left, and finally waits only for tasks that a worker has already
// started. A worker that wakes late finds nothing to claim and goes back to
// waiting, so the call never waits for a wake-up.
//
// Tasks are claimed from runs, one per participant (the caller, then worker
// 1, 2, ...). By default the caller's run holds every task: each thread takes
// the next one. In parallel_for_owned's loops (the GEMM splits), and in every
// loop with TFJS_INFER_POOL_AFFINITY=1, every participant owns an equal run,
// in order, claims from it first, and when it is empty takes the next tasks
// of the others' runs: from one job to the next, as long as every
// thread arrives in time, the same thread runs the same share (the same
// columns of a batch-1 layer's weights, which could then stay in its core's
// cache; the same rows of an image from op to op).
//
// Idle workers spin for pool_spin_us() (the gaps between the ops of one call,
// and between calls in a busy loop, are far shorter), then sleep on a futex
// (a condition variable off Linux).
//
// One job runs at a time. A caller that finds the pool busy (another Python
// thread is predicting, or a task itself calls parallel_for) runs its loop
// inline on its own thread: concurrent calls stay correct and never deadlock.
#include "core/threading.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#include <time.h>

#if defined(__linux__)
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>
#else
#include <condition_variable>
#endif

#include "core/env_switch.h"

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#include <immintrin.h>
#define TFJS_INFER_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define TFJS_INFER_PAUSE() __asm__ __volatile__("yield")
#else
#define TFJS_INFER_PAUSE() ((void)0)
#endif

namespace tfjs_infer {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kMaxWorkers = 255;
// The ticket holds the job generation (high 32 bits) and the next unclaimed
// task (low 32 bits). A finished job's ticket is closed with kClosed so a
// worker holding a stale view of it can never claim from it.
constexpr uint64_t kClosed = 0xffffffffu;
constexpr int64_t kMaxTicketTasks = int64_t{1} << 30;
// Pause-spins (a few microseconds) before a waiting thread starts yielding.
constexpr uint32_t kPauseSpins = 256;
// A sched_yield that returns later than this gave the core to another thread.
constexpr int kBusyYieldUs = 20;

int spin_us_from_env() {
  const char* s = std::getenv("TFJS_INFER_SPIN_US");
  if (!s || !*s) return 200;
  const long v = std::strtol(s, nullptr, 10);
  return static_cast<int>(std::clamp<long>(v, 0, 1000000));
}

// TFJS_INFER_POOL_AFFINITY=1: each thread takes from its own run of tasks
// first. Off by default: on the shared 2-vCPU host it was measured at (load
// 3-4) the 2-thread batch-1 MLP took 1.06-1.14x the time of the shared run
// (noise ~5 %), so it waits for a measurement on an idle machine.
bool affinity_from_env() { return env_is("TFJS_INFER_POOL_AFFINITY", "1"); }

// A worker's mailbox: the caller stores the job generation in `seq` and wakes
// the worker if it is asleep.
enum : uint32_t { kAwake = 0, kAsleep = 1, kWaking = 2 };
struct alignas(64) Worker {
  std::atomic<uint32_t> seq{0};
  // kAsleep: in (or entering) futex wait, a caller must wake it. kWaking: a
  // caller did; later callers skip the syscall until the worker runs (a
  // halted virtual CPU can take milliseconds to come back).
  std::atomic<uint32_t> sleeping{kAwake};
#if !defined(__linux__)
  std::mutex m;
  std::condition_variable cv;
#endif
};

int current_cpu() {
#if defined(__linux__)
  return sched_getcpu();
#else
  return -1;
#endif
}

bool on_cpu(int cpu) { return cpu >= 0 && current_cpu() == cpu; }

// Moves the calling thread off `cpu` now (allowed on every other core of its
// affinity mask, which the kernel enforces by migrating it at once), then
// restores the mask; false where that is impossible.
bool move_off_cpu(int cpu) {
#if defined(__linux__)
  cpu_set_t allowed, others;
  if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0 || !CPU_ISSET(cpu, &allowed))
    return false;
  others = allowed;
  CPU_CLR(cpu, &others);
  if (CPU_COUNT(&others) == 0 || sched_setaffinity(0, sizeof(others), &others) != 0) return false;
  sched_setaffinity(0, sizeof(allowed), &allowed);
  return true;
#else
  (void)cpu;
  return false;
#endif
}

void sleep_until_changed(Worker& w, uint32_t seen) {
#if defined(__linux__)
  for (;;) {
    // (Re)arm, then re-check: the caller stores seq before it reads
    // `sleeping`, so one of the two sees the other.
    w.sleeping.store(kAsleep, std::memory_order_seq_cst);
    if (w.seq.load(std::memory_order_seq_cst) != seen) return;
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&w.seq), FUTEX_WAIT_PRIVATE, seen, nullptr,
            nullptr, 0);
  }
#else
  w.sleeping.store(kAsleep, std::memory_order_seq_cst);
  std::unique_lock<std::mutex> lock(w.m);
  w.cv.wait(lock, [&] { return w.seq.load(std::memory_order_seq_cst) != seen; });
#endif
}

void wake(Worker& w) {
#if defined(__linux__)
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&w.seq), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr,
          0);
#else
  std::lock_guard<std::mutex> lock(w.m);
  w.cv.notify_one();
#endif
}

// Job tracing (pool_trace): whether it is on, and the jobs recorded.
std::atomic<bool> g_trace{false};
std::mutex g_trace_mutex;
std::vector<PoolJobTrace> g_trace_jobs;
constexpr size_t kMaxTracedJobs = size_t{1} << 16;

int64_t now_ns(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// A participant's busy time in one traced job.
struct alignas(64) TraceSlot {
  std::atomic<int64_t> cpu_ns{0}, wall_ns{0}, ran{0};
};

// Runs one task, adding its thread CPU and wall time to `slot`.
void run_traced(detail::TaskFn fn, void* ctx, int64_t t, int who, TraceSlot& slot) {
  const int64_t c0 = now_ns(CLOCK_THREAD_CPUTIME_ID), w0 = now_ns(CLOCK_MONOTONIC);
  fn(ctx, t, who);
  slot.wall_ns.fetch_add(now_ns(CLOCK_MONOTONIC) - w0, std::memory_order_relaxed);
  slot.cpu_ns.fetch_add(now_ns(CLOCK_THREAD_CPUTIME_ID) - c0, std::memory_order_relaxed);
  slot.ran.fetch_add(1, std::memory_order_relaxed);
}

// Set on pool workers, and on a caller while its job runs: a nested
// parallel_for on such a thread runs inline.
thread_local bool tls_in_pool = false;
// Set by KeepSleepersAsleep.
thread_local bool tls_keep_asleep = false;

class Pool {
  // Per participant: the next unclaimed task of its run (job generation in
  // the high 32 bits; kClosed once the job is over) and the run's end.
  struct alignas(64) Slot {
    std::atomic<uint64_t> ticket{kClosed};
    std::atomic<int64_t> end{0};
  };

 public:
  static Pool& get() {
    // Leaked on purpose: workers outlive static destruction at exit.
    static Pool* pool = new Pool();
    return *pool;
  }

  int workers() const { return n_workers_.load(std::memory_order_acquire); }
  int spin_us() const { return spin_us_; }

  void reserve(int workers) {
    workers = std::min(workers, kMaxWorkers);
    if (n_workers_.load(std::memory_order_acquire) >= workers) return;
    std::lock_guard<std::mutex> lock(grow_);
    for (int i = n_workers_.load(std::memory_order_relaxed); i < workers; ++i) {
      Worker* w = new Worker();
      workers_[i].store(w, std::memory_order_release);
      std::thread([this, w, i] { worker_loop(*w, i + 1); }).detach();
      n_workers_.store(i + 1, std::memory_order_release);
    }
  }

  void run(int64_t tasks, int threads, detail::TaskFn fn, void* ctx, bool own_runs) {
    const int helpers = std::min<int64_t>({threads - 1, tasks - 1, workers()});
    if (helpers <= 0 || tls_in_pool || busy_.exchange(true, std::memory_order_acquire)) {
      for (int64_t t = 0; t < tasks; ++t) fn(ctx, t, 0);
      return;
    }
    tls_in_pool = true;
    const bool trace = g_trace.load(std::memory_order_relaxed);
    int64_t start_ns = 0;
    if (trace) {
      start_ns = now_ns(CLOCK_MONOTONIC);
      for (int p = 0; p <= helpers; ++p) {
        trace_[p].cpu_ns.store(0, std::memory_order_relaxed);
        trace_[p].wall_ns.store(0, std::memory_order_relaxed);
        trace_[p].ran.store(0, std::memory_order_relaxed);
      }
    }
    trace_job_.store(trace, std::memory_order_relaxed);
    uint32_t gen = ++gen_;
    if (gen == 0) gen = ++gen_;  // 0 is every worker's initial "seen" value
    // Release stores: a worker that reads any of these then knows the ticket
    // of the previous job was closed before (see claim()).
    fn_.store(fn, std::memory_order_release);
    ctx_.store(ctx, std::memory_order_release);
    done_.store(0, std::memory_order_relaxed);
    const int parts = helpers + 1;
    parts_.store(parts, std::memory_order_release);
    const bool own = affinity_ || own_runs;
    for (int p = 0; p < parts; ++p) {
      // Without own runs (parallel_for's default): the caller's run holds every task.
      const int64_t begin = own ? tasks * p / parts : (p == 0 ? 0 : tasks);
      const int64_t end = own ? tasks * (p + 1) / parts : tasks;
      Slot& slot = slots_[p];
      slot.end.store(end, std::memory_order_relaxed);
      slot.ticket.store((uint64_t{gen} << 32) | static_cast<uint64_t>(begin),
                        std::memory_order_release);
    }
    for (int i = 0; i < helpers; ++i) {
      Worker& w = *workers_[i].load(std::memory_order_acquire);
      if (tls_keep_asleep && w.sleeping.load(std::memory_order_relaxed) != kAwake) continue;
      w.seq.store(gen, std::memory_order_seq_cst);
      uint32_t state = w.sleeping.load(std::memory_order_seq_cst);
      if (state == kAsleep && w.sleeping.compare_exchange_strong(state, kWaking)) {
        caller_cpu_.store(current_cpu(), std::memory_order_relaxed);
        wake(w);
      }
    }
    int64_t mine = 0, t;
    while (claim(gen, 0, parts, &t)) {
      if (trace) {
        run_traced(fn, ctx, t, 0, trace_[0]);
      } else {
        fn(ctx, t, 0);
      }
      ++mine;
    }
    const int64_t own_end_ns = trace ? now_ns(CLOCK_MONOTONIC) : 0;
    // Only tasks a worker has started remain; wait for them. Briefly with
    // pause, then yielding: that worker may be queued behind us on this core.
    const int64_t theirs = tasks - mine;
    for (uint32_t spins = 0; done_.load(std::memory_order_acquire) != theirs; ++spins) {
      if (spins < kPauseSpins) {
        TFJS_INFER_PAUSE();
      } else {
        std::this_thread::yield();
      }
    }
    for (int p = 0; p < parts; ++p)
      slots_[p].ticket.store((uint64_t{gen} << 32) | kClosed, std::memory_order_release);
    if (trace) record(tasks, parts, start_ns, own_end_ns);
    tls_in_pool = false;
    busy_.store(false, std::memory_order_release);
  }

  // In a forked child only the forking thread exists: forget the workers
  // (leaked; their threads are gone). The next model run starts new ones
  // (CompiledModel::run calls reserve_threads); until then loops run inline.
  void after_fork_in_child() {
    n_workers_.store(0, std::memory_order_relaxed);
    busy_.store(false, std::memory_order_relaxed);
    new (&grow_) std::mutex();
    tls_in_pool = false;
  }

 private:
  Pool() : spin_us_(spin_us_from_env()), affinity_(affinity_from_env()) {
#if defined(__linux__)
    pthread_atfork(nullptr, nullptr, [] { Pool::get().after_fork_in_child(); });
#endif
  }

  // Appends the job just finished to the trace (the caller, under busy_).
  void record(int64_t tasks, int parts, int64_t start_ns, int64_t own_end_ns) {
    PoolJobTrace j;
    j.tasks = tasks;
    j.parts = parts;
    const int64_t end_ns = now_ns(CLOCK_MONOTONIC);
    j.wall_ns = end_ns - start_ns;
    j.caller_wait_ns = end_ns - own_end_ns;
    for (int p = 0; p < std::min(parts, 4); ++p) {
      j.busy_cpu_ns[p] = trace_[p].cpu_ns.load(std::memory_order_relaxed);
      j.busy_wall_ns[p] = trace_[p].wall_ns.load(std::memory_order_relaxed);
      j.ran[p] = trace_[p].ran.load(std::memory_order_relaxed);
    }
    std::lock_guard<std::mutex> lock(g_trace_mutex);
    if (g_trace_jobs.size() < kMaxTracedJobs) g_trace_jobs.push_back(j);
  }

  // Takes the next task of job `gen` for participant `me` (of `parts`): from
  // its own run, else from the others' in turn.
  bool claim(uint32_t gen, int me, int parts, int64_t* task) {
    for (int i = 0; i < parts; ++i) {
      int p = me + i;
      if (p >= parts) p -= parts;
      if (claim_from(slots_[p], gen, task)) return true;
    }
    return false;
  }

  // Takes the next task of one run if it is still open (job `gen`) and below
  // the run's end. A run's end is written before its ticket (release): a
  // ticket of job gen read here comes with gen's end or a later job's, and a
  // later job starts only after every run of gen was closed, so a claim with
  // a later end fails its compare-exchange.
  static bool claim_from(Slot& slot, uint32_t gen, int64_t* task) {
    uint64_t cur = slot.ticket.load(std::memory_order_acquire);
    for (;;) {
      if ((cur >> 32) != gen) return false;
      const int64_t next = static_cast<int64_t>(cur & 0xffffffffu);
      if (next >= slot.end.load(std::memory_order_relaxed)) return false;
      if (slot.ticket.compare_exchange_weak(cur, cur + 1, std::memory_order_acq_rel,
                                            std::memory_order_acquire)) {
        *task = next;
        return true;
      }
    }
  }

  // Waits for the next job: pause-spins for a moment, then spins yielding
  // the core (so a caller queued on it runs at once) until pool_spin_us(),
  // then sleeps.
  uint32_t wait_for_job(Worker& w, uint32_t seen) {
    for (uint32_t spins = 0; spins < kPauseSpins; ++spins) {
      const uint32_t s = w.seq.load(std::memory_order_acquire);
      if (s != seen) return s;
      TFJS_INFER_PAUSE();
    }
    const auto deadline = Clock::now() + std::chrono::microseconds(spin_us_);
    bool moved = false;
    for (;;) {
      const uint32_t s = w.seq.load(std::memory_order_acquire);
      if (s != seen) return s;
      const auto now = Clock::now();
      if (now >= deadline) break;
      std::this_thread::yield();
      // A yield that lasted this long ran someone else here: this core is
      // busy (often with the caller, which we then could never help while
      // another core idles). Move away, once per wait.
      if (!moved && Clock::now() - now > std::chrono::microseconds(kBusyYieldUs)) {
        moved = true;
        move_off_cpu(current_cpu());
      }
    }
    sleep_until_changed(w, seen);
    w.sleeping.store(kAwake, std::memory_order_relaxed);
    const uint32_t s = w.seq.load(std::memory_order_acquire);
    // Woken onto the caller's own core, this worker can only run when the
    // caller stops: it would then take its tasks one by one. Move to another
    // core (an idle one is not always chosen for us on VMs); if there is none,
    // hand this one back to the caller.
    const int caller = caller_cpu_.load(std::memory_order_relaxed);
    if (on_cpu(caller) && !move_off_cpu(caller)) std::this_thread::yield();
    return s;
  }

  void worker_loop(Worker& w, int index) {
    tls_in_pool = true;
    uint32_t seen = 0;
    for (;;) {
      const uint32_t gen = wait_for_job(w, seen);
      seen = gen;
      // These may already belong to a newer job; claim() then fails because
      // this job's ticket was closed before they were written.
      const detail::TaskFn fn = fn_.load(std::memory_order_acquire);
      void* const ctx = ctx_.load(std::memory_order_acquire);
      const int parts = parts_.load(std::memory_order_acquire);
      const bool trace = trace_job_.load(std::memory_order_relaxed);
      int64_t t;
      while (index < parts && claim(gen, index, parts, &t)) {
        if (trace) {
          run_traced(fn, ctx, t, index, trace_[index]);
        } else {
          fn(ctx, t, index);
        }
        done_.fetch_add(1, std::memory_order_release);
      }
    }
  }

  const int spin_us_;
  const bool affinity_;  // each participant's own run of tasks (TFJS_INFER_POOL_AFFINITY=1)
  std::mutex grow_;
  std::atomic<int> n_workers_{0};
  std::atomic<Worker*> workers_[kMaxWorkers] = {};

  alignas(64) std::atomic<bool> busy_{false};
  uint32_t gen_ = 0;  // written only by the caller holding busy_
  std::atomic<detail::TaskFn> fn_{nullptr};
  std::atomic<void*> ctx_{nullptr};
  std::atomic<int> parts_{0};        // participants of the current job
  std::atomic<int> caller_cpu_{-1};  // core of the last caller that woke a sleeper
  Slot slots_[kMaxWorkers + 1];
  std::atomic<bool> trace_job_{false};  // the current job is traced (pool_trace)
  TraceSlot trace_[kMaxWorkers + 1];
  alignas(64) std::atomic<int64_t> done_{0};
};

// Splits a loop with more tasks than the ticket can count into chunks.
struct Chunked {
  detail::TaskFn fn;
  void* ctx;
  int64_t tasks, per_chunk;
};

}  // namespace

namespace detail {
void run_parallel(int64_t tasks, int threads, TaskFn fn, void* ctx, bool own_runs) {
  if (tasks < kMaxTicketTasks) {
    Pool::get().run(tasks, threads, fn, ctx, own_runs);
    return;
  }
  Chunked c{fn, ctx, tasks, (tasks + kMaxTicketTasks / 2 - 1) / (kMaxTicketTasks / 2)};
  Pool::get().run((tasks + c.per_chunk - 1) / c.per_chunk, threads,
                  [](void* p, int64_t chunk, int worker) {
                    const Chunked& c = *static_cast<const Chunked*>(p);
                    const int64_t end = std::min(c.tasks, (chunk + 1) * c.per_chunk);
                    for (int64_t t = chunk * c.per_chunk; t < end; ++t) c.fn(c.ctx, t, worker);
                  },
                  &c, own_runs);
}
}  // namespace detail

KeepSleepersAsleep::KeepSleepersAsleep(bool on) : previous_(tls_keep_asleep) {
  tls_keep_asleep = on;
}

KeepSleepersAsleep::~KeepSleepersAsleep() { tls_keep_asleep = previous_; }

void pool_trace(bool on) { g_trace.store(on, std::memory_order_relaxed); }

std::vector<PoolJobTrace> pool_trace_take() {
  std::lock_guard<std::mutex> lock(g_trace_mutex);
  std::vector<PoolJobTrace> jobs;
  jobs.swap(g_trace_jobs);
  return jobs;
}

void spin_until_at_least(const std::atomic<int64_t>& counter, int64_t target) {
  for (uint32_t spins = 0; counter.load(std::memory_order_acquire) < target; ++spins) {
    if (spins < kPauseSpins) {
      TFJS_INFER_PAUSE();
    } else {
      std::this_thread::yield();
    }
  }
}

void reserve_threads(int threads) { Pool::get().reserve(threads - 1); }

int pool_workers() { return Pool::get().workers(); }

int pool_spin_us() { return Pool::get().spin_us(); }

bool openmp_enabled() {
#ifdef _OPENMP
  return true;
#else
  return false;
#endif
}

int default_num_threads() {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
#endif
  const unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? static_cast<int>(n) : 1;
}

}  // namespace tfjs_infer
