// Engine-independent part of tile_gemm.h.
#include <algorithm>

#include "tile_gemm.h"

namespace siglip {

void packTransposed(float* dst, const float* src, int64_t cols, int64_t dim, int64_t width) {
  for (int64_t k = 0; k < dim; ++k) {
    float* line = dst + k * width;
    for (int64_t c = 0; c < cols; ++c) line[c] = src[c * dim + k];
    std::fill(line + cols, line + width, 0.0f);
  }
}

}  // namespace siglip
