// Fiber scheduler of the CUDA host emulation (see device_shim.h and
// scheduler.h). Why ucontext: it is part of glibc, so the emulation build
// needs nothing installed; its cost (a signal-mask system call per switch,
// ~0.5-1 us) is fine at the small shapes the tests use. A scheduling round
// resumes every ready fiber until it exits or waits at a barrier; between
// rounds the scheduler releases complete warp barriers first, then the block
// barrier, and reports anything else as a divergent barrier or a deadlock.
#include "cuda/emu/scheduler.h"

#include <sys/mman.h>
#include <ucontext.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <vector>

#include "cuda/emu/device_shim.h"

// Bounds of the static __shared__ section (weak: absent without any).
extern "C" unsigned char __start_tfjs_emu_shared[] __attribute__((weak));
extern "C" unsigned char __stop_tfjs_emu_shared[] __attribute__((weak));

namespace tfjs_infer::emu {

namespace {

constexpr size_t kStackBytes = 256 * 1024;
constexpr unsigned char kPoison = 0xFF;  // NaN floats, -1 integers
constexpr size_t kMaxDynamicShared = 227 * 1024;

enum class Wait { kReady, kBlock, kWarp, kDone };

struct Fiber {
  ucontext_t ctx;
  unsigned char* stack = nullptr;
  ThreadState st;
  Wait wait = Wait::kReady;
  const char* file = "";
  int line = 0;
  unsigned int mask = 0;
  unsigned char slot[8] = {};
};

struct BlockRun {
  std::vector<Fiber>* fibers = nullptr;
  Fiber* running = nullptr;
  ucontext_t main;
  std::vector<unsigned char> dynamic_shared;
  const std::function<void()>* body = nullptr;
  std::string pending_fault;  // raised by a fiber, thrown by the scheduler
  bool flat = false;          // threads run as plain calls (launch_flat)
};

std::mutex g_launch_mutex;
BlockRun* g_run = nullptr;  // the block being run (under g_launch_mutex)
std::vector<unsigned char*> g_stacks;
std::atomic<int> g_last_error{cudaSuccess};
LaunchStats g_stats;

unsigned char* stack_at(size_t i) {
  while (g_stacks.size() <= i) {
    void* p = mmap(nullptr, kStackBytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    g_stacks.push_back(static_cast<unsigned char*>(p));
  }
  return g_stacks[i];
}

void fiber_entry() {
  (*g_run->body)();
  g_run->running->wait = Wait::kDone;
}  // returns to uc_link: the scheduler

void yield_to_scheduler() {
  Fiber* f = g_run->running;
  swapcontext(&f->ctx, &g_run->main);
}

std::string where(const Fiber& f) {
  const dim3& t = f.st.thread_idx;
  const dim3& b = f.st.block_idx;
  return "thread (" + std::to_string(t.x) + "," + std::to_string(t.y) + "," + std::to_string(t.z) +
         ") of block (" + std::to_string(b.x) + "," + std::to_string(b.y) + "," +
         std::to_string(b.z) + ")";
}

std::string site(const Fiber& f) { return std::string(f.file) + ":" + std::to_string(f.line); }

// Thrown, not recorded as the sticky last error: the exception is the report,
// and later launches in the same process still run.
[[noreturn]] void fault(const std::string& what) { throw KernelFault("CUDA emulator: " + what); }

// Releases every warp whose masked lanes all wait at a warp barrier with the
// same mask; faults when a masked lane is missing or has exited.
bool release_warps(std::vector<Fiber>& fibers) {
  bool released = false;
  const size_t n = fibers.size();
  for (size_t w0 = 0; w0 < n; w0 += 32) {
    const Fiber* first = nullptr;
    for (size_t t = w0; t < std::min(n, w0 + 32); ++t)
      if (fibers[t].wait == Wait::kWarp) first = first ? first : &fibers[t];
    if (!first) continue;
    const unsigned int mask = first->mask;
    bool complete = true;
    for (unsigned int lane = 0; lane < 32; ++lane) {
      if (!(mask >> lane & 1u)) continue;
      if (w0 + lane >= n)
        fault(site(*first) + ": warp mask names lane " + std::to_string(lane) +
              ", which this block does not have");
      const Fiber& f = fibers[w0 + lane];
      if (f.wait == Wait::kDone)
        fault("divergent warp barrier: " + where(f) + " exited while " + where(*first) +
              " waits at " + site(*first));
      if (f.wait != Wait::kWarp || f.mask != mask) complete = false;
    }
    if (!complete) continue;
    for (unsigned int lane = 0; lane < 32; ++lane)
      if (mask >> lane & 1u) fibers[w0 + lane].wait = Wait::kReady;
    released = true;
  }
  return released;
}

// Releases the block barrier when every thread waits at the same one.
bool release_block(std::vector<Fiber>& fibers) {
  const Fiber* waiting = nullptr;
  const Fiber* done = nullptr;
  for (const Fiber& f : fibers) {
    if (f.wait == Wait::kBlock) waiting = waiting ? waiting : &f;
    if (f.wait == Wait::kDone) done = done ? done : &f;
    if (f.wait == Wait::kWarp) return false;
  }
  if (!waiting) return false;
  if (done)
    fault("divergent barrier: " + where(*done) + " exited while " + where(*waiting) +
          " waits at __syncthreads() at " + site(*waiting));
  for (const Fiber& f : fibers)
    if (std::strcmp(f.file, waiting->file) != 0 || f.line != waiting->line)
      fault("divergent barrier: " + where(f) + " waits at " + site(f) + ", " + where(*waiting) +
            " at " + site(*waiting));
  for (Fiber& f : fibers) f.wait = Wait::kReady;
  return true;
}

[[noreturn]] void deadlock(const std::vector<Fiber>& fibers) {
  std::string what = "deadlock: ";
  for (const Fiber& f : fibers)
    if (f.wait == Wait::kWarp || f.wait == Wait::kBlock) {
      what += where(f) + " waits at " + site(f) + (f.wait == Wait::kWarp ? " (warp)" : "") + "; ";
    }
  fault(what + "no barrier can complete");
}

void poison_shared(BlockRun& run) {
  if (+__start_tfjs_emu_shared && +__stop_tfjs_emu_shared > +__start_tfjs_emu_shared)
    std::memset(__start_tfjs_emu_shared, kPoison,
                static_cast<size_t>(__stop_tfjs_emu_shared - __start_tfjs_emu_shared));
  std::fill(run.dynamic_shared.begin(), run.dynamic_shared.end(), kPoison);
}

// Out of line: getcontext returns twice, which would make the caller's loop
// variables "clobbered" in the compiler's eyes.
__attribute__((noinline)) void start_fiber(Fiber& f, ucontext_t* link) {
  getcontext(&f.ctx);
  f.ctx.uc_stack.ss_sp = f.stack;
  f.ctx.uc_stack.ss_size = kStackBytes;
  f.ctx.uc_link = link;
  makecontext(&f.ctx, fiber_entry, 0);
}

void run_block(BlockRun& run, const dim3& grid, const dim3& block, const dim3& block_idx,
               std::mt19937* rng) {
  std::vector<Fiber>& fibers = *run.fibers;
  poison_shared(run);
  unsigned int tid = 0;
  for (unsigned int z = 0; z < block.z; ++z)
    for (unsigned int y = 0; y < block.y; ++y)
      for (unsigned int x = 0; x < block.x; ++x, ++tid) {
        Fiber& f = fibers[tid];
        f.st = {dim3(x, y, z), block_idx, block, grid, tid};
        f.wait = Wait::kReady;
        f.file = "";
        f.line = 0;
        start_fiber(f, &run.main);
      }
  std::vector<unsigned int> order(fibers.size());
  for (unsigned int i = 0; i < order.size(); ++i) order[i] = i;
  for (;;) {
    if (rng) std::shuffle(order.begin(), order.end(), *rng);
    for (unsigned int i : order) {
      Fiber& f = fibers[i];
      if (f.wait != Wait::kReady) continue;
      run.running = &f;
      swapcontext(&run.main, &f.ctx);
      if (!run.pending_fault.empty()) fault(run.pending_fault);
    }
    run.running = nullptr;
    bool all_done = true;
    for (const Fiber& f : fibers) all_done = all_done && f.wait == Wait::kDone;
    if (all_done) return;
    if (release_warps(fibers) || release_block(fibers)) continue;
    deadlock(fibers);
  }
}

// A barrier-free kernel's block: each thread is a plain call on this stack,
// in order (or shuffled by the seed), with the same poisoning.
void run_flat_block(BlockRun& run, const dim3& grid, const dim3& block, const dim3& block_idx,
                    std::mt19937* rng) {
  std::vector<Fiber>& threads = *run.fibers;
  poison_shared(run);
  std::vector<unsigned int> order(threads.size());
  unsigned int tid = 0;
  for (unsigned int z = 0; z < block.z; ++z)
    for (unsigned int y = 0; y < block.y; ++y)
      for (unsigned int x = 0; x < block.x; ++x, ++tid) {
        threads[tid].st = {dim3(x, y, z), block_idx, block, grid, tid};
        order[tid] = tid;
      }
  if (rng) std::shuffle(order.begin(), order.end(), *rng);
  for (unsigned int i : order) {
    run.running = &threads[i];
    (*run.body)();
  }
  run.running = nullptr;
}

bool valid_config(const dim3& grid, const dim3& block, size_t shared) {
  const unsigned long long threads = 1ull * block.x * block.y * block.z;
  return grid.x >= 1 && grid.y >= 1 && grid.z >= 1 && grid.y <= 65535 && grid.z <= 65535 &&
         threads >= 1 && threads <= 1024 && block.x <= 1024 && block.y <= 1024 && block.z <= 64 &&
         shared <= kMaxDynamicShared;
}

unsigned long long seed_from_env() {
  const char* s = std::getenv("TFJS_INFER_EMU_SEED");
  return s ? std::strtoull(s, nullptr, 10) : 0;
}

}  // namespace

const ThreadState& current() {
  if (!g_run || !g_run->running) {
    static const ThreadState outside;
    return outside;
  }
  return g_run->running->st;
}

unsigned char* dynamic_shared() { return g_run ? g_run->dynamic_shared.data() : nullptr; }

// On the scheduler's own stack (launch_flat), so throwing is safe.
[[noreturn]] void barrier_in_flat_launch(const char* what, const char* file, int line) {
  fault(std::string(what) + " at " + file + ":" + std::to_string(line) +
        " in a kernel launched with TFJS_LAUNCH_FLAT (barrier-free launches only)");
}

void sync_block(const char* file, int line) {
  if (g_run->flat) barrier_in_flat_launch("__syncthreads()", file, line);
  Fiber* f = g_run->running;
  f->wait = Wait::kBlock;
  f->file = file;
  f->line = line;
  yield_to_scheduler();
}

void sync_warp(unsigned int mask, const char* file, int line) {
  if (g_run->flat) barrier_in_flat_launch(file, "a warp operation", line);
  Fiber* f = g_run->running;
  if (!(mask >> (f->st.linear_tid % 32u) & 1u)) {
    // Never thrown across the fiber's stack: the scheduler throws it.
    g_run->pending_fault = where(*f) + " calls " + file + " with a mask that leaves itself out";
    f->wait = Wait::kBlock;
    yield_to_scheduler();
  }
  f->wait = Wait::kWarp;
  f->mask = mask;
  f->file = file;
  f->line = line;
  yield_to_scheduler();
}

void warp_exchange(unsigned int mask, const void* value, void* out, unsigned int bytes, int src,
                   const char* file, int line) {
  Fiber* self = g_run->running;
  std::memcpy(self->slot, value, bytes);
  sync_warp(mask, file, line);
  const unsigned int warp0 = self->st.linear_tid / 32u * 32u;
  if (src >= 0 && (mask >> (src % 32) & 1u)) {
    std::memcpy(out, (*g_run->fibers)[warp0 + static_cast<unsigned int>(src) % 32u].slot, bytes);
  } else {
    std::memcpy(out, value, bytes);
  }
  sync_warp(mask, file, line);
}

namespace {

void run_launch(dim3 grid, dim3 block, size_t dynamic_shared_bytes, bool flat,
                const std::function<void()>& body) {
  if (!valid_config(grid, block, dynamic_shared_bytes)) {
    g_last_error = cudaErrorInvalidConfiguration;
    return;
  }
  std::lock_guard<std::mutex> lock(g_launch_mutex);
  const unsigned int threads = block.x * block.y * block.z;
  std::vector<Fiber> fibers(threads);
  if (!flat)
    for (unsigned int t = 0; t < threads; ++t) fibers[t].stack = stack_at(t);
  BlockRun run;
  run.fibers = &fibers;
  run.body = &body;
  run.flat = flat;
  run.dynamic_shared.assign(dynamic_shared_bytes, kPoison);
  const unsigned long long seed = seed_from_env();
  std::mt19937 rng(static_cast<std::mt19937::result_type>(seed + g_stats.launches));
  g_run = &run;
  struct Reset {
    ~Reset() { g_run = nullptr; }
  } reset;
  ++g_stats.launches;
  for (unsigned int bz = 0; bz < grid.z; ++bz)
    for (unsigned int by = 0; by < grid.y; ++by)
      for (unsigned int bx = 0; bx < grid.x; ++bx) {
        if (flat)
          run_flat_block(run, grid, block, dim3(bx, by, bz), seed ? &rng : nullptr);
        else
          run_block(run, grid, block, dim3(bx, by, bz), seed ? &rng : nullptr);
        ++g_stats.blocks;
        g_stats.threads += threads;
      }
}

}  // namespace

void launch(dim3 grid, dim3 block, size_t dynamic_shared_bytes, cudaStream_t /*stream*/,
            const std::function<void()>& body) {
  run_launch(grid, block, dynamic_shared_bytes, false, body);
}

void launch_flat(dim3 grid, dim3 block, size_t dynamic_shared_bytes, cudaStream_t /*stream*/,
                 const std::function<void()>& body) {
  run_launch(grid, block, dynamic_shared_bytes, true, body);
}

cudaError_t take_launch_error(bool reset) {
  return static_cast<cudaError_t>(reset ? g_last_error.exchange(cudaSuccess) : g_last_error.load());
}

void set_launch_error(cudaError_t error) { g_last_error = error; }

LaunchStats launch_stats() {
  std::lock_guard<std::mutex> lock(g_launch_mutex);
  return g_stats;
}

}  // namespace tfjs_infer::emu
