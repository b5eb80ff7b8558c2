// The three GEMM-shaped products of one tile of logits, behind one interface
// per engine: built-in fp32 kernels or OpenBLAS (chosen at build time), and
// the opt-in bf16 dot products. All matrices are row-major float32; x and y
// rows have length dim; a tile is at most kTile x kTile. One engine per worker:
// it owns packed copies of a few column tiles (its slots) and of the current
// row tile, so that each copy serves many tiles.
#pragma once

#include <cstdint>
#include <memory>

#include "siglip.h"

namespace siglip {

// Rows and columns of one tile of logits: 128 measured faster than 64 and 256
// with both engines (README, "Tile-GEMM engine").
constexpr int64_t kTile = 128;

class TileEngine {
 public:
  virtual ~TileEngine() = default;

  // How many column tiles the engine holds at once: the pass visits a block
  // of that many column tiles with each row tile.
  virtual int columnSlots() const = 0;

  // Takes rows c0..c0+cols of y (cols <= kTile) as column tile `slot`, copied
  // into the layouts the products read; every row tile reuses it.
  virtual void setColumns(int slot, const float* yTile, int64_t cols) = 0;

  // Takes rows r0..r0+rows of x (rows <= kTile) as the current row tile.
  virtual void setRows(const float* xTile, int64_t rows) = 0;

  // s[r][c] = <x_r, y_c> over the row tile and column tile `slot` (c < kTile,
  // 0 past the column tile); s has row stride kTile.
  virtual void dot(float* s, int slot) = 0;

  // dx[r] += sum_c g[r][c] y_c (dX += G Y) over the row tile and column tile
  // `slot`; g has row stride kTile.
  virtual void accumulateRowGrads(float* dx, const float* g, int slot) = 0;

  // dy[c] += sum_r g[r][c] x_r (dY += G^T X), likewise.
  virtual void accumulateColumnGrads(float* dy, const float* g, int slot) = 0;
};

// The build's fp32 engine (tile_engine_fp32.cc or tile_engine_openblas.cc).
std::unique_ptr<TileEngine> makeFloat32Engine(int64_t dim);
// bf16 dot products: AVX512-BF16 where the CPU has it, else the same sums
// through the fp32 kernels.
std::unique_ptr<TileEngine> makeBFloat16Engine(int64_t dim);
// What makeBFloat16Engine runs on this CPU: "avx512-bf16" or "fp32-widened".
const char* bfloat16Arithmetic();

inline std::unique_ptr<TileEngine> makeTileEngine(Precision precision, int64_t dim) {
  return precision == Precision::kBFloat16 ? makeBFloat16Engine(dim) : makeFloat32Engine(dim);
}

}  // namespace siglip
