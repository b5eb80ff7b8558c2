#!/usr/bin/env bash
# Builds the C++ core and its tests with AddressSanitizer + UBSan (plain cmake,
# no Node) and runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSIGLIP_SANITIZE=ON -DSIGLIP_CUDA=OFF > /dev/null
cmake --build build-asan -j "$(nproc)" > /dev/null
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 ./build-asan/siglip_core_test
