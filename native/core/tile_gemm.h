// The three GEMM-shaped products of one tile. All matrices are row-major
// float32; the contraction runs over contiguous rows of length `dim`.
#pragma once

#include <cstdint>

namespace siglip {

// s[r][c] = <a_r, b_c> for r < rows, c < cols. a rows and b rows have stride dim.
void tileDot(float* s, int64_t ldS, const float* a, int64_t rows, const float* b, int64_t cols,
             int64_t dim);

// out[r] += sum_k coef(r, k) * b_k, coef(r, k) = coef[r * coefRowStride +
// k * coefColStride]; out and b rows have stride dim. With strides (ld, 1)
// this is out += G * B, with (1, ld) it is out += G^T * B.
void tileAccumulate(float* out, int64_t rows, const float* coef, int64_t coefRowStride,
                    int64_t coefColStride, const float* b, int64_t depth, int64_t dim);

}  // namespace siglip
