// Portable SIMD vocabulary for the built-in kernels: GCC/Clang vector
// extensions, lowered to whatever the function's target supports. The tile
// kernels are compiled once per instruction set (tile_kernels.h); elementwise
// loops once per x86-64 level, picked at load time (SIGLIP_MULTIVERSION).
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

// Same bits as integer lanes (vector-extension casts reinterpret).
SIGLIP_INLINE Bits bits(Vec v) { return (Bits)v; }

// Vectors of N lanes for the kernels compiled once per instruction set
// (tile_kernels_for_isa.h), where N fits that set's registers. (Vec above is
// 16 lanes everywhere: fine for elementwise code, but arrays of accumulators
// wider than the registers are kept in memory.)
template <int N>
struct Lanes {
  typedef float Floats __attribute__((vector_size(N * sizeof(float))));
  typedef uint32_t Words __attribute__((vector_size(N * sizeof(uint32_t))));
  typedef double Doubles __attribute__((vector_size(N * sizeof(double))));
};
template <typename V>
SIGLIP_INLINE V loadAs(const void* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <typename V>
SIGLIP_INLINE void storeAs(void* p, V v) {
  std::memcpy(p, &v, sizeof v);
}

}  // namespace siglip::simd

#if defined(__x86_64__) && defined(__GNUC__) && !defined(SIGLIP_NO_MULTIVERSION)
#define SIGLIP_MULTIVERSION \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SIGLIP_MULTIVERSION
#endif
