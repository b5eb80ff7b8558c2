#include <cstring>

#include "block_backend.h"

namespace siglip::mpi {

BlockSums cpuBlock(const LossInputs& in, const RunOptions& options, float* dx, float* dyBlock) {
  if (dx == nullptr) return {computeLoss(in, options), 0, 0};
  // dX adds up over the blocks; the block's dY is its own.
  std::memset(dyBlock, 0, sizeof(float) * static_cast<size_t>(in.m * in.dim));
  Gradients grads;
  grads.dx = dx;
  grads.dy = dyBlock;
  grads.accumulate = true;
  const double loss = computeLossAndGrads(in, grads, options);
  return {loss, grads.dTPrime, grads.dBias};
}

}  // namespace siglip::mpi
