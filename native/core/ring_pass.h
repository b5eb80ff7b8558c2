// The blockwise driver shared by the losses. Rows and columns are cut into P
// groups (P = workers); at ring step s worker k takes row group k against
// column group (k + s) % P. Within a step every worker owns its rows (of dX,
// of row statistics) and a distinct column group (of dY, of column
// statistics), so both accumulate without atomics or private copies, and a
// fixed P gives the same summation order, hence bit-identical results.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "engine_pool.h"
#include "siglip.h"
#include "tile_engine.h"
#include "tile_kernels.h"
#include "worker_pool.h"

namespace siglip {

// One tile of dot products <x_i, y_j>, rows [r0, r0 + rows) x columns
// [c0, c0 + cols), row stride kTile. A tile function may overwrite it with G.
struct Tile {
  float* dots;
  int64_t r0, rows, c0, cols;
};

struct PassInputs {
  const float* x;  // [n x dim]
  const float* y;  // [m x dim]
  int64_t n, m, dim;
  Precision precision = Precision::kFloat32;
  const std::atomic<bool>* cancel = nullptr;  // RunOptions::cancel
};

enum class Schedule {
  kRows,  // worker k: its rows against all columns; no shared column state, no dY
  kRing,  // the ring: column state and dY are safe
};

// Never more workers than tiles along the longer side.
inline int workersFor(const PassInputs& in, int threads) {
  const int64_t tiles = (std::max(in.n, in.m) + kTile - 1) / kTile;
  return static_cast<int>(std::min<int64_t>(resolveThreads(threads), tiles));
}

// Calls tileFn(worker, tile) on every tile once. With dx and dy (zeroed here
// unless `accumulate`), tileFn must leave G in the tile, and dX += G Y,
// dY += G^T X follow. Throws Cancelled when in.cancel is set meanwhile.
template <typename TileFn>
void runPass(const PassInputs& in, int workers, Schedule schedule, float* dx, float* dy,
             bool accumulate, TileFn&& tileFn) {
  // The instruction set (SIGLIP_ISA) is chosen here, on the caller's thread: a
  // bad value must throw to the caller, not in a worker (std::terminate).
  kernels::forThisCpu();
  std::vector<float> tiles(static_cast<size_t>(workers) * kTile * kTile);
  std::vector<LeasedEngine> engines(workers);
  for (auto& engine : engines) engine = leaseTileEngine(in.precision, in.dim);
  Barrier barrier(workers);
  const bool grads = dx != nullptr && dy != nullptr;
  auto cancelled = [&] {
    return in.cancel != nullptr && in.cancel->load(std::memory_order_relaxed);
  };

  // Part `index` of `parts` of [0, total), cut on tile boundaries.
  auto part = [](int64_t total, int parts, int index) {
    const int64_t tiles = (total + kTile - 1) / kTile;
    return std::pair<int64_t, int64_t>{std::min(tiles * index / parts * kTile, total),
                                       std::min(tiles * (index + 1) / parts * kTile, total)};
  };

  runWorkers(workers, [&](int k) {
    float* dots = tiles.data() + static_cast<size_t>(k) * kTile * kTile;
    TileEngine& engine = *engines[k];
    const auto rows = part(in.n, workers, k);
    const int64_t slots = engine.columnSlots();
    auto block = [&](std::pair<int64_t, int64_t> cols) {
      for (int64_t b0 = cols.first; b0 < cols.second; b0 += slots * kTile) {
        const int64_t blockEnd = std::min(b0 + slots * kTile, cols.second);
        for (int64_t c0 = b0; c0 < blockEnd; c0 += kTile)
          engine.setColumns(int((c0 - b0) / kTile), in.y + c0 * in.dim,
                            std::min(kTile, blockEnd - c0));
        for (int64_t r0 = rows.first; r0 < rows.second; r0 += kTile) {
          // A cancelled pass skips its tiles but still meets every barrier.
          if (cancelled()) return;
          const int64_t tileRows = std::min(kTile, rows.second - r0);
          engine.setRows(in.x + r0 * in.dim, tileRows);
          for (int64_t c0 = b0; c0 < blockEnd; c0 += kTile) {
            const int slot = int((c0 - b0) / kTile);
            engine.dot(dots, slot);
            Tile tile{dots, r0, tileRows, c0, std::min(kTile, blockEnd - c0)};
            tileFn(k, tile);
            if (!grads) continue;
            engine.accumulateRowGrads(dx + r0 * in.dim, dots, slot);
            engine.accumulateColumnGrads(dy + c0 * in.dim, dots, slot);
          }
        }
      }
    };
    if (schedule == Schedule::kRows) {
      block({0, in.m});
      return;
    }
    if (grads && !accumulate) {
      const auto ownCols = part(in.m, workers, k);
      std::memset(dx + rows.first * in.dim, 0, sizeof(float) * (rows.second - rows.first) * in.dim);
      std::memset(dy + ownCols.first * in.dim, 0,
                  sizeof(float) * (ownCols.second - ownCols.first) * in.dim);
      barrier.wait();
    }
    for (int step = 0; step < workers; ++step) {
      block(part(in.m, workers, (k + step) % workers));
      barrier.wait();
    }
  });
  if (cancelled()) throw Cancelled();
}

}  // namespace siglip
