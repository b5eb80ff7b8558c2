// What the running build computes with, for users and benchmark reports.
#pragma once

#include <string>

namespace siglip {

struct BackendInfo {
  std::string engine;  // tile GEMM engine
  std::string isa;     // instruction set of the tile kernels (tile_kernels.h)
  int threads;         // default worker count
  std::string bf16;    // precision 'bf16' runs on: "avx512-bf16" or "fp32-widened"
};

BackendInfo backendInfo();

}  // namespace siglip
