// Which (row, column) pairs are positives. The one place that knows the rule:
// the diagonal (row i with column i + offset), none, or group labels (row i
// with every column j whose label equals row i's, labels >= 0).
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
  enum class Kind { kDiagonal, kNone, kLabels };
  Kind kind = Kind::kDiagonal;
  // Diagonal: row i's positive is column i + offset when it lies in [0, m).
  int64_t offset = 0;
  // Labels: pair (i, j) is positive iff rowLabels[i] >= 0 and rowLabels[i] ==
  // columnLabels[j] (n and m entries); a negative label matches nothing.
  const int32_t* rowLabels = nullptr;
  const int32_t* columnLabels = nullptr;

  // Diagonal and none: the positive column of `row` among `m` columns, or -1
  // when it has none.
  SIGLIP_HOST_DEVICE int64_t columnOf(int64_t row, int64_t m) const {
    if (kind != Kind::kDiagonal) return -1;
    const int64_t col = row + offset;
    return (col >= 0 && col < m) ? col : -1;
  }

  // Diagonal and none: whether a row in [row0, row0 + height) has its positive
  // column in [col0, col0 + width), among `m` columns.
  SIGLIP_HOST_DEVICE bool anyIn(int64_t row0, int64_t height, int64_t col0, int64_t width,
                                int64_t m) const {
    if (kind != Kind::kDiagonal) return false;
    const int64_t from = row0 + offset, to = row0 + offset + height;  // the rows' columns
    const int64_t lo = from > col0 ? from : col0;
    const int64_t hi = to < col0 + width ? to : col0 + width;
    return (lo > 0 ? lo : 0) < (hi < m ? hi : m);
  }

  // Every kind: whether (row, col) is a positive pair among `m` columns.
  bool isPositive(int64_t row, int64_t col, int64_t m) const {
    if (kind == Kind::kLabels) return rowLabels[row] >= 0 && rowLabels[row] == columnLabels[col];
    return columnOf(row, m) == col;
  }

  // The rule on one tile (rows [r0, r0 + rows) x columns [c0, c0 + cols)) as
  // keys that the vectorized epilogue compares: (r, c) is positive iff
  // rowKey[r] >= 0 and rowKey[r] == columnKey[c]. Returns whether any row has
  // a key, so that a tile without positives can skip the compare.
  bool tileKeys(int64_t r0, int64_t rows, int64_t c0, int64_t cols, int64_t m, int32_t* rowKey,
                int32_t* columnKey) const {
    bool any = false;
    if (kind == Kind::kLabels) {
      for (int64_t c = 0; c < cols; ++c) columnKey[c] = columnLabels[c0 + c];
      for (int64_t r = 0; r < rows; ++r) {
        rowKey[r] = rowLabels[r0 + r] >= 0 ? rowLabels[r0 + r] : -1;
        any = any || rowKey[r] >= 0;
      }
      return any;
    }
    for (int64_t c = 0; c < cols; ++c) columnKey[c] = static_cast<int32_t>(c);
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t col = columnOf(r0 + r, m) - c0;
      rowKey[r] = col >= 0 && col < cols ? static_cast<int32_t>(col) : -1;
      any = any || rowKey[r] >= 0;
    }
    return any;
  }
};

}  // namespace siglip
