// Blocks on the GPU through the CUDA C API; they move between ranks through
// host memory (an MPI that is not CUDA-aware, as Debian's Open MPI).
#include <stdexcept>
#include <string>
#include <vector>

#include "../cuda/siglip_cuda.h"
#include "block_backend.h"

namespace siglip::mpi {

std::string cudaUnavailable() {
  const int devices = siglip_cuda_device_count();
  if (devices > 0) return "";
  return std::string("device 'cuda' requested, but ") +
         (devices < 0 ? siglip_cuda_last_error() : "no CUDA device is present");
}

BlockSums cudaBlock(const LossInputs& in, bool bf16, float* dx, float* dyBlock) {
  if (in.positives.kind == PositivePairs::Kind::kLabels)
    throw std::invalid_argument("options.positives 'labels' runs on device 'cpu' only");
  SiglipCudaProblem p{};
  p.n = in.n;
  p.m = in.m;
  p.dim = in.dim;
  p.tPrime = in.tPrime;
  p.bias = in.bias;
  p.positives = in.positives.kind == PositivePairs::Kind::kNone ? SIGLIP_CUDA_POSITIVES_NONE
                                                                : SIGLIP_CUDA_POSITIVES_DIAGONAL;
  p.positiveOffset = in.positives.offset;
  p.precision = bf16 ? SIGLIP_CUDA_BF16 : SIGLIP_CUDA_TF32;
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
