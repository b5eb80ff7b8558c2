// The CUDA pass's chunks: their sides, fitted to the workspace budget, their
// order and the operand copies each one needs, shared by the pass's two
// implementations (WMMA and wgmma). Plain C++: the tests walk it on the host.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace siglip::cuda {

inline int64_t roundUp(int64_t v, int64_t to) { return (v + to - 1) / to * to; }

// One step of fitting the chunk buffers into a budget: halves the larger
// chunk side (keeping whole tiles); false when both are one tile already.
inline bool halveLargerChunk(int64_t& rowChunk, int64_t& colChunk, int64_t rowTile,
                             int64_t colTile) {
  if (rowChunk == rowTile && colChunk == colTile) return false;
  if (rowChunk >= colChunk)
    rowChunk = std::max<int64_t>(rowTile, roundUp(rowChunk / 2, rowTile));
  else
    colChunk = std::max<int64_t>(colTile, roundUp(colChunk / 2, colTile));
  return true;
}

struct Chunk {
  int64_t r0, rows, rowsPadded;  // rows r0 ... r0 + rows - 1 of X, padded to whole tiles
  int64_t c0, cols, colsPadded;  // rows c0 ... c0 + cols - 1 of Y
  int64_t yCopyRow;              // where Y's copy holds these columns: c0 with allOfY, else 0
  bool copyX, copyY;             // the operand copies to make before its products
};

// Chunks of rows outer, of columns inner. X's copy holds one chunk of rows,
// made at its first column chunk. Y's copy holds one chunk of columns, made at
// every chunk; or, with allOfY, all of Y (chunk c0 at row c0 of the copy),
// each column chunk made once, in the first chunk of rows: at N = 65536 and
// D = 768 that saves 28 of 32 copies of 16384 rows.
struct ChunkWalk {
  int64_t n, m;                // rows of X and of Y
  int64_t rowChunk, colChunk;  // multiples of rowAlign and colAlign
  int64_t rowAlign, colAlign;  // the padding of a chunk's copies
  bool allOfY;

  // The rows of Y's copy: all of Y's, padded, or one chunk's.
  int64_t yCopyRows() const { return allOfY ? roundUp(m, colAlign) : colChunk; }

  template <typename Visit>
  void forEach(Visit&& visit) const {
    for (int64_t r0 = 0; r0 < n; r0 += rowChunk) {
      const int64_t rows = std::min(rowChunk, n - r0);
      for (int64_t c0 = 0; c0 < m; c0 += colChunk) {
        const int64_t cols = std::min(colChunk, m - c0);
        const bool copyY = r0 == 0 || (!allOfY && m > colChunk);
        visit(Chunk{r0, rows, roundUp(rows, rowAlign), c0, cols, roundUp(cols, colAlign),
                    allOfY ? c0 : 0, c0 == 0, copyY});
      }
    }
  }
};

// The walk of an n x m pass whose workspace takes bytesFor(walk) bytes: chunks
// of at most maxRows x maxCols (multiples of the aligns), the larger side
// halved until the workspace fits `budget` or both sides are one tile; then
// with all of Y's copy where that fits as well.
template <typename Bytes>
ChunkWalk fitWalk(int64_t n, int64_t m, int64_t maxRows, int64_t maxCols, int64_t rowAlign,
                  int64_t colAlign, size_t budget, const Bytes& bytesFor) {
  ChunkWalk walk{n,
                 m,
                 std::min(roundUp(n, rowAlign), maxRows),
                 std::min(roundUp(m, colAlign), maxCols),
                 rowAlign,
                 colAlign,
                 false};
  while (bytesFor(walk) > budget &&
         halveLargerChunk(walk.rowChunk, walk.colChunk, rowAlign, colAlign)) {
  }
  ChunkWalk withAllOfY = walk;
  withAllOfY.allOfY = true;
  return bytesFor(withAllOfY) <= budget ? withAllOfY : walk;
}

}  // namespace siglip::cuda
