// What the GEMM kernel does with its outputs: the sigmoid epilogue turns dot
// products into G (and the loss and scalar-gradient sums); the accumulate
// epilogue adds a product into dX or dY.
#pragma once

#include <cuda_bf16.h>
#include <mma.h>

#include <cstdint>

#include "../core/positive_pairs.h"
#include "sigmoid_terms.h"

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

// kWidth consecutive elements as 16-, 8- or 4-byte stores.
template <typename T, int kWidth>
__device__ inline void store(const T (&out)[kWidth], T* dst) {
  constexpr int kBytes = kWidth * sizeof(T);
  if constexpr (kBytes % 16 == 0) {
#pragma unroll
    for (int v = 0; v < kBytes / 16; ++v)
      reinterpret_cast<uint4*>(dst)[v] = reinterpret_cast<const uint4*>(out)[v];
  } else if constexpr (kBytes == 8) {
    *reinterpret_cast<uint2*>(dst) = *reinterpret_cast<const uint2*>(out);
  } else {
    static_assert(kBytes == 4, "pairs of bf16 at least");
    *reinterpret_cast<uint32_t*>(dst) = *reinterpret_cast<const uint32_t*>(out);
  }
}

// A warp's sums (loss, sum of g, sum of g * dot), reduced in double in a fixed
// order (the result does not depend on timing) and written by lane 0 to
// warpSums[slot]: every warp has its own slot.
__device__ inline void writeWarpSums(double loss, double grad, double gradDot, double* warpSums,
                                     int64_t slot) {
  double v[3] = {loss, grad, gradDot};
#pragma unroll
  for (int q = 0; q < 3; ++q)
    for (int offset = 16; offset > 0; offset /= 2)
      v[q] += __shfl_down_sync(0xffffffffu, v[q], offset);
  if (threadIdx.x % 32 == 0)
    for (int q = 0; q < 3; ++q) warpSums[slot * 3 + q] = v[q];
}

// Loss, sum of g and sum of g * dot: per thread in float over its outputs of
// one tile (at most 128 values), then in double across the warp, the tile and
// the pass (addSliceSums, pass_sums.cuh).
struct Sums {
  float loss, grad, gradDot;
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
  double* warpSums;  // [warps of the launch][3]

  // Row's positive relative to `col`: q if it is output col + q.
  __device__ int64_t positiveFrom(int64_t row, int64_t col) const {
    return positives.columnOf(rowBase + row, m) - colBase - col;
  }

  // How many of the kWidth outputs from `col` lie inside the chunk.
  template <int kWidth>
  __device__ int validWidth(int64_t row, int64_t col) const {
    const int64_t left = row < rows ? cols - col : 0;
    return left < kWidth ? static_cast<int>(left) : kWidth;
  }

  // Whether every output of the height x width block at (row, col) lies inside
  // the chunk and is a negative pair (no labels or masks needed there).
  __host__ __device__ bool onlyNegativesIn(int64_t row, int64_t col, int height, int width) const {
    return row + height <= rows && col + width <= cols &&
           !positives.anyIn(rowBase + row, height, colBase + col, width, m);
  }

  // G = grads * gradScale for the kWidth outputs from `col` (not in the
  // loss-only pass).
  template <int kWidth>
  __device__ void storeGrads(int64_t row, int64_t col, const float (&grads)[kWidth]) const {
    if (g != nullptr) writeGrads(row, col, grads);
  }
  // G = grads * gradScale, as operands of the dX/dY products.
  template <int kWidth>
  __device__ void scaledGrads(const float (&grads)[kWidth], T (&out)[kWidth]) const {
#pragma unroll
    for (int q = 0; q < kWidth; ++q) out[q] = toOperand<T>(grads[q] * gradScale);
  }
  // G of two adjacent outputs as one 32-bit word (the first in the low half).
  __device__ uint32_t gradBits(const float (&grads)[2]) const {
    static_assert(sizeof(T) == 2, "two 16-bit elements of G");
    alignas(4) T out[2];
    scaledGrads(grads, out);
    return *reinterpret_cast<const uint32_t*>(out);
  }
  template <int kWidth>
  __device__ void writeGrads(int64_t row, int64_t col, const float (&grads)[kWidth]) const {
    alignas(16) T out[kWidth];
    scaledGrads(grads, out);
    store(out, g + row * ldg + col);
  }

  // kWidth consecutive outputs of one row, from column `col`.
  template <int kWidth>
  __device__ void apply(int64_t row, int64_t col, const float (&dot)[kWidth], Sums& s) const {
    const int64_t positive = positiveFrom(row, col);  // q, if any
    const int validWidth = this->template validWidth<kWidth>(row, col);
    float grads[kWidth];
#pragma unroll
    for (int q = 0; q < kWidth; ++q) {
      const bool isPositive = positive == q;
      const float logit = scale * dot[q] + bias;
      const float e = __expf(-fabsf(logit));
      // softplus(z) = max(z, 0) + log1p(exp(-|z|)), z = -label * logit;
      // log1p(e) ~ e (1 - e / 2) where the fast log would lose e.
      const float z = isPositive ? -logit : logit;
      const float log1pE = e < 1e-3f ? e * (1.0f - 0.5f * e) : __logf(1.0f + e);
      const float softplus = fmaxf(z, 0.0f) + log1pE;
      const float sigmoid = __fdividef(logit >= 0 ? 1.0f : e, 1.0f + e);
      grads[q] = q < validWidth ? sigmoid - (isPositive ? 1.0f : 0.0f) : 0.0f;
      if (q < validWidth) {
        s.loss += softplus;
        s.grad += grads[q];
        s.gradDot += grads[q] * dot[q];
      }
    }
    storeGrads(row, col, grads);
  }

  __device__ void finish(const Sums& s, int64_t slot) const {
    writeWarpSums(s.loss, s.grad, s.gradDot, warpSums, slot);
  }
};

// The sigmoid epilogue with the elementwise work of sigmoid_terms.h: about half
// the instructions per output of SigmoidEpilogue and two special-function
// operations instead of three. The wgmma pass's (its S pass 19.7 -> 17.7 ms
// at N = 65536 on an H200: bench/gpu/NOTES.md, v10); the WMMA pass keeps
// SigmoidEpilogue, as the lean math has not been timed there.
template <typename T>
struct LeanSigmoidEpilogue {
  using State = TermSums;
  SigmoidEpilogue<T> chunk;  // the chunk, its labels, G and the warp sums
  float scale2, bias2;       // logit / ln 2 = scale2 * dot + bias2

  static LeanSigmoidEpilogue from(const SigmoidEpilogue<T>& e) {
    return {e, static_cast<float>(e.scale * kLog2E), static_cast<float>(e.bias * kLog2E)};
  }

  template <int kWidth>
  __device__ void apply(int64_t row, int64_t col, const float (&dot)[kWidth], TermSums& s) const {
    float grads[kWidth];
    sigmoidTerms(dot, chunk.positiveFrom(row, col), chunk.template validWidth<kWidth>(row, col),
                 scale2, bias2, s, grads);
    chunk.storeGrads(row, col, grads);
  }

  __device__ bool onlyNegativesIn(int64_t row, int64_t col, int height, int width) const {
    return chunk.onlyNegativesIn(row, col, height, width);
  }
  __device__ bool writesGrads() const { return chunk.g != nullptr; }

  // kWidth outputs inside a block that onlyNegativesIn, in the loss-only pass
  // (G not written): no labels, no masks.
  template <int kWidth>
  __device__ void applyNegatives(int64_t, int64_t, const float (&dot)[kWidth], TermSums& s) const {
    float grads[kWidth];  // not stored in this pass
    negativeTerms(dot, scale2, bias2, s, grads);
  }

  // Two adjacent outputs of such a block: their G as gradBits.
  __device__ uint32_t negativeGradBits(const float (&dot)[2], TermSums& s) const {
    float grads[2];
    negativeTerms(dot, scale2, bias2, s, grads);
    return chunk.gradBits(grads);
  }

  __device__ void finish(const TermSums& s, int64_t slot) const {
    writeWarpSums(kLn2 * s.positivePart + s.log1pExps, s.grad, s.gradDot, chunk.warpSums, slot);
  }
};

// Asks for the line holding `p` to be brought into L2 (a hint: no result).
__device__ inline void prefetchL2(const void* p) {
  asm volatile("prefetch.global.L2 [%0];\n" ::"l"(p));
}

// out[row][col] += product, inside rows x cols (out rows are `ld` apart).
struct AccumulateEpilogue {
  struct State {};
  float* out;
  int64_t ld;
  int64_t rows, cols;

  // Whether the kWidth outputs from (row, col) lie inside and start 16-byte
  // aligned, so that they can be read and written as float4s.
  template <int kWidth>
  __device__ bool wholeVectors(int64_t row, int64_t col) const {
    return kWidth % 4 == 0 && row < rows && col + kWidth <= cols &&
           reinterpret_cast<uintptr_t>(out + row * ld + col) % 16 == 0;
  }

  template <int kWidth>
  __device__ void apply(int64_t row, int64_t col, const float (&v)[kWidth], State&) const {
    if (row >= rows) return;
    float* dst = out + row * ld + col;
    if constexpr (kWidth % 4 == 0) {
      if (wholeVectors<kWidth>(row, col)) {
#pragma unroll
        for (int q = 0; q < kWidth; q += 4) {
          float4 sum = *reinterpret_cast<const float4*>(dst + q);
          sum.x += v[q], sum.y += v[q + 1], sum.z += v[q + 2], sum.w += v[q + 3];
          *reinterpret_cast<float4*>(dst + q) = sum;
        }
        return;
      }
    }
#pragma unroll
    for (int q = 0; q < kWidth; ++q)
      if (col + q < cols) dst[q] += v[q];
  }
  // kBatch rows at once: every read before any write, so that the reads are
  // in flight together (the rows differ, so no write can change a read).
  template <int kBatch, int kWidth>
  __device__ void applyBatch(const int64_t (&row)[kBatch], int64_t col,
                             const float (&v)[kBatch][kWidth], State& state) const {
    bool whole = true;
#pragma unroll
    for (int b = 0; b < kBatch; ++b) whole = whole && wholeVectors<kWidth>(row[b], col);
    if (!whole) {
#pragma unroll
      for (int b = 0; b < kBatch; ++b) apply(row[b], col, v[b], state);
      return;
    }
    constexpr int kVectors = (kWidth + 3) / 4;
    float4 sum[kBatch][kVectors];
#pragma unroll
    for (int b = 0; b < kBatch; ++b)
#pragma unroll
      for (int q = 0; q < kVectors; ++q)
        sum[b][q] = *reinterpret_cast<const float4*>(out + row[b] * ld + col + 4 * q);
#pragma unroll
    for (int b = 0; b < kBatch; ++b)
#pragma unroll
      for (int q = 0; q < kVectors; ++q) {
        float4& s = sum[b][q];
        s.x += v[b][4 * q], s.y += v[b][4 * q + 1], s.z += v[b][4 * q + 2], s.w += v[b][4 * q + 3];
        *reinterpret_cast<float4*>(out + row[b] * ld + col + 4 * q) = s;
      }
  }

  __device__ void finish(const State&, int64_t) const {}

  // The outputs that apply(row, col, ...) will update, brought into L2 ahead
  // of it: one request per 128-byte line (32 outputs).
  __device__ void prefetch(int64_t row, int64_t col) const {
    if (row < rows && col < cols && col % 32 == 0) prefetchL2(out + row * ld + col);
  }
};

}  // namespace siglip::cuda
