// What the GEMM kernel does with its outputs: the sigmoid epilogue turns dot
// products into G (and the loss and scalar-gradient sums); the accumulate
// epilogue adds a product into dX or dY.
#pragma once

#include <cuda_bf16.h>
#include <mma.h>

#include <cstdint>

#include "../core/positive_pairs.h"

namespace siglip::cuda {

template <typename T>
__device__ inline T toOperand(float v);
template <>
__device__ inline __nv_bfloat16 toOperand<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}
template <>
__device__ inline float toOperand<float>(float v) {
  return nvcuda::wmma::__float_to_tf32(v);
}

// Loss, sum of g and sum of g * dot, per thread then per block, in double.
struct Sums {
  double loss, grad, gradDot;
};

template <typename T>
struct SigmoidEpilogue {
  using State = Sums;
  T* g;  // [rows x ldg] G chunk, or null for the loss-only pass
  int64_t ldg;
  int64_t rows, cols;        // valid extent of the chunk
  int64_t rowBase, colBase;  // chunk origin in the whole problem
  int64_t m;                 // columns of the whole problem
  PositivePairs positives;
  float scale, bias, gradScale;
  double* blockSums;  // [grid blocks][3]

  __device__ void apply(int64_t row, int64_t col, const float (&dot)[8], Sums& s) const {
    const int64_t positiveCol = positives.columnOf(rowBase + row, m);
    alignas(16) T out[8];
#pragma unroll
    for (int q = 0; q < 8; ++q) {
      const bool valid = row < rows && col + q < cols;
      const float isPositive = colBase + col + q == positiveCol ? 1.0f : 0.0f;
      const float logit = scale * dot[q] + bias;
      const float e = expf(-fabsf(logit));
      // softplus(z) = max(z, 0) + log1p(exp(-|z|)), z = -label * logit
      const float z = isPositive > 0 ? -logit : logit;
      const float softplus = fmaxf(z, 0.0f) + log1pf(e);
      const float sigmoid = (logit >= 0 ? 1.0f : e) / (1.0f + e);
      const float grad = sigmoid - isPositive;
      if (valid) {
        s.loss += softplus;
        s.grad += grad;
        s.gradDot += static_cast<double>(grad) * dot[q];
      }
      out[q] = toOperand<T>(valid ? grad * gradScale : 0.0f);
    }
    if (g != nullptr) {  // 8 consecutive elements: one or two 16-byte stores
      const uint4* src = reinterpret_cast<const uint4*>(out);
      uint4* dst = reinterpret_cast<uint4*>(g + row * ldg + col);
#pragma unroll
      for (int v = 0; v < static_cast<int>(sizeof(out) / 16); ++v) dst[v] = src[v];
    }
  }

  // Block sums in a fixed order: the result does not depend on timing.
  __device__ void finish(Sums& s) const {
    __shared__ double warpSums[8][3];
    for (int offset = 16; offset > 0; offset /= 2) {
      s.loss += __shfl_down_sync(0xffffffffu, s.loss, offset);
      s.grad += __shfl_down_sync(0xffffffffu, s.grad, offset);
      s.gradDot += __shfl_down_sync(0xffffffffu, s.gradDot, offset);
    }
    const int warp = threadIdx.x / 32;
    if (threadIdx.x % 32 == 0) {
      warpSums[warp][0] = s.loss;
      warpSums[warp][1] = s.grad;
      warpSums[warp][2] = s.gradDot;
    }
    __syncthreads();
    if (threadIdx.x < 3) {
      double total = 0;
      for (int w = 0; w < static_cast<int>(blockDim.x / 32); ++w) total += warpSums[w][threadIdx.x];
      blockSums[(static_cast<int64_t>(blockIdx.y) * gridDim.x + blockIdx.x) * 3 + threadIdx.x] =
          total;
    }
  }
};

// out[row][col] += product, inside rows x cols (out rows are `ld` apart).
struct AccumulateEpilogue {
  struct State {};
  float* out;
  int64_t ld;
  int64_t rows, cols;

  __device__ void apply(int64_t row, int64_t col, const float (&v)[8], State&) const {
    if (row >= rows) return;
    float* dst = out + row * ld;
#pragma unroll
    for (int q = 0; q < 8; ++q)
      if (col + q < cols) dst[col + q] += v[q];
  }
  __device__ void finish(State&) const {}
};

}  // namespace siglip::cuda
