// The SigLIP pass: one ring-scheduled pass over tiles (ring_pass.h) whose
// tile function is the sigmoid epilogue.
#include "siglip.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "ring_pass.h"
#include "sigmoid_epilogue.h"

namespace siglip {
namespace {

double run(const LossInputs& in, Gradients* grads, const RunOptions& options) {
  validate(in);
  const PassInputs pass{in.x, in.y, in.n, in.m, in.dim, options.precision, options.cancel};
  const int workers = workersFor(pass, options.threads);
  const double scale = std::exp(in.tPrime);
  const double n = in.normalizer > 0 ? in.normalizer : static_cast<double>(in.n);
  EpilogueParams params;
  params.scale = static_cast<float>(scale);
  params.bias = static_cast<float>(in.bias);
  params.gradScale = static_cast<float>(scale / n);
  params.writeGrad = grads != nullptr;

  std::vector<TileSums> sums(workers);
  // Without dY nothing is shared between workers: no ring needed.
  const Schedule schedule = grads != nullptr ? Schedule::kRing : Schedule::kRows;
  static_assert(kTile <= kMaxEpilogueColumns);
  runPass(pass, workers, schedule, grads ? grads->dx : nullptr, grads ? grads->dy : nullptr,
          grads != nullptr && grads->accumulate, [&](int worker, const Tile& tile) {
            int32_t rowKey[kTile], columnKey[kTile];
            const bool any = in.positives.tileKeys(tile.r0, tile.rows, tile.c0, tile.cols, in.m,
                                                   rowKey, columnKey);
            sigmoidEpilogue(tile.dots, kTile, tile.rows, tile.cols, rowKey, columnKey, any, params,
                            sums[worker]);
          });

  TileSums total;
  for (const TileSums& s : sums) total.add(s);  // fixed order: deterministic
  if (grads != nullptr) {
    grads->dBias = total.grad / n;
    grads->dTPrime = scale * total.gradDot / n;
  }
  return total.loss / n;
}

}  // namespace

int resolveThreads(int requested) {
  if (requested > 0) return requested;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

void validate(const LossInputs& in) {
  auto fail = [](const std::string& what) { throw std::invalid_argument(what); };
  if (in.x == nullptr) fail("x must not be null");
  if (in.y == nullptr) fail("y must not be null");
  if (in.n <= 0) fail("n must be positive");
  if (in.m <= 0) fail("m must be positive");
  if (in.dim <= 0) fail("dim must be positive");
  if (!std::isfinite(in.tPrime)) fail("tPrime must be finite");
  if (!std::isfinite(in.bias)) fail("bias must be finite");
  if (std::exp(in.tPrime) > kMaxLogitScale) fail(kLogitScaleError);
  if (!(in.normalizer >= 0) || !std::isfinite(in.normalizer))
    fail("normalizer must be finite and non-negative");
  if (in.positives.kind == PositivePairs::Kind::kLabels) {
    if (in.positives.rowLabels == nullptr) fail("xLabels must not be null");
    if (in.positives.columnLabels == nullptr) fail("yLabels must not be null");
  }
}

double computeLoss(const LossInputs& in, const RunOptions& options) {
  return run(in, nullptr, options);
}

double computeLossAndGrads(const LossInputs& in, Gradients& grads, const RunOptions& options) {
  if (grads.dx == nullptr) throw std::invalid_argument("dx must not be null");
  if (grads.dy == nullptr) throw std::invalid_argument("dy must not be null");
  return run(in, &grads, options);
}

}  // namespace siglip
