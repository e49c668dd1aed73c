// Kernels with planted bugs and probes for the emulator's own tests
// (tests/cuda/test_emu_selftest.py): each shows one thing the emulation
// must catch or provide. Built in emulation builds only.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace tfjs_infer::emu::selftest {

// Reverses `n` floats (n <= 1024, one block) through static shared memory,
// with (barrier != 0) or without the __syncthreads between write and read.
cudaError_t reverse(const float* x, float* y, int n, int barrier);
// Threads with odd index return before a __syncthreads (a divergent barrier).
cudaError_t early_return(float* y, int n);
// Lanes 0-15 wait at __syncwarp, lanes 16-31 at __syncthreads: a deadlock.
cudaError_t warp_deadlock(float* y);
// Reads one static and one dynamic shared float that nobody wrote.
cudaError_t read_unwritten_shared(float* y);
// y[i] for each of 32 lanes: shfl (index), xor, down and up of x, and the
// warp sum by an xor tree: y holds 5 rows of 32.
cudaError_t shuffles(const float* x, float* y, int src, int xor_mask, int delta);
// A shuffle whose mask names lane 31, which has already exited.
cudaError_t shuffle_exited_lane(float* y);
// The order in which `n` threads of one block first ran: order[tid].
cudaError_t run_order(int32_t* order, int n);
// counts[x[i] % bins] += 1 over `n` items spread over several blocks.
cudaError_t histogram(const int32_t* x, int n, int32_t* counts, int bins);
// reverse() with its barrier, launched as barrier-free (TFJS_LAUNCH_FLAT).
cudaError_t barrier_in_flat_launch(const float* x, float* y, int n);
// A launch with a 2048-thread block (invalid): returns the launch's error.
cudaError_t oversized_block(float* y);

}  // namespace tfjs_infer::emu::selftest
