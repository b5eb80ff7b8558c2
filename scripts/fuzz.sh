#!/usr/bin/env bash
# Builds the core's libFuzzer target (native/tests/fuzz_core.cc) with clang,
# ASan and UBSan (portable kernels: clang builds no per-ISA clones), and runs it for FUZZ_SECONDS (default 45) over the corpus
# kept in native/tests/fuzz_corpus (new inputs that add coverage are added
# there; commit them). Needs clang and libclang-rt (Debian: clang
# libclang-rt-14-dev).
set -euo pipefail
cd "$(dirname "$0")/.."
out=build-fuzz
mkdir -p "$out"
sources=(native/core/backend_info.cc native/core/sigmoid_epilogue.cc native/core/siglip.cc
  native/core/softmax.cc native/core/tile_engine_bf16.cc native/core/tile_engine_fp32.cc
  native/core/tile_kernels.cc native/core/tile_kernels_avx2.cc native/core/tile_kernels_avx512.cc native/core/tile_kernels_neon.cc
  native/core/tile_kernels_portable.cc native/core/tile_kernel_bf16_native.cc
  native/core/worker_pool.cc native/core/engine_pool.cc)
clang++ -std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -DSIGLIP_NO_MULTIVERSION -Wno-psabi -pthread "${sources[@]}" native/tests/fuzz_core.cc -o "$out/fuzz_core"
mkdir -p native/tests/fuzz_corpus
ASAN_OPTIONS=detect_leaks=1 "$out/fuzz_core" -max_total_time="${FUZZ_SECONDS:-45}" -max_len=4096 \
  -print_final_stats=1 native/tests/fuzz_corpus 2>&1 | grep -E "^#[0-9]+ +DONE|^stat::number_of_executed_units|ERROR|SUMMARY|Done" || true
test "${PIPESTATUS[0]}" -eq 0
