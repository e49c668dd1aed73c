// The host emulator's launch: every CUDA thread of a block as a fiber
// (glibc ucontext), blocks one after another, launches serialized.
#pragma once

#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>

#include "cuda_runtime_api.h"

namespace tfjs_infer::emu {

// A kernel broke a rule the hardware would hang or misbehave on: a thread
// exited while others wait at a barrier, threads wait at different barriers,
// a warp mask names a lane that is not there or has exited.
class KernelFault : public std::runtime_error {
 public:
  explicit KernelFault(const std::string& what) : std::runtime_error(what) {}
};

// Runs `body` once per thread of every block of `grid` x `block`, with
// `dynamic_shared_bytes` of poisoned dynamic shared memory per block. An
// invalid configuration sets the sticky last error (as a real launch does)
// and runs nothing; a broken barrier throws KernelFault. Thread order inside
// a block is 0, 1, 2, ... unless TFJS_INFER_EMU_SEED is set to a non-zero
// integer, which shuffles the order of every scheduling round with that seed.
void launch(dim3 grid, dim3 block, size_t dynamic_shared_bytes, cudaStream_t stream,
            const std::function<void()>& body);

// The same for a kernel without barriers, warp shuffles or __syncwarp
// (TFJS_LAUNCH_FLAT): each thread runs as a plain call, no fiber, about 50x
// cheaper; a barrier reached in such a launch throws KernelFault.
void launch_flat(dim3 grid, dim3 block, size_t dynamic_shared_bytes, cudaStream_t stream,
                 const std::function<void()>& body);

// The last launch error (cudaGetLastError's source), reset when read.
cudaError_t take_launch_error(bool reset);
void set_launch_error(cudaError_t error);

// Statistics for tests: launches and blocks run since the process started.
struct LaunchStats {
  long long launches = 0, blocks = 0, threads = 0;
};
LaunchStats launch_stats();

}  // namespace tfjs_infer::emu
