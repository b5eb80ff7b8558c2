// The CLIP softmax contrastive loss, blockwise: never N x M.
//   logits l_ij = exp(t') <x_i, y_j>, positives on the diagonal (N = M),
//   L = (CE over rows + CE over columns) / 2
//     = 1/(2N) sum_i [(LSE_j l_ij - l_ii) + (LSE_j l_ji - l_ii)].
// A forward pass over tiles keeps only the 2N log-sum-exp statistics (online
// max and sum per row and per column); the backward pass recomputes each tile
// and forms G = dL/dl = (softmax_row + softmax_col - 2 I) / (2N) from them.
#pragma once

#include <cstdint>

#include "siglip.h"

namespace siglip {

struct SoftmaxInputs {
  const float* x = nullptr;  // [n x dim]
  const float* y = nullptr;  // [n x dim]: the pairs (x_i, y_i) are the positives
  int64_t n = 0;
  int64_t dim = 0;
  double tPrime = 0;
};

// Throws std::invalid_argument naming the offending field.
void validate(const SoftmaxInputs& in);

double computeSoftmaxLoss(const SoftmaxInputs& in, const RunOptions& options);

// dx, dy and dTPrime of grads (dBias stays 0: this loss has no bias).
double computeSoftmaxLossAndGrads(const SoftmaxInputs& in, Gradients& grads,
                                  const RunOptions& options);

}  // namespace siglip
