#!/usr/bin/env bash
# Our passes against SGEMM for each instruction set this CPU runs, in
# alternating rounds (bench/ceiling-rounds.cc): SIGLIP_ISA picks our kernels,
# OPENBLAS_CORETYPE OpenBLAS's for the same set. Needs libopenblas-dev.
#   [THREADS=k] bash bench/ceiling-rounds.sh [N] [ROUNDS] [SET...]   (default: every set)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-8192}
ROUNDS=${2:-5}
shift $(($# < 2 ? $# : 2))
OUT=build/bench
mkdir -p "$OUT"
g++ -std=c++17 -O3 -Wno-psabi -pthread bench/ceiling-rounds.cc native/core/backend_info.cc \
  native/core/sigmoid_epilogue.cc native/core/siglip.cc native/core/softmax.cc \
  native/core/tile_engine_fp32.cc native/core/tile_engine_bf16.cc native/core/tile_kernels*.cc \
  native/core/tile_kernel_bf16_native.cc native/core/worker_pool.cc native/core/engine_pool.cc \
  -lopenblas \
  -o "$OUT/ceiling-rounds"
declare -A coretype=([x86-64-v4]=SkylakeX [x86-64-v3]=Haswell [x86-64]=Prescott)
sets=("$@")
[ ${#sets[@]} -gt 0 ] || sets=(x86-64-v4 x86-64-v3)
for isa in "${sets[@]}"; do
  if ! result=$(SIGLIP_ISA=$isa OPENBLAS_CORETYPE=${coretype[$isa]:-} "$OUT/ceiling-rounds" 64 1 2>&1); then
    grep -q "names no instruction set" <<< "$result" && continue # not on this CPU
    echo "$result" >&2
    exit 1
  fi
  echo "OpenBLAS kernel: ${coretype[$isa]}"
  SIGLIP_ISA=$isa OPENBLAS_CORETYPE=${coretype[$isa]} "$OUT/ceiling-rounds" "$N" "$ROUNDS" "${THREADS:-0}"
  echo
done
