// Blocks on the GPU through the CUDA C API; they move between ranks through
// host memory (an MPI that is not CUDA-aware, as Debian's Open MPI).
#include <stdexcept>
#include <string>
#include <vector>

#include "../cuda/cuda_problem.h"
#include "block_backend.h"

namespace siglip::mpi {

std::string cudaUnavailable() { return noUsableCudaDevice(); }

BlockSums cudaBlock(const LossInputs& in, bool bf16, float* dx, float* dyBlock) {
  const SiglipCudaProblem p = cudaProblemOf(in, bf16);
  // The CUDA pass overwrites dX: the block's goes to a scratch block first.
  std::vector<float> blockDx(dx != nullptr ? static_cast<size_t>(in.n * in.dim) : 0);
  SiglipCudaScalars out{};
  const int status =
      siglip_cuda_run_host(&p, in.x, in.y, dx != nullptr ? blockDx.data() : nullptr, dyBlock, &out);
  if (status != 0) throw std::runtime_error(siglip_cuda_last_error());
  // It normalizes by its own n: rescale to the global N.
  const double share = static_cast<double>(in.n) / in.normalizer;
  if (dx != nullptr) {
    const auto s = static_cast<float>(share);
    for (size_t i = 0; i < blockDx.size(); ++i) dx[i] += s * blockDx[i];
    const size_t dyFloats = static_cast<size_t>(in.m * in.dim);
    for (size_t i = 0; i < dyFloats; ++i) dyBlock[i] *= s;
  }
  return {out.loss * share, out.dTPrime * share, out.dBias * share};
}

}  // namespace siglip::mpi
