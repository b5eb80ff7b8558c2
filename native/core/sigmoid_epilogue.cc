#include "sigmoid_epilogue.h"

#include <cstdint>

#include "fast_math.h"
#include "simd.h"

namespace siglip {
namespace {

// log(1 + e) for e in [0, 1], accurate also for tiny e (where 1 + e rounds to
// 1): 2 atanh(s) with s = e / (2 + e) <= 1/3, as an odd series in s.
SIGLIP_INLINE float log1pUnit(float e, float reciprocalTwoPlusE) {
  const float s = e * reciprocalTwoPlusE;
  const float s2 = s * s;
  float p = 1.0f / 15;
  p = p * s2 + 1.0f / 13;
  p = p * s2 + 1.0f / 11;
  p = p * s2 + 1.0f / 9;
  p = p * s2 + 1.0f / 7;
  p = p * s2 + 1.0f / 5;
  p = p * s2 + 1.0f / 3;
  p = p * s2 + 1.0f;
  return 2.0f * s * p;
}

// One row of the tile; its positives are the columns whose key is rowKey
// (none when rowKey < 0 or columnKey is null). kWriteGrad is a template
// argument so that the loop has no branch and vectorizes.
template <bool kWriteGrad>
SIGLIP_INLINE void epilogueRow(float* row, int cols, int32_t rowKey, const int32_t* columnKey,
                               float scale, float bias, float gradScale, TileSums& sums) {
  // Float partial sums over one row (at most a tile, per SIMD lane a few
  // terms), added into the double totals once per row.
  float loss = 0, grad = 0, gradDot = 0;
#pragma omp simd reduction(+ : loss, grad, gradDot)
  for (int c = 0; c < cols; ++c) {  // 32-bit lanes: the compare stays one vector wide
    const float dot = row[c];
    const float logit = scale * dot + bias;
    const float isPositive = columnKey[c] == rowKey ? 1.0f : 0.0f;
    const float abs = logit < 0 ? -logit : logit;
    const float e = expNegative(abs);
    // One division for both 1 / (1 + e) and 1 / (2 + e).
    const float both = 1.0f / ((1.0f + e) * (2.0f + e));
    // softplus(z) = max(z, 0) + log1p(exp(-|z|)), z = -label * logit;
    // (logit - logit) keeps NaN and infinities visible in the loss.
    const float z = isPositive > 0 ? -logit : logit;
    const float softplus = (z > 0 ? z : 0.0f) + log1pUnit(e, (1.0f + e) * both) + (logit - logit);
    const float sigmoid = (logit >= 0 ? 1.0f : e) * ((2.0f + e) * both) + (logit - logit);
    const float g = sigmoid - isPositive;
    loss += softplus;
    grad += g;
    gradDot += g * dot;
    if constexpr (kWriteGrad) row[c] = g * gradScale;
  }
  sums.loss += loss;
  sums.grad += grad;
  sums.gradDot += gradDot;
}

}  // namespace

SIGLIP_MULTIVERSION
void sigmoidEpilogue(float* tile, int64_t ld, int64_t rows, int64_t cols, const int32_t* rowKey,
                     const int32_t* columnKey, bool anyPositive, const EpilogueParams& params,
                     TileSums& sums) {
  const int width = static_cast<int>(cols);  // a tile row: small
  // Without positives every row compares against keys that never match.
  static const int32_t kNoKeys[kMaxEpilogueColumns] = {};
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t key = anyPositive && rowKey[r] >= 0 ? rowKey[r] : -1;
    const int32_t* keys = key >= 0 ? columnKey : kNoKeys;
    if (params.writeGrad)
      epilogueRow<true>(tile + r * ld, width, key, keys, params.scale, params.bias,
                        params.gradScale, sums);
    else
      epilogueRow<false>(tile + r * ld, width, key, keys, params.scale, params.bias,
                         params.gradScale, sums);
  }
}

}  // namespace siglip
