#include "sigmoid_epilogue.h"

#include "tile_kernels.h"

namespace siglip {

// Through the instruction set of the tile kernels (tile_kernels.h).
void sigmoidEpilogue(float* tile, int64_t ld, int64_t rows, int64_t cols, const int32_t* rowKey,
                     const int32_t* columnKey, bool anyPositive, const EpilogueParams& params,
                     TileSums& sums) {
  kernels::forThisCpu().epilogue(tile, ld, rows, cols, rowKey, columnKey, anyPositive, params,
                                 sums);
}

}  // namespace siglip
