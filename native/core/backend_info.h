// What the running build computes with, for users and benchmark reports.
#pragma once

#include <string>

namespace siglip {

struct BackendInfo {
  std::string engine;  // tile GEMM engine
  std::string isa;     // instruction set the multiversioned kernels picked
  int threads;         // default worker count
};

BackendInfo backendInfo();

}  // namespace siglip
