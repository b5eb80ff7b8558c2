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
#include <cstring>

#include "simd.h"

namespace siglip::kernel {

// Depth step `k`, column `col` of a right-hand operand (one element: a float,
// or a word holding a pair of bf16 values) is at
// data[(col / kPanel) * panelStride + k * rowStride + col % kPanel]. A panel
// is as wide as the kernel's register block (kVecs vectors), so that a packed
// block is one contiguous stream: 32 floats on AVX-512, 16 on AVX2.
template <typename Elem, int64_t kPanel>
struct Operand {
  static constexpr int64_t kWidth = kPanel;
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

// Steps at a time in accumulate: b's part of a depth block, kDepth x 128
// columns of floats (128 KiB), stays in a small L2 (Zen 3's 512 KiB) while
// every row block of a tile reads it. (Only depth blocks change; each output
// element still sums its steps in order, so any kDepth gives the same bits.)
constexpr int64_t kDepth = 256;

// Whether a depth block of one panel (panelBytes a step) fits in half an L1,
// and so stays there while the row blocks pass over it (accumulate).
constexpr bool panelStaysInL1(int64_t panelBytes) { return panelBytes * kDepth <= 16 * 1024; }

// kRows rows of out (stride outStride) += coef * b over `cols` columns from
// b's column col0 (a multiple of the panel width), in blocks of kVecs vectors
// (a block never crosses a panel).
template <typename Arith, int kRows, int kVecs, typename B>
SIGLIP_INLINE void accumulateRows(float* out, int64_t outStride, const typename Arith::Coef* coef,
                                  int64_t coefRowStride, int64_t coefColStride, const B& b,
                                  int64_t k0, int64_t steps, int64_t col0, int64_t cols) {
  constexpr int kLanes = Arith::kLanes;
  // A step's coefficients are contiguous here (dY's, a column strip of G)
  // but a step apart they are a tile row apart: kDepth such lines fall in 8 of
  // an L1's 64 sets and evict each other while the columns sweep. Packed
  // like a GEMM's A panel, they are one stream of a few lines.
  typename Arith::Coef strip[kDepth * kRows];
  if (coefRowStride == 1 && coefColStride != kRows) {
    for (int64_t k = 0; k < steps; ++k)
      std::memcpy(strip + k * kRows, coef + k * coefColStride, sizeof(strip[0]) * kRows);
    coef = strip;
    coefColStride = kRows;
  }
  int64_t d = 0;
  for (; d + kVecs * kLanes <= cols; d += kVecs * kLanes)
    accumulateBlock<Arith, kRows, kVecs>(out + d, outStride, coef, coefRowStride, coefColStride,
                                         b.at(k0, col0 + d), b.rowStride, steps);
  if constexpr (kVecs > 1)
    for (; d + kLanes <= cols; d += kLanes)
      accumulateBlock<Arith, kRows, 1>(out + d, outStride, coef, coefRowStride, coefColStride,
                                       b.at(k0, col0 + d), b.rowStride, steps);
  for (; d < cols; ++d)  // tail narrower than one vector
    for (int r = 0; r < kRows; ++r) {
      float s = out[r * outStride + d];
      for (int64_t k = 0; k < steps; ++k)
        s = Arith::multiplyAddScalar(s, coef[r * coefRowStride + k * coefColStride],
                                     b.at(k0 + k, col0 + d));
      out[r * outStride + d] = s;
    }
}

// out (rows, stride outStride) += coef * b from step k0, `steps` steps, over
// `cols` columns from col0: blocks of kRows x kVecs accumulator vectors, then
// of kFewerRows... for the rows left (the last must be 1).
template <typename Arith, int kVecs, int kRows, int... kFewerRows, typename B>
SIGLIP_INLINE void accumulateRowBlocks(float* out, int64_t outStride, int64_t rows,
                                       const typename Arith::Coef* coef, int64_t coefRowStride,
                                       int64_t coefColStride, const B& b, int64_t k0, int64_t steps,
                                       int64_t col0, int64_t cols) {
  int64_t r = 0;
  for (; r + kRows <= rows; r += kRows)
    accumulateRows<Arith, kRows, kVecs>(out + r * outStride, outStride, coef + r * coefRowStride,
                                        coefRowStride, coefColStride, b, k0, steps, col0, cols);
  if constexpr (sizeof...(kFewerRows) > 0)
    accumulateRowBlocks<Arith, kVecs, kFewerRows...>(out + r * outStride, outStride, rows - r,
                                                     coef + r * coefRowStride, coefRowStride,
                                                     coefColStride, b, k0, steps, col0, cols);
}

// out (rows x width) += coef (rows x steps, through strides) * b (steps x
// width, Operand), a depth block at a time. The loop order is a GEMM's: where
// one panel's depth block fits in half an L1 (16 KiB: AVX2, NEON, SSE2), it
// stays there while every row block passes over it and only the coefficients
// stream (BLIS's order; a third of the bytes per step that streaming the
// panels takes). AVX-512's panels (32 floats, 32 KiB a block) do not fit:
// there each row block's coefficients stay in L1 and the panels stream. A
// column strip of coefficients (coefRowStride 1) is packed per row block, so
// it keeps that order too.
template <typename Arith, int kVecs, int... kRows, typename B>
SIGLIP_INLINE void accumulate(float* out, int64_t rows, const typename Arith::Coef* coef,
                              int64_t coefRowStride, int64_t coefColStride, const B& b,
                              int64_t steps, int64_t width) {
  constexpr int64_t kPanel = B::kWidth;
  constexpr bool kPanelStaysInL1 = panelStaysInL1(kPanel * sizeof(*b.data));
  for (int64_t k0 = 0; k0 < steps; k0 += kDepth) {
    const int64_t blockSteps = steps - k0 < kDepth ? steps - k0 : kDepth;
    const auto* blockCoef = coef + k0 * coefColStride;
    if (kPanelStaysInL1 && coefRowStride != 1) {
      for (int64_t col0 = 0; col0 < width; col0 += kPanel)
        accumulateRowBlocks<Arith, kVecs, kRows...>(
            out + col0, width, rows, blockCoef, coefRowStride, coefColStride, b, k0, blockSteps,
            col0, width - col0 < kPanel ? width - col0 : kPanel);
    } else {
      accumulateRowBlocks<Arith, kVecs, kRows...>(out, width, rows, blockCoef, coefRowStride,
                                                  coefColStride, b, k0, blockSteps, 0, width);
    }
  }
}

}  // namespace siglip::kernel
