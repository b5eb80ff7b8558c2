#!/usr/bin/env bash
# Fails when a C++/CUDA source differs from its clang-format output.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files 'native/*.cc' 'native/*.h' 'native/*.cu' 'native/*.cuh' 'bench/*.c' 'bench/*.cc' 'bench/*.cu')
clang-format --dry-run --Werror "${files[@]}"
