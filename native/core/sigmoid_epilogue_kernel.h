// The sigmoid epilogue's elementwise loop (sigmoid_epilogue.h), included by
// each tile_kernels_<set>.cc after its `#pragma GCC target`, so that each
// instruction set compiles it with its own vector width and SIGLIP_ISA
// selects it with the tile kernels (a target_clones version chosen by the CPU
// alone could not be lowered for measuring).
#pragma once

#include <cstdint>

#include "fast_math.h"
#include "sigmoid_epilogue.h"
#include "simd.h"

namespace siglip::epilogue {
namespace {  // each instruction set its own copy

// log(1 + e) for e in [0, 1], accurate also for tiny e (where 1 + e rounds to
// 1): 2 atanh(s) with s = e / (2 + e) <= 1/3, as an odd series in s.
template <typename F>
SIGLIP_INLINE F log1pUnit(F e, F reciprocalTwoPlusE) {
  const F s = e * reciprocalTwoPlusE;
  const F s2 = s * s;
  F p = splat<F>(1.0f / 15);
  p = p * s2 + 1.0f / 13;
  p = p * s2 + 1.0f / 11;
  p = p * s2 + 1.0f / 9;
  p = p * s2 + 1.0f / 7;
  p = p * s2 + 1.0f / 5;
  p = p * s2 + 1.0f / 3;
  p = p * s2 + 1.0f;
  return 2.0f * s * p;
}

// The terms of one element (F = float) or of one vector of elements, in three
// steps (epilogueRow runs each as its own loop): e = exp(-|logit|), one
// reciprocal, then the softplus loss and g = sigmoid(logit) - isPositive,
// isPositive 1 or 0.
template <typename F>
SIGLIP_INLINE F logitOf(F dot, float scale, float bias) {
  return scale * dot + bias;
}
template <typename F>
SIGLIP_INLINE F expNegativeAbs(F logit) {
  return expNegative(logit < 0.0f ? -logit : logit);
}
// One division for both 1 / (1 + e) and 1 / (2 + e).
template <typename F>
SIGLIP_INLINE F reciprocals(F e) {
  return 1.0f / ((1.0f + e) * (2.0f + e));
}
template <typename F>
SIGLIP_INLINE void termsFromExp(F logit, F e, F both, F isPositive, F& softplus, F& g) {
  const F zero = F{}, one = splat<F>(1.0f);
  // softplus(z) = max(z, 0) + log1p(exp(-|z|)), z = -label * logit;
  // (logit - logit) keeps NaN and infinities visible in the loss.
  const F z = isPositive > 0.0f ? -logit : logit;
  softplus = (z > 0.0f ? z : zero) + log1pUnit(e, (1.0f + e) * both) + (logit - logit);
  const F sigmoid = (logit >= 0.0f ? one : e) * ((2.0f + e) * both) + (logit - logit);
  g = sigmoid - isPositive;
}

// All three steps for one element (the columns past the last whole vector).
SIGLIP_INLINE void elementTerms(float dot, float isPositive, float scale, float bias,
                                float& softplus, float& g) {
  const float logit = logitOf(dot, scale, bias), e = expNegativeAbs(logit);
  termsFromExp(logit, e, reciprocals(e), isPositive, softplus, g);
}

// Per-lane sums over a tile, in double: each row's float lane sums are added
// lane by lane, and the lanes are summed once per tile (summing 16 lanes
// serially at every row cost a fifth of the AVX-512 epilogue).
template <int kLanes>
struct LaneSums {
  using Doubles = typename simd::Lanes<kLanes>::Doubles;
  Doubles loss{}, grad{}, gradDot{};
  template <typename Floats>
  SIGLIP_INLINE void add(Floats rowLoss, Floats rowGrad, Floats rowGradDot) {
    loss += __builtin_convertvector(rowLoss, Doubles);
    grad += __builtin_convertvector(rowGrad, Doubles);
    gradDot += __builtin_convertvector(rowGradDot, Doubles);
  }
  SIGLIP_INLINE void addTo(TileSums& sums) const {
    for (int lane = 0; lane < kLanes; ++lane) {
      sums.loss += loss[lane];
      sums.grad += grad[lane];
      sums.gradDot += gradDot[lane];
    }
  }
};

// One row of the tile in vectors of kLanes floats (the including file's
// vector width: explicit vectors, because GCC left the omp-simd loop scalar
// for x86-64-v3), then element by element; its positives are the columns
// whose key is rowKey (none when rowKey < 0).
template <int kLanes, bool kWriteGrad>
SIGLIP_INLINE void epilogueRow(float* row, int cols, int32_t rowKey, const int32_t* columnKey,
                               float scale, float bias, float gradScale, LaneSums<kLanes>& sums,
                               TileSums& tailSums) {
  using Floats = typename simd::Lanes<kLanes>::Floats;
  using Keys = decltype(Floats{} < Floats{});  // int32 lanes
  // Float partial sums over one row (at most a tile, per lane a few terms).
  Floats loss{}, grad{}, gradDot{};
  // Three loops over the row (exp, the division, the rest): an iteration is
  // one chain of dependent operations, and one loop of the whole chain was
  // bound by its latency (~42 cycles an iteration for 8 lanes and for 16);
  // in shorter loops the out-of-order window overlaps more iterations.
  Floats exps[kMaxEpilogueColumns / kLanes];
  const int vectors = cols / kLanes;
  for (int v = 0; v < vectors; ++v)
    exps[v] = expNegativeAbs(logitOf(simd::loadAs<Floats>(row + v * kLanes), scale, bias));
  Floats recips[kMaxEpilogueColumns / kLanes];
  for (int v = 0; v < vectors; ++v) recips[v] = reciprocals(exps[v]);
  for (int v = 0; v < vectors; ++v) {
    const int c = v * kLanes;
    const Floats dot = simd::loadAs<Floats>(row + c);
    const Floats isPositive =
        simd::loadAs<Keys>(columnKey + c) == rowKey ? splat<Floats>(1.0f) : Floats{};
    Floats softplus, g;
    // The logit again: one multiply-add, cheaper than a third buffer.
    termsFromExp(logitOf(dot, scale, bias), exps[v], recips[v], isPositive, softplus, g);
    loss += softplus;
    grad += g;
    gradDot += g * dot;
    if constexpr (kWriteGrad) simd::storeAs(row + c, g * gradScale);
  }
  sums.add(loss, grad, gradDot);
  for (int c = vectors * kLanes; c < cols; ++c) {
    const float dot = row[c];
    float softplus, g;
    elementTerms(dot, columnKey[c] == rowKey ? 1.0f : 0.0f, scale, bias, softplus, g);
    tailSums.loss += softplus;
    tailSums.grad += g;
    tailSums.gradDot += g * dot;
    if constexpr (kWriteGrad) row[c] = g * gradScale;
  }
}

// sigmoidEpilogue (sigmoid_epilogue.h) for the including file's target.
template <int kLanes>
void run(float* tile, int64_t ld, int64_t rows, int64_t cols, const int32_t* rowKey,
         const int32_t* columnKey, bool anyPositive, const EpilogueParams& params, TileSums& sums) {
  const int width = static_cast<int>(cols);  // a tile row: small
  // Without positives every row compares against keys that never match.
  static const int32_t kNoKeys[kMaxEpilogueColumns] = {};
  LaneSums<kLanes> lanes;
  TileSums tail;  // the columns past the last whole vector
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t key = anyPositive && rowKey[r] >= 0 ? rowKey[r] : -1;
    const int32_t* keys = key >= 0 ? columnKey : kNoKeys;
    if (params.writeGrad)
      epilogueRow<kLanes, true>(tile + r * ld, width, key, keys, params.scale, params.bias,
                                params.gradScale, lanes, tail);
    else
      epilogueRow<kLanes, false>(tile + r * ld, width, key, keys, params.scale, params.bias,
                                 params.gradScale, lanes, tail);
  }
  lanes.addTo(sums);
  sums.add(tail);
}

}  // namespace
}  // namespace siglip::epilogue
