#include "softmax.h"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "fast_math.h"
#include "ring_pass.h"
#include "simd.h"

namespace siglip {
namespace {

constexpr float kMinusInfinity = -std::numeric_limits<float>::infinity();

// Online log-sum-exp statistics per row and per column: the running max M and
// the sum of exp(l - M) over the off-diagonal entries; the diagonal logit is
// kept apart, so that a nearly one-hot softmax keeps its precision:
//   LSE_i - l_ii = log1p(q_i), q_i = offSum_i exp(M_i - l_ii).
// Rows are written only by the worker that owns them, columns by the worker
// holding that column group in the current ring step.
struct Statistics {
  std::vector<float> rowMax, colMax, diagonal;
  std::vector<double> rowSum, colSum;  // off-diagonal
  std::vector<float> nanProbe;         // per worker: sum of (dot - dot), NaN if any input was
  Statistics(int64_t n, int workers)
      : rowMax(n, kMinusInfinity),
        colMax(n, kMinusInfinity),
        diagonal(n, 0.0f),
        rowSum(n, 0.0),
        colSum(n, 0.0),
        nanProbe(workers, 0.0f) {}

  // q_i = sum_{j != i} exp(l_ij - l_ii) for the rows (columns: the same over l_ji).
  static double q(float max, double offSum, float diagonal) {
    return offSum * std::exp(static_cast<double>(max) - diagonal);
  }
  // LSE_i - l_ii, without cancellation.
  static double lossTerm(float max, double offSum, float diagonal) {
    const double a = static_cast<double>(max) - diagonal;  // >= 0
    return a < 700 ? std::log1p(offSum * std::exp(a)) : std::log(offSum) + a;
  }
};

// What the backward pass needs per row or column: the LSE and the exact
// diagonal gradient softmax_ii - 1 = -q / (1 + q).
struct Normalizers {
  std::vector<float> lse, diagonalGrad;
  Normalizers(const std::vector<float>& max, const std::vector<double>& offSum,
              const std::vector<float>& diagonal)
      : lse(max.size()), diagonalGrad(max.size()) {
    for (size_t i = 0; i < max.size(); ++i) {
      lse[i] =
          static_cast<float>(diagonal[i] + Statistics::lossTerm(max[i], offSum[i], diagonal[i]));
      const double q = Statistics::q(max[i], offSum[i], diagonal[i]);
      diagonalGrad[i] = static_cast<float>(std::isinf(q) ? -1.0 : -q / (1.0 + q));
    }
  }
};

// max over c < cols of row[c] (dots; the scale t > 0 keeps the order).
SIGLIP_INLINE float rowMaximum(const float* row, int cols, float& probe) {
  float m = kMinusInfinity, nan = 0;
#pragma omp simd reduction(max : m) reduction(+ : nan)
  for (int c = 0; c < cols; ++c) {
    m = row[c] > m ? row[c] : m;
    nan += row[c] - row[c];
  }
  probe += nan;
  return m;
}

// sum over c < cols, c != skip of exp(scale * row[c] - max), for max >= every logit.
SIGLIP_INLINE float rowExpSum(const float* row, int cols, int skip, float scale, float max) {
  float s = 0;
#pragma omp simd reduction(+ : s)
  for (int c = 0; c < cols; ++c) s += c == skip ? 0.0f : expNegative(max - scale * row[c]);
  return s;
}

SIGLIP_MULTIVERSION
void accumulateStatistics(const Tile& t, float scale, Statistics& st, float& probe) {
  const int cols = static_cast<int>(t.cols);
  // The diagonal's column within the tile for row r, or -1.
  auto diagonalOf = [&](int64_t r) {
    const int64_t i = t.r0 + r;
    return i >= t.c0 && i < t.c0 + t.cols ? static_cast<int>(i - t.c0) : -1;
  };
  for (int64_t r = 0; r < t.rows; ++r) {
    const float* row = t.dots + r * kTile;
    const int64_t i = t.r0 + r;
    const int diagonal = diagonalOf(r);
    const float newMax = std::max(st.rowMax[i], scale * rowMaximum(row, cols, probe));
    const double rescale = std::exp(static_cast<double>(st.rowMax[i]) - newMax);
    st.rowSum[i] = st.rowSum[i] * rescale + rowExpSum(row, cols, diagonal, scale, newMax);
    st.rowMax[i] = newMax;
    if (diagonal >= 0) st.diagonal[i] = scale * row[diagonal];
  }
  float colTileMax[kTile], colTileSum[kTile];
  for (int c = 0; c < cols; ++c) colTileMax[c] = kMinusInfinity;
  for (int64_t r = 0; r < t.rows; ++r) {
    const float* row = t.dots + r * kTile;
#pragma omp simd
    for (int c = 0; c < cols; ++c) colTileMax[c] = row[c] > colTileMax[c] ? row[c] : colTileMax[c];
  }
  for (int c = 0; c < cols; ++c) {
    colTileMax[c] = std::max(st.colMax[t.c0 + c], scale * colTileMax[c]);
    colTileSum[c] = 0;
  }
  for (int64_t r = 0; r < t.rows; ++r) {
    const float* row = t.dots + r * kTile;
    const int diagonal = diagonalOf(r);
#pragma omp simd
    for (int c = 0; c < cols; ++c)
      colTileSum[c] += c == diagonal ? 0.0f : expNegative(colTileMax[c] - scale * row[c]);
  }
  for (int c = 0; c < cols; ++c) {
    const int64_t j = t.c0 + c;
    st.colSum[j] =
        st.colSum[j] * std::exp(static_cast<double>(st.colMax[j]) - colTileMax[c]) + colTileSum[c];
    st.colMax[j] = colTileMax[c];
  }
}

// G = (softmax_row + softmax_col - 2 [i = j]) / (2N), written scaled by t for
// dX = t G Y; returns sum of G * logit (dL/dt').
SIGLIP_MULTIVERSION
double softmaxGradients(const Tile& t, float scale, float inverseTwoN, const Normalizers& rows,
                        const Normalizers& columns) {
  double gradDot = 0;
  const int cols = static_cast<int>(t.cols);
  const float* colLse = columns.lse.data() + t.c0;
  for (int64_t r = 0; r < t.rows; ++r) {
    float* row = t.dots + r * kTile;
    const int64_t i = t.r0 + r;
    const int diagonal = i >= t.c0 && i < t.c0 + t.cols ? static_cast<int>(i - t.c0) : -1;
    const float lseRow = rows.lse[i];
    const float diagonalGrad = rows.diagonalGrad[i] + columns.diagonalGrad[i];
    float sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int c = 0; c < cols; ++c) {
      const float logit = scale * row[c];
      // LSE >= logit up to rounding; expNegative is exact enough for tiny negative arguments.
      const float p = expNegative(lseRow - logit) + expNegative(colLse[c] - logit);
      const float g = (c == diagonal ? diagonalGrad : p) * inverseTwoN;
      sum += g * logit;
      row[c] = g * scale;
    }
    gradDot += sum;
  }
  return gradDot;
}

struct Setup {
  PassInputs pass;
  int workers;
  float scale;
};

Setup setup(const SoftmaxInputs& in, const RunOptions& options) {
  validate(in);
  if (options.precision != Precision::kFloat32)
    throw std::invalid_argument("precision: the softmax loss computes in fp32 only");
  const PassInputs pass{in.x, in.y, in.n, in.n, in.dim, options.precision, options.cancel};
  return {pass, workersFor(pass, options.threads), static_cast<float>(std::exp(in.tPrime))};
}

// The forward pass: statistics, and the loss from them.
double forward(const SoftmaxInputs& in, const Setup& s, Statistics& st) {
  runPass(s.pass, s.workers, Schedule::kRing, nullptr, nullptr, false,
          [&](int worker, const Tile& tile) {
            accumulateStatistics(tile, s.scale, st, st.nanProbe[worker]);
          });
  double loss = 0;
  for (int64_t i = 0; i < in.n; ++i) {
    loss += Statistics::lossTerm(st.rowMax[i], st.rowSum[i], st.diagonal[i]) +
            Statistics::lossTerm(st.colMax[i], st.colSum[i], st.diagonal[i]);
  }
  for (float probe : st.nanProbe) loss += probe;  // NaN in, NaN out
  return loss / (2.0 * static_cast<double>(in.n));
}

}  // namespace

void validate(const SoftmaxInputs& in) {
  // The sigmoid loss's checks with M = N and no bias: the same fields, messages and bounds.
  validate(LossInputs{in.x, in.y, in.n, in.n, in.dim, in.tPrime, 0.0, {}});
}

double computeSoftmaxLoss(const SoftmaxInputs& in, const RunOptions& options) {
  const Setup s = setup(in, options);
  Statistics st(in.n, s.workers);
  return forward(in, s, st);
}

double computeSoftmaxLossAndGrads(const SoftmaxInputs& in, Gradients& grads,
                                  const RunOptions& options) {
  if (grads.dx == nullptr) throw std::invalid_argument("dx must not be null");
  if (grads.dy == nullptr) throw std::invalid_argument("dy must not be null");
  const Setup s = setup(in, options);
  Statistics st(in.n, s.workers);
  const double loss = forward(in, s, st);
  const Normalizers rows(st.rowMax, st.rowSum, st.diagonal);
  const Normalizers columns(st.colMax, st.colSum, st.diagonal);
  const float inverseTwoN = static_cast<float>(0.5 / static_cast<double>(in.n));
  std::vector<double> gradDot(s.workers, 0.0);
  runPass(s.pass, s.workers, Schedule::kRing, grads.dx, grads.dy, false,
          [&](int worker, const Tile& tile) {
            gradDot[worker] += softmaxGradients(tile, s.scale, inverseTwoN, rows, columns);
          });
  grads.dTPrime = 0;
  for (double g : gradDot) grads.dTPrime += g;  // fixed order: deterministic
  grads.dBias = 0;
  return loss;
}

}  // namespace siglip
