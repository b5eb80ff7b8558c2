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
};

}  // namespace siglip
