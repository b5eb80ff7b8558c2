#!/usr/bin/env bash
# Prepares .device/ (git-ignored) on the build machine, so that bench/gpu/run.sh
# also checks the Node API on a GPU machine that has no Node: a compressed
# Node binary and a package folder with the built addon, the CUDA module and
# dist/. Carry .device with the repository (the device tool's `carry`).
# Needs a build with nvcc found: npm run build (cmake-js builds both modules).
set -euo pipefail
cd "$(dirname "$0")/../.."
for f in build/Release/siglip.node build/Release/cuda/siglip_cuda.node dist/index.js; do
  [[ -f $f ]] || { echo "missing $f: run npm run build first" >&2; exit 1; }
done
mkdir -p .device
[[ -f .device/node.xz ]] || xz -9 -c "$(command -v node)" > .device/node.xz
rm -rf .device/pkg
mkdir -p .device/pkg/build/Release/cuda .device/pkg/node_modules
cp package.json .device/pkg/
cp -r dist .device/pkg/
cp build/Release/siglip.node .device/pkg/build/Release/
cp build/Release/cuda/siglip_cuda.node .device/pkg/build/Release/cuda/
cp -r node_modules/node-gyp-build .device/pkg/node_modules/
du -sh .device/node.xz .device/pkg
