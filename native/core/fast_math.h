// Elementwise math that vectorizes: plain float code without branches or
// library calls, inlined into each multiversioned kernel.
#pragma once

#include <cstdint>
#include <cstring>

#include "simd.h"

namespace siglip {

// x in every lane of F (a float, or a vector of floats).
template <typename F>
SIGLIP_INLINE F splat(float x) {
  return F{} + x;
}

// exp(-a) for a >= 0, branch-free so that loops over it vectorize; F is a
// float or a vector of floats (simd.h). Cephes-style range reduction and
// polynomial; relative error ~1e-7. a >= 87 gives 0.
template <typename F>
SIGLIP_INLINE F expNegative(F a) {
  a = a < 87.0f ? a : splat<F>(87.0f);  // also maps NaN to 87; NaN is restored by the caller
  const F x = -a;
  const float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to integer
  const F n = (x * 1.44269504088896341f + kRound) - kRound;
  F r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  F p = splat<F>(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  F pow2;
  if constexpr (sizeof(F) == sizeof(float)) {
    const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
    std::memcpy(&pow2, &bits, sizeof pow2);
  } else {  // a comparison's type: the vector of int32 lanes as wide as F
    const auto bits = (__builtin_convertvector(n, decltype(n < n)) + 127) << 23;
    std::memcpy(&pow2, &bits, sizeof pow2);
  }
  return p * pow2;
}

}  // namespace siglip
