// libgomp vs tfjs-infer's pool: one parallel loop, hot and after idle, in one
// process, interleaved round by round (the order alternating).
//
//   g++ -O2 -std=c++17 -fopenmp -Icpp bench/threads_idle.cpp cpp/core/threading.cpp \
//       -o /tmp/threads_idle -lpthread
//   /tmp/threads_idle [threads=2] [idle_ms=50] [task_us=20] [rounds=30]
//   GOMP_SPINCOUNT=0 /tmp/threads_idle ...   (libgomp reads its settings once, at load)
//
// Each loop has `threads` tasks of `task_us` microseconds of busy work. Hot:
// median of back-to-back loops; idle: the loop right after `idle_ms` of sleep.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <thread>
#include <vector>

#include "core/threading.h"

namespace {

using Clock = std::chrono::steady_clock;

void busy(double us) {
  const auto until = Clock::now() + std::chrono::duration<double, std::micro>(us);
  while (Clock::now() < until) {
  }
}

double time_us(const std::function<void()>& fn) {
  const auto t0 = Clock::now();
  fn();
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double p90(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() * 9 / 10];
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const int idle_ms = argc > 2 ? std::atoi(argv[2]) : 50;
  const double task_us = argc > 3 ? std::atof(argv[3]) : 20.0;
  const int rounds = argc > 4 ? std::atoi(argv[4]) : 30;

  auto gomp = [&] {
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int t = 0; t < threads; ++t) busy(task_us);
  };
  auto pool = [&] { tfjs_infer::parallel_for(threads, threads, [&](int64_t) { busy(task_us); }); };
  tfjs_infer::reserve_threads(threads);
  const char* names[2] = {"libgomp", "tfjs_infer pool"};
  std::vector<double> hot[2], idle[2];
  for (int i = 0; i < 50; ++i) {
    gomp();
    pool();
  }
  for (int r = 0; r < rounds; ++r) {
    for (int k = 0; k < 2; ++k) {
      const int which = (r % 2 == 0) ? k : 1 - k;
      const std::function<void()> fn = which == 0 ? std::function<void()>(gomp) : pool;
      for (int i = 0; i < 10; ++i) hot[which].push_back(time_us(fn));
      std::this_thread::sleep_for(std::chrono::milliseconds(idle_ms));
      idle[which].push_back(time_us(fn));
    }
  }
  const char* spin = std::getenv("GOMP_SPINCOUNT");
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  std::printf(
      "%d threads, %d tasks of %.0f us, %d ms idle, %d rounds (GOMP_SPINCOUNT=%s, "
      "OMP_WAIT_POLICY=%s)\n",
      threads, threads, task_us, idle_ms, rounds, spin ? spin : "unset", policy ? policy : "unset");
  for (int k = 0; k < 2; ++k)
    std::printf("  %-16s hot median %8.1f us  p90 %8.1f | after idle median %8.1f us  p90 %8.1f\n",
                names[k], median(hot[k]), p90(hot[k]), median(idle[k]), p90(idle[k]));
  return 0;
}
