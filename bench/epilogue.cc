// The sigmoid epilogue alone: one 128 x 128 tile of dot products (in L1/L2),
// restored and run 4000 times, best of 5; the instruction set SIGLIP_ISA
// picks. `g` writes G as the fused pass does, anything else the loss only.
// The time includes the 64 KiB copy that restores the tile (~1 us).
//   build/bench/epilogue [g]   (built by bench/engines.sh)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "../native/core/sigmoid_epilogue.h"

using namespace siglip;

int main(int argc, char** argv) {
  const int n = 128, reps = 4000;
  const bool grad = argc > 1 && argv[1][0] == 'g';
  std::vector<float> src(n * n), tile(n * n);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 0.3f);
  for (auto& v : src) v = normal(rng);
  int32_t keys[n];
  for (int i = 0; i < n; ++i) keys[i] = i;
  EpilogueParams p;
  p.scale = 10;
  p.bias = -10;
  p.gradScale = 10.0f / 8192;
  p.writeGrad = grad;
  TileSums sums;
  double best = 1e9;
  for (int round = 0; round < 5; ++round) {
    auto t = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) {
      std::memcpy(tile.data(), src.data(), sizeof(float) * n * n);
      sigmoidEpilogue(tile.data(), n, n, n, keys, keys, true, p, sums);
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
    best = std::min(best, s);
  }
  std::printf("%s: %.2f us a tile, %.3f ns an element (loss sum %.3g)\n",
              grad ? "with G" : "loss only", best / reps * 1e6, best / reps / (n * n) * 1e9,
              sums.loss);
}
