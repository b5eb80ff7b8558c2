// bf16 values as the engines store them: a pair of bf16 numbers in one
// uint32 word, the first (even depth index) in the low half, which is the
// operand layout of AVX512-BF16's vdpbf16ps. Everything here is always
// inlined: this header is also compiled under the AVX512-BF16 target
// (tile_kernel_bf16_native.cc), so no out-of-line copy may exist.
#pragma once

#include <cstdint>
#include <cstring>

#include "simd.h"

namespace siglip::bf16 {

// Round to nearest even; NaN stays NaN.
SIGLIP_INLINE uint32_t round(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  const uint32_t rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
  return (u & 0x7FFFFFFFu) > 0x7F800000u ? 0x7FC0u : rounded;
}

SIGLIP_INLINE uint32_t pair(float first, float second) {
  return round(first) | round(second) << 16;
}

// round() on every lane.
SIGLIP_INLINE simd::Bits round(simd::Vec v) {
  const simd::Bits u = simd::bits(v);
  const simd::Bits rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
  const simd::Bits isNan = (u & 0x7FFFFFFFu) > 0x7F800000u;  // all ones where NaN
  return (rounded & ~isNan) | (isNan & 0x7FC0u);
}

SIGLIP_INLINE float high(uint32_t word) {
  const uint32_t u = word & 0xFFFF0000u;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
SIGLIP_INLINE float low(uint32_t word) { return high(word << 16); }

// acc + c.second * b.second + c.first * b.first, rounded after each term
// (the products are exact in fp32), in vdpbf16ps's order.
SIGLIP_INLINE float dotPair(float acc, uint32_t c, uint32_t b) {
  acc += high(c) * high(b);
  return acc + low(c) * low(b);
}

}  // namespace siglip::bf16
