// Public interface of the blockwise SigLIP core. No Node, no tfjs: plain C++17.
//
// L = (1/N) * sum_ij softplus(-z_ij * l_ij), l_ij = exp(t') * <x_i, y_j> + b,
// z_ij = +1 for a positive pair, -1 otherwise. The N x M logits are never
// materialized: one pass over tiles yields the loss and every gradient.
#pragma once

#include <atomic>
#include <cstdint>
#include <stdexcept>

#include "positive_pairs.h"

namespace siglip {

struct LossInputs {
  const float* x = nullptr;  // [n x dim], row-major
  const float* y = nullptr;  // [m x dim], row-major
  int64_t n = 0;
  int64_t m = 0;
  int64_t dim = 0;
  double tPrime = 0;  // log of the logit scale t
  double bias = 0;
  PositivePairs positives;
  // The N of the loss's 1/N (0: n). A chunk of a larger batch (another
  // device's or rank's rows) is normalized by the whole batch's N.
  double normalizer = 0;
};

// Gradient outputs. dx [n x dim] and dy [m x dim] are overwritten, or added
// to with `accumulate` (a block of a larger batch); dTPrime and dBias are
// always this call's own.
struct Gradients {
  float* dx = nullptr;
  float* dy = nullptr;
  bool accumulate = false;
  double dTPrime = 0;
  double dBias = 0;
};

// Arithmetic of the tile products. kBFloat16 rounds x, y and G to bf16
// (AVX512-BF16 dot products where the CPU has them); sums stay fp32, the loss
// and scalar gradients double.
enum class Precision { kFloat32, kBFloat16 };

struct RunOptions {
  int threads = 0;  // 0: hardware concurrency
  Precision precision = Precision::kFloat32;
  // Set by another thread to stop the pass early: it then throws Cancelled
  // (the outputs are left partly written). Checked once per block of tiles.
  const std::atomic<bool>* cancel = nullptr;
};

// What a pass throws when RunOptions::cancel was set.
struct Cancelled : std::runtime_error {
  Cancelled() : std::runtime_error("the computation was cancelled") {}
};

// Loss only (evaluation): no gradient buffers are touched.
double computeLoss(const LossInputs& in, const RunOptions& options);

// Loss and all four gradients in one pass over tiles.
double computeLossAndGrads(const LossInputs& in, Gradients& grads, const RunOptions& options);

// Largest logit scale t = exp(t') both losses accept: beyond it the logits
// of unit vectors overflow float32 arithmetic in the epilogues.
constexpr double kMaxLogitScale = 1e30;
constexpr char kLogitScaleError[] =
    "tPrime must be at most log(1e30): exp(tPrime) overflows the logits";

// Throws std::invalid_argument naming the offending field.
void validate(const LossInputs& in);

// Number of worker threads that a given option resolves to.
int resolveThreads(int requested);

}  // namespace siglip
