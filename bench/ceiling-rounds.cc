// The fused and loss-only passes against OpenBLAS's SGEMM in alternating
// rounds of one process, so that both see the same machine: this host's
// speed drifts by a third from minute to minute. bench/ceiling-rounds.sh runs
// it once per instruction set, with OpenBLAS's kernel for the same set.
// Usage: ceiling-rounds N ROUNDS [THREADS] -> one line a round, then the best
// of each and the median of the rounds' ratios. THREADS (default: every core)
// serves both.
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <thread>
#include <vector>

#include "../native/core/backend_info.h"
#include "../native/core/siglip.h"

namespace {

using Clock = std::chrono::steady_clock;

// After a call OpenBLAS's threads spin for a while (2^28 cycles by default,
// OPENBLAS_THREAD_TIMEOUT) before they sleep: on a 2-core machine they took
// 3-5 % from the first ring step of the pass timed next. Each side starts
// after a pause, so neither runs against the other's threads.
template <typename Fn>
double gflops(double flop, Fn&& fn) {
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto t = Clock::now();
  fn();
  return flop / std::chrono::duration<double>(Clock::now() - t).count() / 1e9;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t n = argc > 1 ? std::atoll(argv[1]) : 8192, d = 768;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 5;
  siglip::RunOptions options;
  options.threads = siglip::resolveThreads(argc > 3 ? std::atoi(argv[3]) : 0);
  openblas_set_num_threads(options.threads);
  std::vector<float> x(n * d), y(n * d), dx(n * d), dy(n * d), c(n * n);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 1.0f / std::sqrt(float(d)));
  for (auto& v : x) v = normal(rng);
  for (auto& v : y) v = normal(rng);
  const siglip::LossInputs in{x.data(), y.data(), n, n, d, std::log(10.0), -10, {}};
  siglip::Gradients grads{dx.data(), dy.data()};
  const double pairs = double(n) * n * d;

  std::printf("N = M = %lld, D = %lld, tile kernels %s, %d threads (GFLOP/s)\n", (long long)n,
              (long long)d, siglip::backendInfo().isa.c_str(), options.threads);
  std::printf("%-6s %8s %8s %6s %10s %6s\n", "round", "sgemm", "fused", "%", "loss-only", "%");
  std::vector<double> sgemm, fused, lossOnly, fusedRatio, lossRatio;
  for (int r = 0; r < rounds; ++r) {
    sgemm.push_back(gflops(2 * pairs, [&] {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, d, 1.0f, x.data(), d, y.data(), d,
                  0.0f, c.data(), n);
    }));
    fused.push_back(gflops(6 * pairs, [&] { siglip::computeLossAndGrads(in, grads, options); }));
    lossOnly.push_back(gflops(2 * pairs, [&] { siglip::computeLoss(in, options); }));
    fusedRatio.push_back(fused.back() / sgemm.back());
    lossRatio.push_back(lossOnly.back() / sgemm.back());
    std::printf("%-6d %8.1f %8.1f %5.0f%% %10.1f %5.0f%%\n", r + 1, sgemm.back(), fused.back(),
                100 * fusedRatio.back(), lossOnly.back(), 100 * lossRatio.back());
  }
  const double bestSgemm = *std::max_element(sgemm.begin(), sgemm.end());
  const double bestFused = *std::max_element(fused.begin(), fused.end());
  const double bestLoss = *std::max_element(lossOnly.begin(), lossOnly.end());
  std::printf("%-6s %8.1f %8.1f %5.0f%% %10.1f %5.0f%%\n", "best", bestSgemm, bestFused,
              100 * bestFused / bestSgemm, bestLoss, 100 * bestLoss / bestSgemm);
  std::printf("%-6s %8s %8s %5.0f%% %10s %5.0f%%\n", "median", "", "", 100 * median(fusedRatio), "",
              100 * median(lossRatio));
}
