// Core tests against a float64 reference, built and run under ASan + UBSan in CI.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "../core/bfloat16.h"
#include "../core/siglip.h"
#include "../core/softmax.h"
#include "../core/tile_kernel_bf16.h"
#include "../core/tile_kernels.h"
#include "../cuda/sigmoid_terms.h"

namespace {

int passed = 0, failed = 0;

void expect(bool ok, const std::string& what) {
  if (ok) {
    ++passed;
  } else {
    ++failed;
    std::printf("FAIL: %s\n", what.c_str());
  }
}

struct Reference {
  double loss = 0, dTPrime = 0, dBias = 0;
  // Scale of dTPrime's terms, t * sum |g| |x_i| |y_j|: a float32 dot product is
  // accurate relative to |x_i| |y_j|, not to a dot product that cancels to ~0.
  double dTPrimeScale = 0;
  std::vector<double> dx, dy;
};

Reference reference(const std::vector<float>& x, const std::vector<float>& y, int64_t n, int64_t m,
                    int64_t d, double tPrime, double bias, const siglip::PositivePairs& pos) {
  Reference ref;
  ref.dx.assign(n * d, 0);
  ref.dy.assign(m * d, 0);
  const double t = std::exp(tPrime);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j) {
      double dot = 0;
      for (int64_t k = 0; k < d; ++k) dot += double(x[i * d + k]) * y[j * d + k];
      const double logit = t * dot + bias;
      const bool positive = pos.isPositive(i, j, m);
      const double z = positive ? -logit : logit;
      ref.loss += std::max(z, 0.0) + std::log1p(std::exp(-std::fabs(z)));
      const double g = (1 / (1 + std::exp(-logit)) - (positive ? 1 : 0)) / n;
      ref.dBias += g;
      ref.dTPrime += t * g * dot;
      double nx = 0, ny = 0;
      for (int64_t k = 0; k < d; ++k) {
        nx += double(x[i * d + k]) * x[i * d + k];
        ny += double(y[j * d + k]) * y[j * d + k];
      }
      ref.dTPrimeScale += t * std::fabs(g) * std::sqrt(nx * ny);
      for (int64_t k = 0; k < d; ++k) {
        ref.dx[i * d + k] += t * g * y[j * d + k];
        ref.dy[j * d + k] += t * g * x[i * d + k];
      }
    }
  ref.loss /= n;
  return ref;
}

double relError(const float* got, const std::vector<double>& want) {
  double num = 0, den = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    num += (got[i] - want[i]) * (got[i] - want[i]);
    den += want[i] * want[i];
  }
  return den == 0 ? std::sqrt(num) : std::sqrt(num / den);
}
double relError(double got, double want) {
  return want == 0 ? std::fabs(got) : std::fabs(got - want) / std::fabs(want);
}

// relError for single terms that reach below float's range (a sigmoid of
// -100 is 4e-44): relative to at least 1e-30 (not absolute where want == 0),
// and 0 where got == want (equal infinities included).
double termRelError(double got, double want) {
  return want == got ? 0 : std::fabs(got - want) / std::max(std::fabs(want), 1e-30);
}

std::vector<float> randomRows(std::mt19937& rng, int64_t rows, int64_t d) {
  std::normal_distribution<float> normal;
  std::vector<float> v(rows * d);
  for (int64_t r = 0; r < rows; ++r) {
    double norm = 0;
    for (int64_t k = 0; k < d; ++k) norm += double(v[r * d + k] = normal(rng)) * v[r * d + k];
    for (int64_t k = 0; k < d; ++k) v[r * d + k] = float(v[r * d + k] / std::sqrt(norm));
  }
  return v;
}

void checkCase(int64_t n, int64_t m, int64_t d, double tPrime, double bias,
               siglip::PositivePairs pos, int threads) {
  std::mt19937 rng(unsigned(n * 7919 + m * 104729 + d * 31 + threads));
  const auto x = randomRows(rng, n, d);
  const auto y = randomRows(rng, m, d);
  siglip::LossInputs in{x.data(), y.data(), n, m, d, tPrime, bias, pos};
  std::vector<float> dx(n * d, NAN), dy(m * d, NAN);  // poisoned
  siglip::Gradients g{dx.data(), dy.data()};
  const double loss = siglip::computeLossAndGrads(in, g, {threads});
  const double lossOnly = siglip::computeLoss(in, {threads});
  const Reference ref = reference(x, y, n, m, d, tPrime, bias, pos);
  char name[160];
  std::snprintf(name, sizeof name, "n=%lld m=%lld d=%lld t'=%g b=%g kind=%d offset=%lld threads=%d",
                (long long)n, (long long)m, (long long)d, tPrime, bias, int(pos.kind),
                (long long)pos.offset, threads);
  const double tol = 1e-5;
  expect(relError(loss, ref.loss) <= tol, std::string(name) + " loss");
  expect(relError(lossOnly, ref.loss) <= tol, std::string(name) + " loss-only");
  expect(relError(dx.data(), ref.dx) <= tol, std::string(name) + " dx");
  expect(relError(dy.data(), ref.dy) <= tol, std::string(name) + " dy");
  expect(std::fabs(g.dTPrime - ref.dTPrime) <=
             tol * std::max(std::fabs(ref.dTPrime), ref.dTPrimeScale),
         std::string(name) + " dTPrime");
  expect(relError(g.dBias, ref.dBias) <= tol, std::string(name) + " dBias");
}

void testRandomShapes() {
  const double t10 = std::log(10.0);
  siglip::PositivePairs diag;
  for (int64_t n : {1, 3, 63, 64, 65, 130})
    for (int64_t m : {1, 64, 97})
      for (int64_t d : {1, 17, 48})
        for (int threads : {1, 3}) checkCase(n, m, d, t10, -10, diag, threads);
  // Feature widths across the kernels' panels (12 to 32 columns) and their tails.
  for (int64_t d : {64, 100, 211})
    for (int threads : {1, 2}) checkCase(131, 150, d, t10, -10, diag, threads);
  for (int64_t offset : {-70, -5, 3, 64}) {
    siglip::PositivePairs p{siglip::PositivePairs::Kind::kDiagonal, offset};
    checkCase(100, 129, 33, t10, -10, p, 2);
  }
  checkCase(77, 50, 20, t10, -10, {siglip::PositivePairs::Kind::kNone, 0}, 2);
  for (double bias : {-50.0, 50.0}) checkCase(70, 66, 24, std::log(1e3), bias, diag, 2);
}

void testDeterminism() {
  std::mt19937 rng(5);
  const int64_t n = 300, m = 257, d = 40;
  const auto x = randomRows(rng, n, d);
  const auto y = randomRows(rng, m, d);
  siglip::LossInputs in{x.data(), y.data(), n, m, d, std::log(10.0), -10, {}};
  std::vector<float> dx1(n * d), dy1(m * d), dx2(n * d), dy2(m * d);
  siglip::Gradients g1{dx1.data(), dy1.data()}, g2{dx2.data(), dy2.data()};
  const double l1 = siglip::computeLossAndGrads(in, g1, {3});
  const double l2 = siglip::computeLossAndGrads(in, g2, {3});
  expect(l1 == l2 && g1.dTPrime == g2.dTPrime && g1.dBias == g2.dBias,
         "scalars bit-identical across runs");
  expect(std::memcmp(dx1.data(), dx2.data(), dx1.size() * 4) == 0 &&
             std::memcmp(dy1.data(), dy2.data(), dy1.size() * 4) == 0,
         "dx, dy bit-identical across runs");
}

void testExtremeAndNonFinite() {
  std::mt19937 rng(9);
  const int64_t n = 20, d = 8;
  auto x = randomRows(rng, n, d);
  const auto y = randomRows(rng, n, d);
  siglip::LossInputs in{x.data(), y.data(), n, n, d, std::log(1e4), 0, {}};
  std::vector<float> dx(n * d), dy(n * d);
  siglip::Gradients g{dx.data(), dy.data()};
  const double loss = siglip::computeLossAndGrads(in, g, {2});
  bool finite = std::isfinite(loss) && std::isfinite(g.dTPrime) && std::isfinite(g.dBias);
  for (float v : dx) finite = finite && std::isfinite(v);
  expect(finite, "|logit| up to 1e4 stays finite");
  x[5] = std::numeric_limits<float>::quiet_NaN();
  expect(std::isnan(siglip::computeLoss(in, {2})), "NaN input gives a NaN loss");
}

void testValidation() {
  float v[4] = {1, 2, 3, 4};
  auto throwsNaming = [](const siglip::LossInputs& in, const char* word) {
    try {
      siglip::computeLoss(in, {1});
    } catch (const std::invalid_argument& e) {
      return std::strstr(e.what(), word) != nullptr;
    }
    return false;
  };
  expect(throwsNaming({v, v, 2, 2, 0, 0, 0, {}}, "dim"), "dim 0 rejected");
  expect(throwsNaming({v, v, 0, 2, 2, 0, 0, {}}, "n"), "n 0 rejected");
  expect(throwsNaming({v, v, 2, 2, 2, NAN, 0, {}}, "tPrime"), "NaN tPrime rejected");
  expect(throwsNaming({v, v, 2, 2, 2, 0, INFINITY, {}}, "bias"), "infinite bias rejected");
  expect(throwsNaming({v, v, 2, 2, 2, std::log(1e31), 0, {}}, "tPrime"),
         "exp(tPrime) above kMaxLogitScale rejected");
  expect(!throwsNaming({v, v, 2, 2, 2, std::log(1e29), 0, {}}, "tPrime"),
         "exp(tPrime) below kMaxLogitScale accepted");
}

struct SoftmaxReference {
  double loss = 0, dTPrime = 0;
  std::vector<double> dx, dy;
};

SoftmaxReference softmaxReference(const std::vector<float>& x, const std::vector<float>& y,
                                  int64_t n, int64_t d, double tPrime) {
  const double t = std::exp(tPrime);
  std::vector<double> logits(n * n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double dot = 0;
      for (int64_t k = 0; k < d; ++k) dot += double(x[i * d + k]) * y[j * d + k];
      logits[i * n + j] = t * dot;
    }
  std::vector<double> rowLse(n), colLse(n);
  for (int64_t i = 0; i < n; ++i) {
    double rm = -INFINITY, cm = -INFINITY;
    for (int64_t j = 0; j < n; ++j) {
      rm = std::max(rm, logits[i * n + j]);
      cm = std::max(cm, logits[j * n + i]);
    }
    double rs = 0, cs = 0;
    for (int64_t j = 0; j < n; ++j) {
      rs += std::exp(logits[i * n + j] - rm);
      cs += std::exp(logits[j * n + i] - cm);
    }
    rowLse[i] = rm + std::log(rs);
    colLse[i] = cm + std::log(cs);
  }
  SoftmaxReference ref;
  ref.dx.assign(n * d, 0);
  ref.dy.assign(n * d, 0);
  for (int64_t i = 0; i < n; ++i) ref.loss += rowLse[i] + colLse[i] - 2 * logits[i * n + i];
  ref.loss /= 2.0 * n;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      const double l = logits[i * n + j];
      const double g =
          (std::exp(l - rowLse[i]) + std::exp(l - colLse[j]) - (i == j ? 2 : 0)) / (2.0 * n);
      ref.dTPrime += g * l;
      for (int64_t k = 0; k < d; ++k) {
        ref.dx[i * d + k] += t * g * y[j * d + k];
        ref.dy[j * d + k] += t * g * x[i * d + k];
      }
    }
  return ref;
}

void checkSoftmaxCase(int64_t n, int64_t d, double tPrime, int threads) {
  std::mt19937 rng(unsigned(n * 31 + d * 7 + threads));
  const auto x = randomRows(rng, n, d);
  const auto y = randomRows(rng, n, d);
  siglip::SoftmaxInputs in{x.data(), y.data(), n, d, tPrime};
  std::vector<float> dx(n * d, NAN), dy(n * d, NAN);
  siglip::Gradients g{dx.data(), dy.data()};
  const double loss = siglip::computeSoftmaxLossAndGrads(in, g, {threads});
  const double lossOnly = siglip::computeSoftmaxLoss(in, {threads});
  const SoftmaxReference ref = softmaxReference(x, y, n, d, tPrime);
  char name[120];
  std::snprintf(name, sizeof name, "softmax n=%lld d=%lld t'=%g threads=%d", (long long)n,
                (long long)d, tPrime, threads);
  const double tol = 1e-5;
  expect(relError(loss, ref.loss) <= tol, std::string(name) + " loss");
  expect(relError(lossOnly, ref.loss) <= tol, std::string(name) + " loss-only");
  expect(relError(dx.data(), ref.dx) <= tol, std::string(name) + " dx");
  expect(relError(dy.data(), ref.dy) <= tol, std::string(name) + " dy");
  // dTPrime = sum G * logit, with sum |G| <= 2 and |logit| <= t for unit rows: accurate
  // relative to t, as float32 dot products are (see the sigmoid case).
  const double scale = std::exp(tPrime);
  expect(std::fabs(g.dTPrime - ref.dTPrime) <= tol * std::max(std::fabs(ref.dTPrime), scale),
         std::string(name) + " dTPrime");
}

void testSoftmax() {
  for (int64_t n : {1, 2, 63, 128, 129, 300})
    for (int64_t d : {1, 17, 40})
      for (int threads : {1, 3}) checkSoftmaxCase(n, d, std::log(10.0), threads);
  for (int64_t d : {64, 100, 211}) checkSoftmaxCase(140, d, std::log(10.0), 2);
  for (double tPrime : {0.0, std::log(100.0), std::log(1e3)}) checkSoftmaxCase(150, 24, tPrime, 2);
  std::mt19937 rng(3);
  auto x = randomRows(rng, 20, 8);
  const auto y = randomRows(rng, 20, 8);
  x[9] = NAN;
  expect(std::isnan(siglip::computeSoftmaxLoss({x.data(), y.data(), 20, 8, 1.0}, {2})),
         "softmax: NaN input gives a NaN loss");
}

}  // namespace

std::vector<float> roundedToBFloat16(const std::vector<float>& v) {
  std::vector<float> r(v.size());
  for (size_t i = 0; i < v.size(); ++i) r[i] = siglip::bf16::low(siglip::bf16::round(v[i]));
  return r;
}

// precision 'bf16': against the float64 reference of the bf16-rounded inputs
// the dot products are exact up to fp32 sums, so the loss and the scalar
// gradients keep fp32 accuracy; dX and dY also carry G's rounding. Against
// the unrounded inputs: the user-facing bound, 1e-2.
// With many positives per row their G values are nearly equal and round
// alike: dX and dY then err by up to bf16's half ulp (2^-8), not less.
void checkBFloat16Case(int64_t n, int64_t m, int64_t d, double tPrime, double bias, int threads,
                       const siglip::PositivePairs& diag = {}, double gradTolerance = 3e-3) {
  std::mt19937 rng(unsigned(n * 31 + m * 17 + d));
  const auto x = randomRows(rng, n, d);
  const auto y = randomRows(rng, m, d);
  siglip::LossInputs in{x.data(), y.data(), n, m, d, tPrime, bias, diag};
  std::vector<float> dx(n * d, NAN), dy(m * d, NAN);
  siglip::Gradients g{dx.data(), dy.data()};
  const siglip::RunOptions options{threads, siglip::Precision::kBFloat16};
  const double loss = siglip::computeLossAndGrads(in, g, options);
  const double lossOnly = siglip::computeLoss(in, options);
  const Reference rounded =
      reference(roundedToBFloat16(x), roundedToBFloat16(y), n, m, d, tPrime, bias, diag);
  const Reference exact = reference(x, y, n, m, d, tPrime, bias, diag);
  char name[160];
  std::snprintf(name, sizeof name, "bf16 n=%lld m=%lld d=%lld t'=%g b=%g threads=%d", (long long)n,
                (long long)m, (long long)d, tPrime, bias, threads);
  const std::string s(name);
  expect(relError(loss, rounded.loss) <= 1e-5, s + " loss");
  expect(relError(lossOnly, rounded.loss) <= 1e-5, s + " loss-only");
  expect(relError(g.dBias, rounded.dBias) <= 1e-5, s + " dBias");
  expect(std::fabs(g.dTPrime - rounded.dTPrime) <=
             1e-5 * std::max(std::fabs(rounded.dTPrime), rounded.dTPrimeScale),
         s + " dTPrime");
  expect(relError(dx.data(), rounded.dx) <= gradTolerance, s + " dx (rounded inputs)");
  expect(relError(dy.data(), rounded.dy) <= gradTolerance, s + " dy (rounded inputs)");
  expect(relError(loss, exact.loss) <= 1e-2, s + " loss (exact inputs)");
  expect(relError(dx.data(), exact.dx) <= 1e-2, s + " dx (exact inputs)");
  expect(relError(dy.data(), exact.dy) <= 1e-2, s + " dy (exact inputs)");
}

// Every instruction set's kernels (tile_kernels.h) on odd shapes: fp32 within
// 1e-6 of float64 (bit-equal between the sets that fuse multiply-adds), and
// bf16 (pairs widened to two fp32 steps) bit-equal everywhere, AVX512-BF16
// included: each bf16 product is exact in fp32, so every set computes the
// same sums.
void testKernelsPerInstructionSet() {
  using siglip::kernels::InstructionSet;
  const std::vector<const InstructionSet*> sets = siglip::kernels::available();
  const bool native = siglip::bf16::hasNativeDotProducts();
  if (!native)
    std::printf("note: native bf16 kernel not run (no AVX512-BF16, or SIGLIP_ISA lower)\n");
  std::mt19937 rng(11);
  std::normal_distribution<float> normal;
  // b (steps x width) in panels of `panel` columns, zero-padded.
  auto inPanels = [](const auto& dense, int64_t steps, int64_t width, int64_t panel) {
    const int64_t panels = (width + panel - 1) / panel;
    std::vector<typename std::decay_t<decltype(dense)>::value_type> packed(panels * steps * panel);
    for (int64_t k = 0; k < steps; ++k)
      for (int64_t c = 0; c < width; ++c)
        packed[(c / panel) * steps * panel + k * panel + c % panel] = dense[k * width + c];
    return packed;
  };
  for (int64_t rows : {1, 5, 6, 13, 20})
    for (int64_t steps : {1, 7, 64, 300})  // 300: more than one depth block (tile_kernel.h)
      for (int64_t width : {7, 16, 64, 100}) {
        std::vector<float> coef(rows * steps), b(steps * width), start(rows * width);
        std::vector<uint32_t> coefPairs(rows * steps), bPairs(steps * width);
        for (auto& v : coef) v = normal(rng);
        for (auto& v : b) v = normal(rng);
        for (auto& v : start) v = normal(rng);
        for (auto& c : coefPairs) c = siglip::bf16::pair(normal(rng), normal(rng));
        for (auto& v : bPairs) v = siglip::bf16::pair(normal(rng), normal(rng));
        std::vector<double> want(rows * width);
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t c = 0; c < width; ++c) {
            double s = start[r * width + c];
            for (int64_t k = 0; k < steps; ++k) s += double(coef[r * steps + k]) * b[k * width + c];
            want[r * width + c] = s;
          }
        const std::string shape = " rows " + std::to_string(rows) + " steps " +
                                  std::to_string(steps) + " width " + std::to_string(width);
        std::vector<float> firstBf16;
        for (const InstructionSet* set : sets) {
          const int64_t panel = set->panel;
          const std::vector<float> bPanels = inPanels(b, steps, width, panel);
          const std::vector<uint32_t> bPairPanels = inPanels(bPairs, steps, width, panel);
          std::vector<float> fp32 = start, bf16 = start;
          set->float32(fp32.data(), rows, coef.data(), steps, 1, bPanels.data(), steps * panel,
                       panel, steps, width);
          // bf16 as the engine runs it without AVX512-BF16: each pair as two
          // fp32 steps, second then first (tile_engine_bf16.cc).
          std::vector<float> coefWide(2 * rows * steps), bWide(2 * bPairPanels.size());
          for (size_t i = 0; i < coefPairs.size(); ++i) {
            coefWide[2 * i] = siglip::bf16::high(coefPairs[i]);
            coefWide[2 * i + 1] = siglip::bf16::low(coefPairs[i]);
          }
          for (size_t line = 0; line < bPairPanels.size() / panel; ++line)
            for (int64_t j = 0; j < panel; ++j) {
              bWide[(2 * line) * panel + j] = siglip::bf16::high(bPairPanels[line * panel + j]);
              bWide[(2 * line + 1) * panel + j] = siglip::bf16::low(bPairPanels[line * panel + j]);
            }
          set->float32(bf16.data(), rows, coefWide.data(), 2 * steps, 1, bWide.data(),
                       2 * steps * panel, panel, 2 * steps, width);
          expect(relError(fp32.data(), want) <= 1e-6, std::string(set->name) + " fp32" + shape);
          if (firstBf16.empty()) {
            firstBf16 = bf16;
            if (native) {  // its panels are the AVX-512 set's
              const int64_t nativePanel = siglip::kernels::avx512()->panel;
              const std::vector<uint32_t> nativePanels =
                  inPanels(bPairs, steps, width, nativePanel);
              std::vector<float> nativeBf16 = start;
              siglip::bf16::accumulateNative(nativeBf16.data(), rows, coefPairs.data(), steps, 1,
                                             nativePanels.data(), steps * nativePanel, nativePanel,
                                             steps, width);
              expect(nativeBf16 == bf16, "bf16 native = " + std::string(set->name) + shape);
            }
          } else {
            expect(bf16 == firstBf16, std::string(set->name) + " bf16 = " + sets[0]->name + shape);
          }
        }
      }
}

void testBFloat16() {
  const double t10 = std::log(10.0);
  for (int threads : {1, 3}) {
    checkBFloat16Case(1, 1, 1, t10, -10, threads);
    checkBFloat16Case(3, 64, 17, t10, -10, threads);
    checkBFloat16Case(130, 97, 33, t10, -10, threads);
    checkBFloat16Case(131, 150, 100, t10, -10, threads);
    checkBFloat16Case(129, 257, 211, t10, -10, threads);
    checkBFloat16Case(40, 700, 20, t10, -10, threads);  // more than one block of column slots
  }
  for (double bias : {-50.0, 50.0}) checkBFloat16Case(70, 66, 24, std::log(1e3), bias, 2);
}

// The GPU epilogue's elementwise math (native/cuda/sigmoid_terms.h) against
// float64, with exact stand-ins for the approximate exp2 and reciprocal.
void testGpuSigmoidTerms() {
  using siglip::cuda::kLog2E;
  double sigmoidErr = 0, complementErr = 0, softplusErr = 0;
  for (int i = -200000; i <= 200000; ++i) {  // logits -100 .. 100 in steps of 5e-4
    const float l2 = static_cast<float>(i * 5e-4 * kLog2E);
    const double l = double(l2) / kLog2E;
    const auto t = siglip::cuda::logitTerms(l2);
    const double e = std::exp(-std::fabs(l));
    sigmoidErr = std::max(sigmoidErr, termRelError(t.sigmoid, 1 / (1 + std::exp(-l))));
    complementErr = std::max(complementErr, termRelError(t.complement, 1 / (1 + std::exp(l))));
    for (double z : {l, -l}) {
      const double softplus = std::max(z, 0.0) + t.log1pExp;
      softplusErr = std::max(softplusErr, termRelError(softplus, std::max(z, 0.0) + std::log1p(e)));
    }
  }
  expect(sigmoidErr < 1e-6, "GPU sigmoid: relative error " + std::to_string(sigmoidErr));
  expect(complementErr < 1e-6, "GPU 1 - sigmoid: relative error " + std::to_string(complementErr));
  expect(softplusErr < 3e-6, "GPU softplus(+-l): relative error " + std::to_string(softplusErr));

  const float inf = std::numeric_limits<float>::infinity();
  const auto high = siglip::cuda::logitTerms(inf), low = siglip::cuda::logitTerms(-inf);
  expect(high.sigmoid == 1 && high.complement == 0 && high.log1pExp == 0 && low.sigmoid == 0 &&
             low.complement == 1 && low.log1pExp == 0,
         "GPU terms at +-infinity");
  const auto nan = siglip::cuda::logitTerms(std::numeric_limits<float>::quiet_NaN());
  expect(std::isnan(nan.sigmoid) && std::isnan(nan.complement) && std::isnan(nan.log1pExp),
         "GPU terms keep NaN");

  // Rows of 8 outputs: labels, masks and both paths against float64 sums.
  std::mt19937 rng(17);
  std::uniform_real_distribution<float> dotDist(-3, 3);
  std::uniform_int_distribution<int> positiveDist(-2, 9), widthDist(-2, 8);
  int fastRows = 0, checked = 0, wrong = 0;
  for (double scale : {1.0, 10.0, 100.0})
    for (double bias : {-10.0, 0.0, 12.0})
      for (int trial = 0; trial < 200; ++trial) {
        float dot[8], g[8];
        for (float& v : dot) v = dotDist(rng);
        const int positive = positiveDist(rng);
        const int valid = trial % 2 ? 8 : widthDist(rng);
        fastRows += valid == 8 && (positive < 0 || positive >= 8);
        siglip::cuda::TermSums s;
        const float scale2 = static_cast<float>(scale * kLog2E);
        const float bias2 = static_cast<float>(bias * kLog2E);
        siglip::cuda::sigmoidTerms(dot, positive, valid, scale2, bias2, s, g);
        double loss = 0, grad = 0, gradDot = 0, lossScale = 0, gradAbs = 0, gradDotScale = 0;
        for (int q = 0; q < 8; ++q) {
          const double l = (double(scale2) * dot[q] + bias2) / kLog2E;  // the logit it sees
          const bool isPositive = q == positive;
          const double wantG = q < valid ? 1 / (1 + std::exp(-l)) - isPositive : 0;
          // sigmoid - 1 cancels in float64 too: compare a positive's g to -sigmoid(-l).
          const double wantGExact = isPositive && q < valid ? -1 / (1 + std::exp(l)) : wantG;
          wrong += termRelError(g[q], wantGExact) > 1e-5;
          if (q >= valid) continue;
          const double z = isPositive ? -l : l;
          const double term = std::max(z, 0.0) + std::log1p(std::exp(-std::fabs(z)));
          loss += term, lossScale += std::fabs(term);
          grad += wantGExact, gradDot += wantGExact * dot[q];
          gradAbs += std::fabs(wantGExact);
          gradDotScale += std::fabs(wantGExact) * std::fabs(dot[q]);
        }
        const double sLoss = siglip::cuda::kLn2 * s.positivePart + s.log1pExps;
        // + 1e-30: sums below float's range
        wrong += std::fabs(sLoss - loss) > 1e-5 * lossScale + 1e-30;
        wrong += std::fabs(s.grad - grad) > 1e-5 * gradAbs + 1e-30;
        wrong += std::fabs(s.gradDot - gradDot) > 1e-5 * gradDotScale + 1e-30;
        ++checked;
      }
  expect(wrong == 0 && fastRows > 100,
         "GPU row terms: " + std::to_string(wrong) + " wrong values in " + std::to_string(checked) +
             " rows (" + std::to_string(fastRows) + " on the all-negative path)");
}

// PositivePairs::anyIn against columnOf, row by row, on blocks at, across and
// beside the diagonal, with offsets and the matrix edge.
void testPositivesInBlocks() {
  using siglip::PositivePairs;
  int wrong = 0, blocks = 0, withPositive = 0;
  for (const PositivePairs pairs :
       {PositivePairs{}, PositivePairs{PositivePairs::Kind::kDiagonal, 5},
        PositivePairs{PositivePairs::Kind::kDiagonal, -7},
        PositivePairs{PositivePairs::Kind::kNone, 0}})
    for (int64_t row0 = -3; row0 < 40; row0 += 3)
      for (int64_t col0 = -2; col0 < 40; col0 += 5)
        for (int64_t height : {1, 4, 16})
          for (int64_t width : {1, 8, 16}) {
            const int64_t m = 30;
            bool want = false;
            for (int64_t r = row0; r < row0 + height; ++r) {
              const int64_t c = pairs.columnOf(r, m);
              want = want || (c >= col0 && c < col0 + width && c >= 0);
            }
            wrong += pairs.anyIn(row0, height, col0, width, m) != want;
            ++blocks, withPositive += want;
          }
  expect(wrong == 0 && withPositive > 100 && withPositive < blocks - 100,
         "positives in blocks: " + std::to_string(wrong) + " wrong of " + std::to_string(blocks) +
             " (" + std::to_string(withPositive) + " with a positive)");
}

// Group labels: labels drawn from `groups` values (plus some negatives when
// `withNegatives`), against the float64 reference.
struct Labels {
  std::vector<int32_t> x, y;
  siglip::PositivePairs pairs() const {
    siglip::PositivePairs p;
    p.kind = siglip::PositivePairs::Kind::kLabels;
    p.rowLabels = x.data();
    p.columnLabels = y.data();
    return p;
  }
};

Labels randomLabels(int64_t n, int64_t m, int groups, bool withNegatives, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> pick(withNegatives ? -2 : 0, groups - 1);
  Labels l{std::vector<int32_t>(n), std::vector<int32_t>(m)};
  for (auto& v : l.x) v = pick(rng) < 0 ? -1 - int(rng() % 5) : pick(rng);
  for (auto& v : l.y) v = pick(rng) < 0 ? -1 - int(rng() % 5) : pick(rng);
  return l;
}

void testLabels() {
  const double t10 = std::log(10.0);
  // Many duplicates, every row of one group, negatives, N != M, tile edges.
  for (int64_t n : {1, 127, 128, 129})
    for (int64_t m : {1, 63, 129, 200})
      for (int groups : {1, 4, 40}) {
        const Labels l = randomLabels(n, m, groups, groups == 4, unsigned(n * 3 + m + groups));
        checkCase(n, m, 19, t10, -10, l.pairs(), 1 + int((n + m) % 3));
      }
  // All unique, shuffled: exactly one positive per row where the label exists.
  Labels unique{std::vector<int32_t>(150), std::vector<int32_t>(170)};
  for (int32_t i = 0; i < 150; ++i) unique.x[i] = (i * 37) % 150;
  for (int32_t j = 0; j < 170; ++j) unique.y[j] = (j * 53) % 170;
  checkCase(150, 170, 33, t10, -10, unique.pairs(), 2);
  // Extreme logits and thread counts.
  const Labels dup = randomLabels(140, 133, 6, true, 7);
  for (double bias : {-50.0, 50.0}) checkCase(140, 133, 24, std::log(1e3), bias, dup.pairs(), 2);
  for (int threads : {1, 2, 3, 7}) checkCase(140, 133, 21, t10, -10, dup.pairs(), threads);
  checkBFloat16Case(140, 133, 40, t10, -10, 2, dup.pairs(), 1.0 / 256);

  // Labels i and j give exactly the diagonal's bits.
  std::mt19937 rng(11);
  const int64_t n = 200, m = 170, d = 30;
  const auto x = randomRows(rng, n, d);
  const auto y = randomRows(rng, m, d);
  Labels identity{std::vector<int32_t>(n), std::vector<int32_t>(m)};
  for (int32_t i = 0; i < n; ++i) identity.x[i] = i;
  for (int32_t j = 0; j < m; ++j) identity.y[j] = j;
  for (auto precision : {siglip::Precision::kFloat32, siglip::Precision::kBFloat16}) {
    std::vector<float> dx1(n * d), dy1(m * d), dx2(n * d), dy2(m * d);
    siglip::Gradients g1{dx1.data(), dy1.data()}, g2{dx2.data(), dy2.data()};
    const siglip::RunOptions options{2, precision};
    const double l1 =
        siglip::computeLossAndGrads({x.data(), y.data(), n, m, d, t10, -10, {}}, g1, options);
    const double l2 = siglip::computeLossAndGrads(
        {x.data(), y.data(), n, m, d, t10, -10, identity.pairs()}, g2, options);
    expect(l1 == l2 && g1.dTPrime == g2.dTPrime && g1.dBias == g2.dBias &&
               std::memcmp(dx1.data(), dx2.data(), dx1.size() * 4) == 0 &&
               std::memcmp(dy1.data(), dy2.data(), dy1.size() * 4) == 0,
           "labels i, j give the diagonal's bits");
  }
}

// A batch cut into blocks of rows and columns (as ranks hold it), each block
// normalized by the whole N and accumulated into its rows of dX and dY,
// against one pass over the whole batch.
void testBlocks() {
  std::mt19937 rng(13);
  const int64_t n = 300, m = 260, d = 24;
  const double t10 = std::log(10.0);
  const auto x = randomRows(rng, n, d);
  const auto y = randomRows(rng, m, d);
  const Labels labels = randomLabels(n, m, 9, true, 5);
  const int64_t rowCuts[] = {0, 129, 300}, colCuts[] = {0, 1, 140, 260};
  for (bool withLabels : {false, true}) {
    const siglip::PositivePairs whole = withLabels ? labels.pairs() : siglip::PositivePairs{};
    std::vector<float> dx(n * d), dy(m * d), bx(n * d, 0), by(m * d, 0);
    siglip::Gradients g{dx.data(), dy.data()};
    const double loss =
        siglip::computeLossAndGrads({x.data(), y.data(), n, m, d, t10, -10, whole}, g, {2});
    double blockLoss = 0, dTPrime = 0, dBias = 0;
    for (int r = 0; r < 2; ++r)
      for (int c = 0; c < 3; ++c) {
        const int64_t r0 = rowCuts[r], rows = rowCuts[r + 1] - r0;
        const int64_t c0 = colCuts[c], cols = colCuts[c + 1] - c0;
        siglip::PositivePairs p = whole;
        p.offset = r0 - c0;  // global indices
        if (withLabels) {
          p.rowLabels += r0;
          p.columnLabels += c0;
        }
        siglip::LossInputs in{x.data() + r0 * d, y.data() + c0 * d, rows, cols, d, t10, -10, p};
        in.normalizer = double(n);
        siglip::Gradients bg{bx.data() + r0 * d, by.data() + c0 * d};
        bg.accumulate = true;
        blockLoss += siglip::computeLossAndGrads(in, bg, {1 + c % 2});
        dTPrime += bg.dTPrime;
        dBias += bg.dBias;
      }
    std::vector<double> wantX(dx.begin(), dx.end()), wantY(dy.begin(), dy.end());
    const std::string s = withLabels ? "blocks with labels" : "blocks on the diagonal";
    expect(relError(blockLoss, loss) <= 1e-6, s + ": loss");
    expect(relError(dTPrime, g.dTPrime) <= 1e-5, s + ": dTPrime");
    expect(relError(dBias, g.dBias) <= 1e-6, s + ": dBias");
    expect(relError(bx.data(), wantX) <= 1e-6, s + ": dx");
    expect(relError(by.data(), wantY) <= 1e-6, s + ": dy");
  }
}

// Engines are kept between passes (engine_pool.h): a pass must read nothing
// that an earlier one left. A pass over NaN inputs of a larger shape (same
// dim) fills every kept engine with NaN; the smaller pass after it must give
// the bits it gave before. Passes on several threads at once share the pool.
void testEnginesReusedAcrossPasses() {
  const int64_t n = 300, m = 257, d = 40, bigN = 390, bigM = 401;
  std::mt19937 rng(23);
  const auto x = randomRows(rng, n, d);
  const auto y = randomRows(rng, m, d);
  const std::vector<float> nans(std::max(bigN, bigM) * d, NAN);
  for (auto precision : {siglip::Precision::kFloat32, siglip::Precision::kBFloat16}) {
    const std::string name = precision == siglip::Precision::kFloat32 ? "fp32" : "bf16";
    siglip::RunOptions options{3};
    options.precision = precision;
    auto pass = [&](std::vector<float>& dx, std::vector<float>& dy) {
      siglip::Gradients g{dx.data(), dy.data()};
      const double loss = siglip::computeLossAndGrads(
          {x.data(), y.data(), n, m, d, std::log(10.0), -10, {}}, g, options);
      const double lossOnly =
          siglip::computeLoss({x.data(), y.data(), n, m, d, std::log(10.0), -10, {}}, options);
      return std::vector<double>{loss, lossOnly, g.dTPrime, g.dBias};
    };
    std::vector<float> dx1(n * d), dy1(m * d);
    const auto scalars1 = pass(dx1, dy1);
    std::vector<float> bigDx(bigN * d), bigDy(bigM * d);
    siglip::Gradients big{bigDx.data(), bigDy.data()};
    siglip::computeLossAndGrads({nans.data(), nans.data(), bigN, bigM, d, 0, 0, {}}, big, options);
    expect(std::isnan(big.dBias), name + ": the NaN pass ran");
    std::vector<float> dx2(n * d), dy2(m * d);
    expect(pass(dx2, dy2) == scalars1 && dx2 == dx1 && dy2 == dy1,
           name + ": a pass after a NaN pass of another shape gives the same bits");
    constexpr int kConcurrent = 3;
    std::vector<std::vector<float>> dxs(kConcurrent, std::vector<float>(n * d, NAN)),
        dys(kConcurrent, std::vector<float>(m * d, NAN));  // poisoned
    std::vector<std::vector<double>> scalars(kConcurrent);
    std::vector<std::thread> threads;
    for (int t = 0; t < kConcurrent; ++t)
      threads.emplace_back([&, t] { scalars[t] = pass(dxs[t], dys[t]); });
    for (auto& t : threads) t.join();
    for (int t = 0; t < kConcurrent; ++t)
      expect(scalars[t] == scalars1 && dxs[t] == dx1 && dys[t] == dy1,
             name + ": concurrent pass " + std::to_string(t) + " gives the same bits");
  }
}

// RunOptions::cancel: set before the call, or by another thread during a
// long pass of either loss; the pass stops soon after and throws Cancelled.
// "Soon" is a tile's time, 1 s at most natively; SIGLIP_TEST_SLOWDOWN scales
// it for emulators (qemu runs the tiles some 30 times slower).
void testCancellation() {
  const char* slowdown = std::getenv("SIGLIP_TEST_SLOWDOWN");
  const double allowedMs = 1000 * (slowdown ? std::max(1.0, std::atof(slowdown)) : 1.0);
  std::mt19937 rng(17);
  const int64_t n = 4096, d = 512;  // ~0.3 s a pass on AVX-512
  const auto x = randomRows(rng, n, d);
  const auto y = randomRows(rng, n, d);
  std::vector<float> dx(n * d), dy(n * d);
  siglip::LossInputs in{x.data(), y.data(), n, n, d, std::log(10.0), -10, {}};
  for (int which = 0; which < 3; ++which)
    for (int delayMs : {0, 30}) {
      std::atomic<bool> cancel{delayMs == 0};
      siglip::RunOptions options{2};
      options.cancel = &cancel;
      std::thread canceller([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(delayMs));
        cancel = true;
      });
      const auto start = std::chrono::steady_clock::now();
      bool threw = false;
      try {
        siglip::Gradients g{dx.data(), dy.data()};
        if (which == 0) siglip::computeLossAndGrads(in, g, options);
        if (which == 1) siglip::computeLoss(in, options);
        if (which == 2)
          siglip::computeSoftmaxLossAndGrads({x.data(), y.data(), n, d, 1.0}, g, options);
      } catch (const siglip::Cancelled&) {
        threw = true;
      }
      canceller.join();
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count();
      expect(threw && ms < delayMs + allowedMs,
             "cancel (pass " + std::to_string(which) + ", after " + std::to_string(delayMs) +
                 " ms): threw " + std::to_string(threw) + " in " + std::to_string(ms) + " ms");
    }
}

int main(int argc, char** argv) {
  // For scripts/native-tests.sh: the SIGLIP_ISA values to run this test under.
  if (argc > 1 && std::string(argv[1]) == "--instruction-sets") {
    for (const auto* set : siglip::kernels::available()) std::printf("%s\n", set->id);
    return 0;
  }
  std::printf("tile kernels: %s\n", siglip::kernels::forThisCpu().name);
  testKernelsPerInstructionSet();
  testRandomShapes();
  testBFloat16();
  testDeterminism();
  testEnginesReusedAcrossPasses();
  testExtremeAndNonFinite();
  testValidation();
  testSoftmax();
  testGpuSigmoidTerms();
  testPositivesInBlocks();
  testLabels();
  testBlocks();
  testCancellation();
  std::printf("core: %d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
