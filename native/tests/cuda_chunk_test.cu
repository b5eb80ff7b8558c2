// The chunk bookkeeping of the CUDA pass, run on the CPU (no GPU needed): the
// chunk sides fitted to a budget (fitWalk), the order of the chunks and their
// operand copies (ChunkWalk), the operand copy's reads (OperandRows: every
// element of the padded copy, from 16-byte or single loads) and the slices
// that the warp sums are added in.
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "../cuda/chunk_walk.h"
#include "../cuda/operand_rows.cuh"
#include "../cuda/pass_sums.cuh"

namespace {

using namespace siglip::cuda;

int failed = 0;

void expect(bool ok, const std::string& what) {
  std::printf("%s: %s\n", ok ? "ok" : "FAIL", what.c_str());
  failed += !ok;
}

// Every chunk once, rows outer, padded to whole tiles; when a chunk's
// products run, X's copy holds its rows and Y's copy, from row yCopyRow, its
// columns (no later copy has overwritten them); Y is copied `yCopies` times.
void checkWalk(const ChunkWalk& walk, int64_t yCopies) {
  std::vector<std::pair<int64_t, int64_t>> visited, chunks;
  for (int64_t r0 = 0; r0 < walk.n; r0 += walk.rowChunk)
    for (int64_t c0 = 0; c0 < walk.m; c0 += walk.colChunk) chunks.emplace_back(r0, c0);
  // Which row of Y each row of Y's copy holds (-1: none yet), and X's copy's first row.
  std::vector<int64_t> yCopy(roundUp(walk.m, walk.colAlign), -1);
  int64_t xHolds = -1, copiesOfY = 0;
  bool copiesHold = true, padded = true;
  walk.forEach([&](const Chunk& c) {
    visited.emplace_back(c.r0, c.c0);
    padded = padded && c.rows == std::min(walk.rowChunk, walk.n - c.r0) &&
             c.cols == std::min(walk.colChunk, walk.m - c.c0) &&
             c.rowsPadded == roundUp(c.rows, walk.rowAlign) &&
             c.colsPadded == roundUp(c.cols, walk.colAlign);
    const int64_t end = c.yCopyRow + c.colsPadded;
    if (c.yCopyRow < 0 || end > static_cast<int64_t>(yCopy.size())) {
      copiesHold = false;
      return;
    }
    if (c.copyX) xHolds = c.r0;
    if (c.copyY) {
      for (int64_t i = 0; i < c.colsPadded; ++i) yCopy[c.yCopyRow + i] = c.c0 + i;
      ++copiesOfY;
    }
    copiesHold = copiesHold && xHolds == c.r0;
    for (int64_t i = 0; i < c.colsPadded; ++i) copiesHold &= yCopy[c.yCopyRow + i] == c.c0 + i;
  });
  const std::string what = std::to_string(walk.n) + " x " + std::to_string(walk.m) +
                           " in chunks of " + std::to_string(walk.rowChunk) + " x " +
                           std::to_string(walk.colChunk) + (walk.allOfY ? ", all of Y" : "");
  expect(visited == chunks, what + ": every chunk once, rows outer");
  expect(padded, what + ": padded to whole tiles");
  expect(copiesHold, what + ": the copies hold each chunk's rows and columns");
  expect(copiesOfY == yCopies, what + ": Y copied " + std::to_string(copiesOfY) + " times");
}

// fitWalk on an n x m pass (chunks of at most 512 x 512, 128-row tiles)
// whose workspace takes rowChunk colChunk + 100 yCopyRows bytes, against the
// sides and the choice of all of Y worked out by hand.
void checkFit(int64_t n, int64_t m, size_t budget, int64_t rowChunk, int64_t colChunk,
              bool allOfY) {
  const ChunkWalk walk = fitWalk(n, m, 512, 512, 128, 128, budget, [](const ChunkWalk& w) {
    return size_t(w.rowChunk * w.colChunk + 100 * w.yCopyRows());
  });
  const std::string what = std::to_string(n) + " x " + std::to_string(m) + " in " +
                           std::to_string(budget) + " bytes: chunks of " +
                           std::to_string(walk.rowChunk) + " x " + std::to_string(walk.colChunk) +
                           (walk.allOfY ? ", all of Y" : "");
  expect(walk.n == n && walk.m == m && walk.rowAlign == 128 && walk.colAlign == 128 &&
             walk.rowChunk == rowChunk && walk.colChunk == colChunk && walk.allOfY == allOfY,
         what);
}

// The padded copy of a rows x dim matrix read through OperandRows, starting
// `offset` floats into an aligned buffer, against the element-wise definition.
void checkCopy(int64_t rows, int64_t dim, int64_t rowsPadded, int64_t dimPadded, int offset,
               bool expectQuadLoads) {
  std::vector<float4> storage((offset + rows * dim) / 4 + 1);
  float* src = reinterpret_cast<float*>(storage.data()) + offset;
  for (int64_t i = 0; i < rows * dim; ++i) src[i] = static_cast<float>(i + 1);
  const OperandRows in = OperandRows::of(src, rows, dim, rowsPadded, dimPadded);
  std::vector<float> copy(rowsPadded * dimPadded, -1.0f);
  for (int64_t quad = 0; quad < in.quads(); ++quad) {
    float v[4];
    in.load(quad, v);
    for (int j = 0; j < 4; ++j) copy[quad * 4 + j] = v[j];
  }
  int64_t wrong = 0;
  for (int64_t r = 0; r < rowsPadded; ++r)
    for (int64_t k = 0; k < dimPadded; ++k) {
      const float want = r < rows && k < dim ? src[r * dim + k] : 0.0f;
      wrong += copy[r * dimPadded + k] != want;
    }
  const std::string what = std::to_string(rows) + " x " + std::to_string(dim) + " as " +
                           std::to_string(rowsPadded) + " x " + std::to_string(dimPadded) +
                           ", offset " + std::to_string(offset);
  expect(wrong == 0, "copy of " + what + " (" + std::to_string(wrong) + " wrong)");
  expect(in.quadLoads == expectQuadLoads,
         what + (expectQuadLoads ? ": 16-byte loads" : ": single loads"));
}

// The slices cover [0, count) in order, disjoint, and the sum by slices
// equals the plain sum (integers: exact in double).
void checkSlices(int64_t count, int64_t slices) {
  int64_t next = 0, sum = 0;
  bool ordered = true;
  for (int64_t b = 0; b < slices; ++b) {
    const SumSlice s = sumSlice(count, b, slices);
    ordered = ordered && s.begin == next && s.end >= s.begin;
    for (int64_t i = s.begin; i < s.end; ++i) sum += i;
    next = s.end;
  }
  expect(ordered && next == count && sum == count * (count - 1) / 2,
         std::to_string(slices) + " slices of " + std::to_string(count) + " slots");
}

}  // namespace

int main() {
  // 512 x 512 takes 313,344 bytes, 256 x 512 182,272; with all of Y's 1024
  // rows (1000 padded) they take 364,544 and 233,472. A budget is a bound
  // that may be met exactly.
  checkFit(1000, 1000, 313344, 512, 512, false);
  checkFit(1000, 1000, 200000, 256, 512, false);  // the rows halved first
  checkFit(1000, 1000, 233472, 256, 512, true);
  checkFit(1000, 1000, 233471, 256, 512, false);
  checkFit(1000, 1000, 1, 128, 128, false);     // one tile each: the smallest there is
  checkFit(100, 300, 1 << 20, 128, 384, true);  // sides from the sizes, under the largest
  // The wgmma pass at N = 65536 (chunks of 8192 x 16384), with and without
  // all of Y's copy; odd sizes; one chunk of columns.
  checkWalk({65536, 65536, 8192, 16384, 128, 256, true}, 4);
  checkWalk({65536, 65536, 8192, 16384, 128, 256, false}, 32);
  checkWalk({1000, 3000, 256, 512, 128, 256, true}, 6);
  checkWalk({1000, 3000, 256, 512, 128, 256, false}, 24);
  checkWalk({300, 77, 128, 256, 128, 256, false}, 1);
  checkWalk({5, 1000, 128, 128, 128, 128, false}, 8);
  checkCopy(5, 768, 128, 768, 0, true);    // rows padded
  checkCopy(130, 768, 256, 768, 0, true);  // a second tile of rows
  checkCopy(7, 768, 128, 768, 1, false);   // src not 16-byte aligned
  checkCopy(9, 5, 128, 64, 0, false);      // dim not a multiple of 4
  checkCopy(3, 70, 128, 128, 2, false);    // both, columns padded past a tile
  checkCopy(4, 72, 128, 128, 0, true);     // columns padded, quads aligned
  for (int64_t count : {1, 127, 128, 129, 1000, 32768, 131072}) checkSlices(count, kSumSlices);
  checkSlices(kSumSlices, 1);  // the totals: one block over the partial sums
  std::printf("cuda chunk: %d failed\n", failed);
  return failed == 0 ? 0 : 1;
}
