// The three GEMM-shaped products of one tile. All matrices are row-major
// float32; the contraction runs over contiguous rows of length `dim`.
#pragma once

#include <cstdint>

namespace siglip {

// dst[k][c] = src[c][k] for c < cols, k < dim; columns cols..width-1 are zero.
// Packing a tile of rows transposed turns its dot products into the same
// broadcast-and-FMA shape as tileAccumulate.
void packTransposed(float* dst, const float* src, int64_t cols, int64_t dim, int64_t width);

// s[r][c] = <a_r, b_c> for r < rows, c < width, with the b rows packed by
// packTransposed (bPacked is dim x width); a rows have stride dim, s rows width.
void tileDot(float* s, const float* a, int64_t rows, const float* bPacked, int64_t dim,
             int64_t width);

// out[r] += sum_k coef(r, k) * b_k, coef(r, k) = coef[r * coefRowStride +
// k * coefColStride]; out and b rows have stride dim. With strides (ld, 1)
// this is out += G * B, with (1, ld) it is out += G^T * B.
void tileAccumulate(float* out, int64_t rows, const float* coef, int64_t coefRowStride,
                    int64_t coefColStride, const float* b, int64_t depth, int64_t dim);

}  // namespace siglip
