// Built-in tile kernels: register-blocked, SIMD along the feature dimension.
#include <algorithm>

#include "simd.h"
#include "tile_gemm.h"

namespace siglip {

using simd::kLanes;
using simd::Vec;

namespace {

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

void tileDot(float* s, const float* a, int64_t rows, const float* bPacked, int64_t dim,
             int64_t width) {
  std::fill(s, s + rows * width, 0.0f);
  tileAccumulate(s, rows, a, dim, 1, bPacked, dim, width);
}

SIGLIP_MULTIVERSION
void tileAccumulate(float* out, int64_t rows, const float* coef, int64_t coefRowStride,
                    int64_t coefColStride, const float* b, int64_t depth, int64_t dim) {
  int64_t r = 0;
  for (; r + 6 <= rows; r += 6)
    accumulateRows<6>(out + r * dim, coef + r * coefRowStride, coefRowStride, coefColStride, b,
                      depth, dim);
  for (; r + 4 <= rows; r += 4)
    accumulateRows<4>(out + r * dim, coef + r * coefRowStride, coefRowStride, coefColStride, b,
                      depth, dim);
  for (; r < rows; ++r)
    accumulateRows<1>(out + r * dim, coef + r * coefRowStride, coefRowStride, coefColStride, b,
                      depth, dim);
}

}  // namespace siglip
