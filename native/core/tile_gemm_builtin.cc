// Built-in tile kernels: register-blocked, SIMD along the feature dimension.
#include <algorithm>

#include "simd.h"
#include "tile_gemm.h"

namespace siglip {

using simd::kLanes;
using simd::Vec;

namespace {

constexpr int kDotBlock = 4;  // 4 x 4 dot products at a time: 16 accumulators

// One 4 x 4 block of dot products. Pointers past the tile's edge repeat the
// last valid row; the caller stores only valid entries.
SIGLIP_INLINE void dotBlock(float out[kDotBlock][kDotBlock], const float* const a[kDotBlock],
                            const float* const b[kDotBlock], int64_t dim) {
  Vec acc[kDotBlock][kDotBlock] = {};
  int64_t d = 0;
  for (; d + kLanes <= dim; d += kLanes) {
    Vec av[kDotBlock], bv[kDotBlock];
    for (int r = 0; r < kDotBlock; ++r) av[r] = simd::load(a[r] + d);
    for (int c = 0; c < kDotBlock; ++c) bv[c] = simd::load(b[c] + d);
    for (int r = 0; r < kDotBlock; ++r)
      for (int c = 0; c < kDotBlock; ++c) acc[r][c] += av[r] * bv[c];
  }
  for (int r = 0; r < kDotBlock; ++r)
    for (int c = 0; c < kDotBlock; ++c) {
      float s = simd::sum(acc[r][c]);
      for (int64_t k = d; k < dim; ++k) s += a[r][k] * b[c][k];
      out[r][c] = s;
    }
}

// out rows [0, kRows) += coef * b over `width` columns starting at d0, where
// width is kVecs * kLanes.
template <int kRows, int kVecs>
SIGLIP_INLINE void accumulatePanel(float* out, const float* coef, int64_t coefRowStride,
                                   int64_t coefColStride, const float* b, int64_t depth,
                                   int64_t dim, int64_t d0) {
  Vec acc[kRows][kVecs];
  for (int r = 0; r < kRows; ++r)
    for (int v = 0; v < kVecs; ++v) acc[r][v] = simd::load(out + r * dim + d0 + v * kLanes);
  for (int64_t k = 0; k < depth; ++k) {
    Vec bv[kVecs];
    for (int v = 0; v < kVecs; ++v) bv[v] = simd::load(b + k * dim + d0 + v * kLanes);
    for (int r = 0; r < kRows; ++r) {
      const Vec g = simd::broadcast(coef[r * coefRowStride + k * coefColStride]);
      for (int v = 0; v < kVecs; ++v) acc[r][v] += g * bv[v];
    }
  }
  for (int r = 0; r < kRows; ++r)
    for (int v = 0; v < kVecs; ++v) simd::store(out + r * dim + d0 + v * kLanes, acc[r][v]);
}

template <int kRows>
SIGLIP_INLINE void accumulateRows(float* out, const float* coef, int64_t coefRowStride,
                                  int64_t coefColStride, const float* b, int64_t depth,
                                  int64_t dim) {
  int64_t d = 0;
  for (; d + 4 * kLanes <= dim; d += 4 * kLanes)
    accumulatePanel<kRows, 4>(out, coef, coefRowStride, coefColStride, b, depth, dim, d);
  for (; d + kLanes <= dim; d += kLanes)
    accumulatePanel<kRows, 1>(out, coef, coefRowStride, coefColStride, b, depth, dim, d);
  for (; d < dim; ++d)  // feature tail narrower than one vector
    for (int r = 0; r < kRows; ++r) {
      float s = out[r * dim + d];
      for (int64_t k = 0; k < depth; ++k)
        s += coef[r * coefRowStride + k * coefColStride] * b[k * dim + d];
      out[r * dim + d] = s;
    }
}

}  // namespace

SIGLIP_MULTIVERSION
void tileDot(float* s, int64_t ldS, const float* a, int64_t rows, const float* b, int64_t cols,
             int64_t dim) {
  for (int64_t r0 = 0; r0 < rows; r0 += kDotBlock) {
    const float* aRows[kDotBlock];
    for (int r = 0; r < kDotBlock; ++r) aRows[r] = a + std::min(r0 + r, rows - 1) * dim;
    for (int64_t c0 = 0; c0 < cols; c0 += kDotBlock) {
      const float* bRows[kDotBlock];
      for (int c = 0; c < kDotBlock; ++c) bRows[c] = b + std::min(c0 + c, cols - 1) * dim;
      float block[kDotBlock][kDotBlock];
      dotBlock(block, aRows, bRows, dim);
      const int64_t rEnd = std::min<int64_t>(kDotBlock, rows - r0);
      const int64_t cEnd = std::min<int64_t>(kDotBlock, cols - c0);
      for (int64_t r = 0; r < rEnd; ++r)
        for (int64_t c = 0; c < cEnd; ++c) s[(r0 + r) * ldS + c0 + c] = block[r][c];
    }
  }
}

SIGLIP_MULTIVERSION
void tileAccumulate(float* out, int64_t rows, const float* coef, int64_t coefRowStride,
                    int64_t coefColStride, const float* b, int64_t depth, int64_t dim) {
  int64_t r = 0;
  for (; r + 4 <= rows; r += 4)
    accumulateRows<4>(out + r * dim, coef + r * coefRowStride, coefRowStride, coefColStride, b,
                      depth, dim);
  for (; r < rows; ++r)
    accumulateRows<1>(out + r * dim, coef + r * coefRowStride, coefRowStride, coefColStride, b,
                      depth, dim);
}

}  // namespace siglip
