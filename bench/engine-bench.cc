// Times the core's fused and loss-only passes at N = M, D = 768, for the
// engine this binary was built with (bench/engines.sh builds one per engine).
// Usage: engine-bench [N] [REPEATS] [fp32|bf16] -> engine, fused and loss-only GFLOP/s.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "../native/core/backend_info.h"
#include "../native/core/siglip.h"

int main(int argc, char** argv) {
  const int64_t n = argc > 1 ? std::atoll(argv[1]) : 4096, d = 768;
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 3;
  siglip::RunOptions options;
  if (argc > 3 && std::string(argv[3]) == "bf16") options.precision = siglip::Precision::kBFloat16;
  std::vector<float> x(n * d), y(n * d), dx(n * d), dy(n * d);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 1.0f / std::sqrt(float(d)));
  for (auto& v : x) v = normal(rng);
  for (auto& v : y) v = normal(rng);
  siglip::LossInputs in{x.data(), y.data(), n, n, d, std::log(10.0), -10, {}};
  siglip::Gradients grads{dx.data(), dy.data()};
  double fused = 0, lossOnly = 0;  // best GFLOP/s
  for (int r = 0; r < repeats; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    siglip::computeLossAndGrads(in, grads, options);
    auto t1 = std::chrono::steady_clock::now();
    siglip::computeLoss(in, options);
    auto t2 = std::chrono::steady_clock::now();
    fused = std::max(fused, 6.0 * n * n * d / std::chrono::duration<double>(t1 - t0).count() / 1e9);
    lossOnly =
        std::max(lossOnly, 2.0 * n * n * d / std::chrono::duration<double>(t2 - t1).count() / 1e9);
  }
  std::printf("%s %.1f %.1f\n", siglip::backendInfo().engine.c_str(), fused, lossOnly);
}
