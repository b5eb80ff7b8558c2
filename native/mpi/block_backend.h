// How one block of the ring is computed on this rank's device: the CPU core,
// or the CUDA C API where the module was built with it.
#pragma once

#include <string>

#include "rank_ring.h"

namespace siglip::mpi {

enum class BlockDevice { kCpu, kCuda };

// CPU: the core's pass with the global normalizer, dX accumulated.
BlockSums cpuBlock(const LossInputs& in, const RunOptions& options, float* dx, float* dyBlock);

// CUDA: siglip_cuda_run_host per block (it normalizes by the block's own n and
// overwrites), rescaled by n / N and added into dx on the host. `bf16`: else tf32.
BlockSums cudaBlock(const LossInputs& in, bool bf16, float* dx, float* dyBlock);

// Empty when device 'cuda' can run blocks here, else why not.
std::string cudaUnavailable();

}  // namespace siglip::mpi
