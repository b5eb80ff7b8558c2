// The tile kernels for x86-64-v4 (AVX-512): 16-float vectors, 12 x 2 blocks
// (24 of the 32 zmm registers hold accumulators; 32-column panels).
#include "tile_kernels.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(SIGLIP_NO_MULTIVERSION)
#pragma GCC push_options
#pragma GCC target("arch=x86-64-v4")
#include "tile_kernels_for_isa.h"

namespace siglip::kernels {
namespace {
const InstructionSet kSet =
    Entries<16, kAvx512Vectors, 12, 8, 4, 2, 1>::named("x86-64-v4", "x86-64-v4 (AVX-512)");
}
}  // namespace siglip::kernels
#pragma GCC pop_options

const siglip::kernels::InstructionSet* siglip::kernels::avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("x86-64-v4") ? &kSet : nullptr;
}
#else
const siglip::kernels::InstructionSet* siglip::kernels::avx512() { return nullptr; }
#endif
