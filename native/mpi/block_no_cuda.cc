// The MPI module of a build without nvcc: device 'cuda' says why it cannot run.
#include <stdexcept>

#include "block_backend.h"

namespace siglip::mpi {

std::string cudaUnavailable() {
  return "device 'cuda' requested, but this build of siglip-loss has no CUDA module (nvcc was "
         "not found at install time)";
}

BlockSums cudaBlock(const LossInputs&, bool, float*, float*) {
  throw std::runtime_error(cudaUnavailable());
}

}  // namespace siglip::mpi
