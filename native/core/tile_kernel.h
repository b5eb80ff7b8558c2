// The register-blocked kernel behind the built-in engines: out += coef * b,
// SIMD along the output columns, one coefficient broadcast per output row and
// depth step. `Arith` says what a depth step is: one float (fp32) or a pair
// of bf16 values (bf16 dot products). The right-hand operand b is read in
// panels of kPanel columns (Operand); packed panels are contiguous, which the
// hardware prefetchers stream well (measured 5-8 % faster than in place).
// Everything is always inlined into one entry point per instruction set
// (tile_kernels_for_isa.h), each with its own vector width and block shape.
#pragma once

#include <cstdint>

#include "simd.h"

namespace siglip::kernel {

// The packed layout, the same for every instruction set: four AVX-512 vectors.
constexpr int64_t kPanel = 64;

// Depth step `k`, column `col` of a right-hand operand (one element: a float,
// or a word holding a pair of bf16 values) is at
// data[(col / kPanel) * panelStride + k * rowStride + col % kPanel].
template <typename Elem>
struct Operand {
  const Elem* data;
  int64_t panelStride, rowStride;
  SIGLIP_INLINE const Elem* at(int64_t k, int64_t col) const {
    return data + (col / kPanel) * panelStride + k * rowStride + col % kPanel;
  }
};

// out rows [0, kRows) (stride outStride) += coef * b over kVecs vectors of
// columns; b points at the block's first column in step 0. Arith::Acc is a
// vector of Arith::kLanes floats.
template <typename Arith, int kRows, int kVecs>
SIGLIP_INLINE void accumulateBlock(float* out, int64_t outStride, const typename Arith::Coef* coef,
                                   int64_t coefRowStride, int64_t coefColStride,
                                   const typename Arith::Elem* b, int64_t bRowStride,
                                   int64_t steps) {
  using Acc = typename Arith::Acc;
  constexpr int kLanes = Arith::kLanes;
  Acc acc[kRows][kVecs];
  for (int r = 0; r < kRows; ++r)
    for (int v = 0; v < kVecs; ++v) acc[r][v] = simd::loadAs<Acc>(out + r * outStride + v * kLanes);
  for (int64_t k = 0; k < steps; ++k) {
    typename Arith::Vec bv[kVecs];
    for (int v = 0; v < kVecs; ++v) bv[v] = Arith::load(b + k * bRowStride + v * kLanes);
    for (int r = 0; r < kRows; ++r) {
      const auto g = Arith::broadcast(coef[r * coefRowStride + k * coefColStride]);
      for (int v = 0; v < kVecs; ++v) acc[r][v] = Arith::multiplyAdd(acc[r][v], g, bv[v]);
    }
  }
  for (int r = 0; r < kRows; ++r)
    for (int v = 0; v < kVecs; ++v) simd::storeAs(out + r * outStride + v * kLanes, acc[r][v]);
}

// kRows rows of out (stride `width`) += coef * b over all `width` columns, in
// blocks of kVecs vectors (a block never crosses a panel).
template <typename Arith, int kRows, int kVecs, typename B>
SIGLIP_INLINE void accumulateRows(float* out, const typename Arith::Coef* coef,
                                  int64_t coefRowStride, int64_t coefColStride, const B& b,
                                  int64_t steps, int64_t width) {
  constexpr int kLanes = Arith::kLanes;
  static_assert(kPanel % (kVecs * kLanes) == 0);
  int64_t d = 0;
  for (; d + kVecs * kLanes <= width; d += kVecs * kLanes)
    accumulateBlock<Arith, kRows, kVecs>(out + d, width, coef, coefRowStride, coefColStride,
                                         b.at(0, d), b.rowStride, steps);
  if constexpr (kVecs > 1)
    for (; d + kLanes <= width; d += kLanes)
      accumulateBlock<Arith, kRows, 1>(out + d, width, coef, coefRowStride, coefColStride,
                                       b.at(0, d), b.rowStride, steps);
  for (; d < width; ++d)  // tail narrower than one vector
    for (int r = 0; r < kRows; ++r) {
      float s = out[r * width + d];
      for (int64_t k = 0; k < steps; ++k)
        s = Arith::multiplyAddScalar(s, coef[r * coefRowStride + k * coefColStride], b.at(k, d));
      out[r * width + d] = s;
    }
}

// out (rows x width) += coef (rows x steps, through strides) * b (steps x
// width): blocks of kRows x kVecs accumulator vectors, then of kFewerRows...
// for the rows left (the last must be 1).
template <typename Arith, int kVecs, int kRows, int... kFewerRows, typename B>
SIGLIP_INLINE void accumulate(float* out, int64_t rows, const typename Arith::Coef* coef,
                              int64_t coefRowStride, int64_t coefColStride, const B& b,
                              int64_t steps, int64_t width) {
  int64_t r = 0;
  for (; r + kRows <= rows; r += kRows)
    accumulateRows<Arith, kRows, kVecs>(out + r * width, coef + r * coefRowStride, coefRowStride,
                                        coefColStride, b, steps, width);
  if constexpr (sizeof...(kFewerRows) > 0)
    accumulate<Arith, kVecs, kFewerRows...>(out + r * width, rows - r, coef + r * coefRowStride,
                                            coefRowStride, coefColStride, b, steps, width);
}

}  // namespace siglip::kernel
