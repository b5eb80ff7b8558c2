#!/usr/bin/env bash
# Builds libsiglip_cuda_capi.so with sm_90a into BUILD (run.sh and profile.sh
# source this): the ptxas report goes to OUT_DIR/build.log.
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSIGLIP_BUILD_TESTS=OFF \
  -DCMAKE_CUDA_ARCHITECTURES=90a-real -DCMAKE_CUDA_FLAGS="-Xptxas=-v" > "$OUT_DIR/build.log" 2>&1 &&
  cmake --build "$BUILD" -j 16 >> "$OUT_DIR/build.log" 2>&1 || { tail -40 "$OUT_DIR/build.log"; exit 1; }
