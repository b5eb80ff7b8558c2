// One worker's time per tile, product by product: the built-in fp32 engine's
// S = X Y^T, dX += G Y and dY += G^T X and the sigmoid epilogue, over a
// stream of row tiles against two column slots as in the pass (N = 2048,
// D = 768, one thread). Prints GFLOP/s per product, to read against
// `fma-peak 1` (bench/engines.sh runs both).
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "../native/core/sigmoid_epilogue.h"
#include "../native/core/tile_engine.h"

using namespace siglip;
using Clock = std::chrono::steady_clock;

int main() {
  const int64_t dim = 768, rows = 2048, slots = 2, repeats = 4;
  std::vector<float> x(rows * dim), y(slots * kTile * dim), dx(rows * dim), dy(slots * kTile * dim);
  std::vector<float> tile(kTile * kTile);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 0.036f);
  for (auto& v : x) v = normal(rng);
  for (auto& v : y) v = normal(rng);
  auto engine = makeFloat32Engine(dim);
  for (int slot = 0; slot < slots; ++slot)
    engine->setColumns(slot, y.data() + slot * kTile * dim, kTile);
  EpilogueParams params;
  params.scale = 10;
  params.bias = -10;
  params.gradScale = 10.0f / rows;
  params.writeGrad = true;
  TileSums sums;
  int32_t rowKey[kTile], columnKey[kTile];  // a tile on the diagonal
  for (int64_t i = 0; i < kTile; ++i) rowKey[i] = columnKey[i] = static_cast<int32_t>(i);

  double dot = 0, epilogue = 0, rowGrads = 0, columnGrads = 0;  // seconds
  auto since = [](Clock::time_point& t) {
    const auto now = Clock::now();
    const double s = std::chrono::duration<double>(now - t).count();
    t = now;
    return s;
  };
  for (int rep = 0; rep < repeats; ++rep)
    for (int64_t r0 = 0; r0 < rows; r0 += kTile) {
      engine->setRows(x.data() + r0 * dim, kTile);
      for (int slot = 0; slot < slots; ++slot) {
        auto t = Clock::now();
        engine->dot(tile.data(), slot);
        dot += since(t);
        sigmoidEpilogue(tile.data(), kTile, kTile, kTile, rowKey, columnKey, true, params, sums);
        epilogue += since(t);
        engine->accumulateRowGrads(dx.data() + r0 * dim, tile.data(), slot);
        rowGrads += since(t);
        engine->accumulateColumnGrads(dy.data() + slot * kTile * dim, tile.data(), slot);
        columnGrads += since(t);
      }
    }
  const double tiles = double(repeats) * (rows / kTile) * slots;
  const double gflop = 2.0 * kTile * kTile * dim * tiles / 1e9;  // per product
  std::printf("S %.1f  dX %.1f  dY %.1f GFLOP/s; epilogue %.1f us a tile (%.1f %% of the tile)\n",
              gflop / dot, gflop / rowGrads, gflop / columnGrads, 1e6 * epilogue / tiles,
              100 * epilogue / (dot + epilogue + rowGrads + columnGrads));
}
