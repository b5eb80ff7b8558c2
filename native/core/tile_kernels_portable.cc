// The tile kernels for the compiler's own target (x86-64 baseline SSE2, or
// whatever the build targets elsewhere): vectors as wide as that target's,
// 4 x 2 blocks (8 accumulators: fits SSE2's 16 registers and NEON's 32).
#include "tile_kernels_for_isa.h"

namespace siglip::kernels {
namespace {
#if defined(__AVX512F__)
constexpr int kLanes = 16;
#elif defined(__AVX__)
constexpr int kLanes = 8;
#else
constexpr int kLanes = 4;
#endif
#if defined(__x86_64__) && !defined(__AVX__)
const InstructionSet kSet = Entries<kLanes, 2, 4, 2, 1>::named("x86-64", "x86-64 baseline (SSE2)");
#else
const InstructionSet kSet =
    Entries<kLanes, 2, 4, 2, 1>::named("portable", "portable (compiler default)");
#endif
}  // namespace

const InstructionSet* portable() { return &kSet; }

}  // namespace siglip::kernels
