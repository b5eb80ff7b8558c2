// The tile kernels for AArch64 (NEON, always present there): 4-float vectors,
// 6 x 3 blocks (6 rows x 12 columns): 18 of the 32 vector registers hold
// accumulators, 3 hold b and 6 the rows' coefficients, which the multiply-adds
// read by lane. (BLIS's armv8a shape, 8 x 12, needs its coefficients packed
// eight to a pair of registers; read in place, as here, eight rows spill three
// accumulators to the stack every step: GCC 12's assembly.) Checked under
// qemu-aarch64 (scripts/aarch64-tests.sh); its speed has not been measured on
// ARM hardware.
#include "tile_kernels.h"

#if defined(__aarch64__) && defined(__GNUC__)
#include "tile_kernels_for_isa.h"

namespace siglip::kernels {
namespace {
const InstructionSet kSet = Entries<4, 3, 6, 4, 2, 1>::named("neon", "aarch64 NEON");
}

const InstructionSet* neon() { return &kSet; }

}  // namespace siglip::kernels
#else
const siglip::kernels::InstructionSet* siglip::kernels::neon() { return nullptr; }
#endif
