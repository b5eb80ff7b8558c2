// Which (row, column) pairs are positives. The one place that knows the rule,
// so that group labels can be added later as another kind.
#pragma once

#include <cstdint>

// Shared with the CUDA kernels.
#if defined(__CUDACC__)
#define SIGLIP_HOST_DEVICE __host__ __device__
#else
#define SIGLIP_HOST_DEVICE
#endif

namespace siglip {

struct PositivePairs {
  enum class Kind { kDiagonal, kNone };
  Kind kind = Kind::kDiagonal;
  // Diagonal: row i's positive is column i + offset when it lies in [0, m).
  int64_t offset = 0;

  // The positive column of `row` among `m` columns, or -1 when it has none.
  SIGLIP_HOST_DEVICE int64_t columnOf(int64_t row, int64_t m) const {
    if (kind == Kind::kNone) return -1;
    const int64_t col = row + offset;
    return (col >= 0 && col < m) ? col : -1;
  }

  // Whether a row in [row0, row0 + height) has its positive column in [col0,
  // col0 + width), among `m` columns.
  SIGLIP_HOST_DEVICE bool anyIn(int64_t row0, int64_t height, int64_t col0, int64_t width,
                                int64_t m) const {
    if (kind == Kind::kNone) return false;
    const int64_t from = row0 + offset, to = row0 + offset + height;  // the rows' columns
    const int64_t lo = from > col0 ? from : col0;
    const int64_t hi = to < col0 + width ? to : col0 + width;
    return (lo > 0 ? lo : 0) < (hi < m ? hi : m);
  }
};

}  // namespace siglip
