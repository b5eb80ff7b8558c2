// The tile kernels for x86-64-v3 (AVX2 + FMA): 8-float vectors, 6 x 2 blocks
// (12 of the 16 ymm registers hold accumulators).
#include "tile_kernels.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(SIGLIP_NO_MULTIVERSION)
#pragma GCC push_options
#pragma GCC target("arch=x86-64-v3")
#include "tile_kernels_for_isa.h"

namespace siglip::kernels {
namespace {
const InstructionSet kSet = Entries<8, 2, 6, 4, 2, 1>::named("x86-64-v3", "x86-64-v3 (AVX2+FMA)");
}
}  // namespace siglip::kernels
#pragma GCC pop_options

const siglip::kernels::InstructionSet* siglip::kernels::avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("x86-64-v3") ? &kSet : nullptr;
}
#else
const siglip::kernels::InstructionSet* siglip::kernels::avx2() { return nullptr; }
#endif
