// The core's request as the CUDA C API's problem, and why no device can run
// it: shared by the CUDA module (native/addon) and the MPI module's GPU blocks.
#pragma once

#include <stdexcept>
#include <string>

#include "../core/siglip.h"
#include "siglip_cuda.h"

namespace siglip {

// Throws std::invalid_argument for what the CUDA pass has no kernel for.
inline SiglipCudaProblem cudaProblemOf(const LossInputs& in, bool bf16) {
  if (in.positives.kind == PositivePairs::Kind::kLabels)
    throw std::invalid_argument(
        "options.positives 'labels' runs on device 'cpu' only (no CUDA kernel for labels yet)");
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
  return p;
}

// "" when a CUDA device is usable, else the message every CUDA request gets.
inline std::string noUsableCudaDevice() {
  const int count = siglip_cuda_device_count();
  if (count > 0) return "";
  return std::string("device 'cuda' requested, but there is no usable CUDA device (") +
         (count < 0 ? siglip_cuda_last_error() : "none is present") + ")";
}

}  // namespace siglip
