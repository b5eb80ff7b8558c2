#!/usr/bin/env bash
# Cross-builds the C++ core and its tests for AArch64 (g++-aarch64-linux-gnu)
# and runs them under user-mode qemu (qemu-user), once per instruction set
# the build has there (NEON and the portable kernels). This checks the ARM
# kernels' results, not their speed: qemu says nothing of that.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-aarch64 -DCMAKE_BUILD_TYPE=Release -DSIGLIP_CUDA=OFF \
  -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake > /dev/null
cmake --build build-aarch64 -j "$(nproc)" --target siglip_core_test > /dev/null
run() { qemu-aarch64 -L /usr/aarch64-linux-gnu "$@"; }
sets=$(run build-aarch64/siglip_core_test --instruction-sets)
grep -qw neon <<< "$sets" || { echo "the aarch64 build has no NEON kernels: $sets" >&2; exit 1; }
for isa in $sets; do
  # qemu runs the kernels some 30 times slower: the cancel test's bound scales.
  SIGLIP_TEST_SLOWDOWN=30 SIGLIP_ISA="$isa" run build-aarch64/siglip_core_test
done
