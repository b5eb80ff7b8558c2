// A warpgroup's 128 x 128 tile of bf16 outputs (G) to global memory the way
// CUTLASS's epilogues store: each warp writes its 16 x 16 blocks of the
// wgmma accumulator layout to shared memory with stmatrix (one instruction per
// block) in the 128-byte swizzle of the tensor copy engine, then one lane
// hands the warp's rows to the engine (TMA), which writes whole lines. Used by
// the ping-pong kernel for tiles of negatives (bench/gpu/NOTES.md, v14); its
// offsets are host code too, checked against the hardware's swizzle rule by
// native/tests/cuda_layout_test.cu.
#pragma once

#include <cstdint>

#include "hopper_ptx.cuh"

namespace siglip::cuda::hopper {

// The tile in shared memory: two halves of 64 columns, each 128 rows of 128
// bytes in 8-row swizzle atoms (16-byte chunk c of row r at chunk c ^ (r %
// 8)), as a tensor map with a box 64 columns wide and CU_TENSOR_MAP_SWIZZLE_128B
// reads it. The buffer starts 1024-byte aligned.
struct SwizzledTile {
  static constexpr int kRows = 128, kCols = 128;
  static constexpr int kHalfBytes = kRows * 128;
  static constexpr int kBytes = 2 * kHalfBytes;
  static constexpr int kBoxRows = 16;  // a warp's rows of one 64-row fragment

  // Byte offset of the chunk holding (row, col) .. (row, col + 7), col % 8 == 0.
  __host__ __device__ static constexpr uint32_t chunkOffset(int row, int col) {
    return (col / 64) * kHalfBytes + row * 128 + ((col % 64 / 8) ^ (row % 8)) * 16;
  }

  // The row address `lane` gives stmatrix.x4 for the 16 x 16 block at (row0,
  // col0): matrix m = lane / 8 is rows + 8 (m % 2), columns + 8 (m / 2), the
  // order of the accumulator pairs (TileWork::forEachBlock).
  __host__ __device__ static constexpr uint32_t matrixRowOffset(int row0, int col0, int lane) {
    return chunkOffset(row0 + lane % 8 + lane / 8 % 2 * 8, col0 + lane / 16 * 8);
  }

  // Box b (0 .. 3) of warp w's rows: its first row and column in the tile
  // (the row also locates it in the buffer: it starts at chunkOffset(row, col)).
  __host__ __device__ static constexpr int boxRow(int warp, int b) {
    return b / 2 * 64 + warp % 4 * kBoxRows;
  }
  __host__ __device__ static constexpr int boxCol(int b) { return b % 2 * 64; }
};

// The warp's rows of the tile at `buffer` (shared) to the map's tile at
// (row0, col0); lane 0 issues them as one bulk group. The buffer must not be
// written again before that group has read it (waitTileRead).
__device__ inline void storeTileRows(const CUtensorMap* map, uint32_t buffer, int32_t row0,
                                     int32_t col0, int warp, int lane) {
  fenceAsyncShared();  // this lane's stmatrix writes, before the copy engine reads them
  __syncwarp();
  if (lane != 0) return;
#pragma unroll
  for (int b = 0; b < 4; ++b) {
    const int row = SwizzledTile::boxRow(warp, b), col = SwizzledTile::boxCol(b);
    tensorStore(map, buffer + SwizzledTile::chunkOffset(row, col), col0 + col, row0 + row);
  }
  bulkCommit();
}

// Before the warp writes its rows of the buffer again.
__device__ inline void waitTileRead(int lane) {
  if (lane == 0) bulkWaitRead();
  __syncwarp();
}

}  // namespace siglip::cuda::hopper
