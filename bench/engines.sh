#!/usr/bin/env bash
# The tile-GEMM engine table: the built-in kernels against OpenBLAS (single-
# threaded inside our workers), alternating runs, with OpenBLAS's own SGEMM
# (all cores) as the ceiling in the same run; then the built-in engine per
# instruction set, and one worker's products. Needs libopenblas-dev.
#   bash bench/engines.sh [N] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-4096}
ROUNDS=${2:-3}
OUT=build/bench
mkdir -p "$OUT"
common=(native/core/backend_info.cc native/core/sigmoid_epilogue.cc native/core/siglip.cc
  native/core/softmax.cc native/core/tile_engine_bf16.cc native/core/tile_kernels*.cc native/core/tile_kernel_bf16_native.cc native/core/worker_pool.cc native/core/engine_pool.cc bench/engine-bench.cc)
flags=(-std=c++17 -O3 -fopenmp-simd -Wno-psabi -pthread)
g++ "${flags[@]}" "${common[@]}" native/core/tile_engine_fp32.cc -o "$OUT/engine-builtin"
g++ "${flags[@]}" -DSIGLIP_ENGINE_OPENBLAS "${common[@]}" native/core/tile_engine_openblas.cc -lopenblas \
  -o "$OUT/engine-openblas"
cc -O2 bench/sgemm-ceiling.c -lopenblas -o "$OUT/sgemm-ceiling"
cc -O2 -pthread bench/fma-peak.c -o "$OUT/fma-peak"
for program in tile-products epilogue; do
  g++ "${flags[@]}" "bench/$program.cc" native/core/sigmoid_epilogue.cc native/core/tile_engine_fp32.cc \
    native/core/tile_engine_bf16.cc native/core/tile_kernels*.cc native/core/tile_kernel_bf16_native.cc -o "$OUT/$program"
done

echo "N = M = $N, D = 768, best of 3 per run, $ROUNDS alternating rounds (GFLOP/s; % of the SGEMM measured just before)"
printf '%-6s %-9s %9s %6s %11s %6s %9s\n' round engine fused '%' loss-only '%' sgemm
for round in $(seq "$ROUNDS"); do
  for engine in builtin openblas; do
    sgemm=$("$OUT/sgemm-ceiling" "$N" 768 3)
    read -r name fused loss < <("$OUT/engine-$engine" "$N" 3)
    awk -v r="$round" -v e="$name" -v f="$fused" -v l="$loss" -v s="$sgemm" \
      'BEGIN { printf "%-6s %-9s %9.1f %5.0f%% %11.1f %5.0f%% %9.1f\n", r, e, f, 100 * f / s, l, 100 * l / s, s }'
  done
done

echo
echo "The built-in engine per instruction set of its tile kernels (SIGLIP_ISA; fused / loss-only GFLOP/s):"
for round in $(seq "$ROUNDS"); do
  line="round $round:"
  for isa in x86-64-v4 x86-64-v3 x86-64; do
    if ! result=$(SIGLIP_ISA=$isa "$OUT/engine-builtin" "$N" 3 2>&1); then
      grep -q "names no instruction set" <<< "$result" && continue # not on this CPU
      echo "$result" >&2
      exit 1
    fi
    line+=" $isa ${result#builtin }"
  done
  echo "$line"
done

echo
echo "One worker, built-in fp32 engine, product by product (GFLOP/s) against one core's FMA peak:"
for round in $(seq "$ROUNDS"); do
  echo "round $round: FMA peak $("$OUT/fma-peak" 1); $("$OUT/tile-products")"
done
