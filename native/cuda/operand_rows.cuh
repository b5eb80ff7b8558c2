// The operand copies of a chunk: fp32 rows of X or Y rounded to the GEMMs'
// operand type, zero-padded to whole tiles. Where all of Y's copy does not fit
// (chunk_walk.h), each chunk of columns is copied again for every chunk of
// rows: at N = 1,048,576 the pass reads ~400 GB of Y here, so the copy should
// run at memory speed.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "epilogues.cuh"

namespace siglip::cuda {

// fp32 rows [rows x dim] read as their padded copy [rowsPadded x dimPadded],
// four columns (a quad) at a time: dimPadded is a multiple of 4, so a quad
// never spans two rows. Where src allows (dim a multiple of 4, src 16-byte
// aligned) a quad is one 16-byte load: four times the bytes in flight of a
// load per float, which is what bounds a copy of one load per thread.
struct OperandRows {
  const float* src;
  int64_t rows, dim, rowsPadded, dimPadded;
  bool quadLoads;

  static OperandRows of(const float* src, int64_t rows, int64_t dim, int64_t rowsPadded,
                        int64_t dimPadded) {
    const bool aligned = reinterpret_cast<uintptr_t>(src) % alignof(float4) == 0;
    return {src, rows, dim, rowsPadded, dimPadded, aligned && dim % 4 == 0};
  }

  __host__ __device__ int64_t quads() const { return rowsPadded * dimPadded / 4; }

  // Columns 4 c ... 4 c + 3 of row r of the padded copy, for quad = r
  // dimPadded / 4 + c.
  __host__ __device__ void load(int64_t quad, float (&v)[4]) const {
    const int64_t quadsPerRow = dimPadded / 4;
    const int64_t r = quad / quadsPerRow, k = quad % quadsPerRow * 4;
    if (r >= rows || k >= dim) {
      v[0] = v[1] = v[2] = v[3] = 0.0f;
      return;
    }
    const float* at = src + r * dim + k;
    if (quadLoads) {
      const float4 q = *reinterpret_cast<const float4*>(at);
      v[0] = q.x, v[1] = q.y, v[2] = q.z, v[3] = q.w;
      return;
    }
    for (int j = 0; j < 4; ++j) v[j] = k + j < dim ? at[j] : 0.0f;
  }
};

// dst = the padded copy of `in`, rounded to T (bf16, or tf32 kept in a float).
template <typename T>
__global__ void toOperandRows(const OperandRows in, T* dst) {
  const int64_t quads = in.quads();
  for (int64_t quad = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; quad < quads;
       quad += int64_t(gridDim.x) * blockDim.x) {
    float v[4];
    in.load(quad, v);
    T out[4];
#pragma unroll
    for (int j = 0; j < 4; ++j) out[j] = toOperand<T>(v[j]);
    store<T, 4>(out, dst + quad * 4);
  }
}

}  // namespace siglip::cuda
