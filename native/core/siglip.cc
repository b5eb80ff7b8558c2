// The blockwise pass. Rows and columns are cut into P groups (P = workers);
// at ring step s worker k takes row group k against column group (k + s) % P.
// Within a step every worker owns its rows of dX and a distinct column group
// of dY, so both accumulate without atomics or private copies, and a fixed P
// gives the same summation order, hence bit-identical results, on every run.
#include "siglip.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "sigmoid_epilogue.h"
#include "tile_gemm.h"
#include "worker_pool.h"

namespace siglip {
namespace {

// Rows and columns of one tile of logits: 128 measured faster than 64 and 256
// with both engines (README, "Tile-GEMM engine").
constexpr int64_t kTile = 128;

struct Range {
  int64_t begin;
  int64_t end;
};

// Part `index` of `parts` of [0, total), cut on tile boundaries.
Range tileAlignedPart(int64_t total, int parts, int index) {
  const int64_t tiles = (total + kTile - 1) / kTile;
  const int64_t begin = tiles * index / parts * kTile;
  const int64_t end = tiles * (index + 1) / parts * kTile;
  return {std::min(begin, total), std::min(end, total)};
}

struct Pass {
  const LossInputs& in;
  Gradients* grads;  // null: loss only
  EpilogueParams epilogue;

  // All tiles of rows x cols, accumulated into sums (and dX, dY). `tile`
  // holds kTile x kTile logits, `yPacked` a dim x kTile transposed column tile.
  void processBlock(Range rows, Range cols, float* tile, float* yPacked, TileSums& sums) const {
    const int64_t dim = in.dim;
    int64_t positiveCol[kTile];
    for (int64_t c0 = cols.begin; c0 < cols.end; c0 += kTile) {
      const int64_t tileCols = std::min(kTile, cols.end - c0);
      const float* yTile = in.y + c0 * dim;
      packTransposed(yPacked, yTile, tileCols, dim, kTile);
      for (int64_t r0 = rows.begin; r0 < rows.end; r0 += kTile) {
        const int64_t tileRows = std::min(kTile, rows.end - r0);
        const float* xTile = in.x + r0 * dim;
        tileDot(tile, xTile, tileRows, yPacked, dim, kTile);
        for (int64_t r = 0; r < tileRows; ++r) {
          const int64_t col = in.positives.columnOf(r0 + r, in.m);
          positiveCol[r] = col < 0 ? -1 : col - c0;
        }
        sigmoidEpilogue(tile, kTile, tileRows, tileCols, positiveCol, epilogue, sums);
        if (grads == nullptr) continue;
        tileAccumulate(grads->dx + r0 * dim, tileRows, tile, kTile, 1, yTile, tileCols, dim);
        tileAccumulate(grads->dy + c0 * dim, tileCols, tile, 1, kTile, xTile, tileRows, dim);
      }
    }
  }
};

int workersFor(const LossInputs& in, int requested) {
  const int64_t tiles = (std::max(in.n, in.m) + kTile - 1) / kTile;
  return static_cast<int>(std::min<int64_t>(resolveThreads(requested), tiles));
}

double run(const LossInputs& in, Gradients* grads, const RunOptions& options) {
  validate(in);
  const int workers = workersFor(in, options.threads);
  const double scale = std::exp(in.tPrime);
  Pass pass{in, grads, {}};
  pass.epilogue.scale = static_cast<float>(scale);
  pass.epilogue.bias = static_cast<float>(in.bias);
  pass.epilogue.gradScale = static_cast<float>(scale / static_cast<double>(in.n));
  pass.epilogue.writeGrad = grads != nullptr;

  std::vector<float> tiles(static_cast<size_t>(workers) * kTile * kTile);
  std::vector<float> packed(static_cast<size_t>(workers) * kTile * in.dim);
  std::vector<TileSums> sums(workers);
  Barrier barrier(workers);

  runWorkers(workers, [&](int k) {
    float* tile = tiles.data() + static_cast<size_t>(k) * kTile * kTile;
    float* yPacked = packed.data() + static_cast<size_t>(k) * kTile * in.dim;
    const Range rows = tileAlignedPart(in.n, workers, k);
    if (grads == nullptr) {  // no dY: nothing is shared, no ring needed
      pass.processBlock(rows, {0, in.m}, tile, yPacked, sums[k]);
      return;
    }
    const Range ownCols = tileAlignedPart(in.m, workers, k);
    std::memset(grads->dx + rows.begin * in.dim, 0,
                sizeof(float) * (rows.end - rows.begin) * in.dim);
    std::memset(grads->dy + ownCols.begin * in.dim, 0,
                sizeof(float) * (ownCols.end - ownCols.begin) * in.dim);
    barrier.wait();
    for (int step = 0; step < workers; ++step) {
      const Range cols = tileAlignedPart(in.m, workers, (k + step) % workers);
      pass.processBlock(rows, cols, tile, yPacked, sums[k]);
      barrier.wait();
    }
  });

  TileSums total;
  for (const TileSums& s : sums) total.add(s);  // fixed order: deterministic
  const double n = static_cast<double>(in.n);
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
  if (std::exp(in.tPrime) > 3.0e38) fail("tPrime is too large: exp(tPrime) overflows float32");
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
