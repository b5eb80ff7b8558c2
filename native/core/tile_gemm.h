// The three GEMM-shaped products of one tile of logits, behind one interface
// per engine (built-in kernels or OpenBLAS). All matrices are row-major
// float32; x and y rows have length `dim`, a tile is at most kTile x kTile.
#pragma once

#include <cstddef>
#include <cstdint>

namespace siglip {

// Rows and columns of one tile of logits: 128 measured faster than 64 and 256
// with both engines (README, "Tile-GEMM engine").
constexpr int64_t kTile = 128;

// Floats needed by packColumns for one column tile.
size_t packedColumnsSize(int64_t dim);

// Copies a column tile (rows c0..c0+cols of y, cols <= kTile) into the layouts
// the engine's tileDot and accumulateRowGrads read. Done once per column tile
// and reused by every row tile against it.
void packColumns(float* packed, const float* yTile, int64_t cols, int64_t dim);

// s[r][c] = <x_r, y_c> for r < rows, c < kTile (columns past the tile's are
// 0); s has row stride kTile.
void tileDot(float* s, const float* xTile, int64_t rows, const float* packed, int64_t dim);

// dx[r] += sum_c g[r][c] y_c: dX += G Y for rows x cols of G (stride kTile).
void accumulateRowGrads(float* dx, int64_t rows, const float* g, const float* packed, int64_t cols,
                        int64_t dim);

// dy[c] += sum_r g[r][c] x_r: dY += G^T X for rows x cols of G (stride kTile).
void accumulateColumnGrads(float* dy, int64_t cols, const float* g, const float* xTile,
                           int64_t rows, int64_t dim);

}  // namespace siglip
