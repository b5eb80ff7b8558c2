#!/usr/bin/env bash
# Builds the C++ core and its tests with AddressSanitizer + UBSan (plain cmake,
# no Node) and runs them once per instruction set of the tile kernels that
# this CPU runs (SIGLIP_ISA); where nvcc is found, also the CUDA kernels'
# epilogue hand-over and the chunk bookkeeping as host code (no GPU needed).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSIGLIP_SANITIZE=ON -DSIGLIP_CUDA=OFF > /dev/null
cmake --build build-asan -j "$(nproc)" > /dev/null
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1
for isa in $(./build-asan/siglip_core_test --instruction-sets); do
  SIGLIP_ISA="$isa" ./build-asan/siglip_core_test
done

# The CUDA kernels' epilogue hand-over and chunk bookkeeping, as host code
# (nvcc needed, no GPU).
if command -v nvcc > /dev/null; then
  cmake -S . -B build-cuda-tests -DCMAKE_BUILD_TYPE=Release -DSIGLIP_CUDA=ON > /dev/null
  cmake --build build-cuda-tests --target siglip_cuda_layout_test siglip_cuda_chunk_test > /dev/null
  ./build-cuda-tests/siglip_cuda_layout_test
  ./build-cuda-tests/siglip_cuda_chunk_test
fi

# The rank ring (labels travelling with their blocks, unequal rows) on 1-4
# ranks and the stall notes on 3, where an MPI is installed. Open MPI's own allocations outlive
# MPI_Finalize, so LeakSanitizer is off for these runs.
if command -v mpirun > /dev/null && [ -x build-asan/siglip_rank_ring_test ]; then
  for ranks in 1 2 3 4; do
    ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
      mpirun --timeout 120 --oversubscribe --mca btl self,vader -np "$ranks" ./build-asan/siglip_rank_ring_test
  done
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
    mpirun --timeout 60 --oversubscribe --mca btl self,vader -np 3 ./build-asan/siglip_stall_note_test
fi
