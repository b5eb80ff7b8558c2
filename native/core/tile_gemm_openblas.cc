// Tile products through OpenBLAS, single-threaded inside our workers (the
// ring schedule owns the parallelism). Built with -DSIGLIP_BLAS=ON; the
// built-in kernels are the default (see the engine table in the README).
#include <cblas.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "tile_gemm.h"

extern "C" void openblas_set_num_threads(int threads);

namespace siglip {
namespace {

void singleThreaded() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

// The packed column tile: Y^T (dim x kTile, zero beyond the tile's columns),
// then a copy of Y (kTile x dim).
int64_t rowsOffset(int64_t dim) { return dim * kTile; }

}  // namespace

size_t packedColumnsSize(int64_t dim) { return static_cast<size_t>(2 * dim * kTile); }

void packColumns(float* packed, const float* yTile, int64_t cols, int64_t dim) {
  for (int64_t k = 0; k < dim; ++k) {
    float* line = packed + k * kTile;
    for (int64_t c = 0; c < cols; ++c) line[c] = yTile[c * dim + k];
    std::fill(line + cols, line + kTile, 0.0f);
  }
  std::memcpy(packed + rowsOffset(dim), yTile, sizeof(float) * cols * dim);
}

void tileDot(float* s, const float* xTile, int64_t rows, const float* packed, int64_t dim) {
  singleThreaded();
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, kTile, dim, 1.0f, xTile, dim, packed,
              kTile, 0.0f, s, kTile);
}

void accumulateRowGrads(float* dx, int64_t rows, const float* g, const float* packed, int64_t cols,
                        int64_t dim) {
  singleThreaded();
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, dim, cols, 1.0f, g, kTile,
              packed + rowsOffset(dim), dim, 1.0f, dx, dim);
}

void accumulateColumnGrads(float* dy, int64_t cols, const float* g, const float* xTile,
                           int64_t rows, int64_t dim) {
  singleThreaded();
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, cols, dim, rows, 1.0f, g, kTile, xTile, dim,
              1.0f, dy, dim);
}

}  // namespace siglip
