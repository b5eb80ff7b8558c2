// Portable SIMD vocabulary for the built-in kernels: GCC/Clang vector
// extensions, lowered to whatever the function's target supports. Hot kernels
// are compiled once per x86-64 level and picked at load time (ifunc).
#pragma once

#include <cstdint>
#include <cstring>

// Helpers called from a multiversioned kernel must be inlined into each clone,
// or they are compiled once, for the baseline target.
#define SIGLIP_INLINE inline __attribute__((always_inline))

namespace siglip::simd {

constexpr int kLanes = 16;
typedef float Vec __attribute__((vector_size(kLanes * sizeof(float))));
typedef uint32_t Bits __attribute__((vector_size(kLanes * sizeof(uint32_t))));

SIGLIP_INLINE Vec load(const float* p) {
  Vec v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
SIGLIP_INLINE void store(float* p, Vec v) { std::memcpy(p, &v, sizeof v); }
SIGLIP_INLINE Vec broadcast(float s) { return Vec{} + s; }
// Same bits, other lane type (vector-extension casts reinterpret).
SIGLIP_INLINE Bits bits(Vec v) { return (Bits)v; }
SIGLIP_INLINE Vec floats(Bits b) { return (Vec)b; }
SIGLIP_INLINE float sum(Vec v) {
  float s = 0;
  for (int i = 0; i < kLanes; ++i) s += v[i];
  return s;
}

}  // namespace siglip::simd

#if defined(__x86_64__) && defined(__GNUC__) && !defined(SIGLIP_NO_MULTIVERSION)
#define SIGLIP_MULTIVERSION \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SIGLIP_MULTIVERSION
#endif
