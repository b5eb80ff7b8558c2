// The sigmoid loss's elementwise work for the GPU epilogue in few
// instructions: per logit one exp2 and one reciprocal (the special-function
// unit) and a short polynomial for log1p, and a branch-free loop for the
// common case of a run of negatives. Host and device code: on the host the
// approximate instructions become exact functions, so that the C++ tests check
// these formulas against float64.
#pragma once

#include <cmath>
#include <cstdint>

#include "../core/positive_pairs.h"  // SIGLIP_HOST_DEVICE

#if defined(__CUDACC__)
#define SIGLIP_UNROLL _Pragma("unroll")
#else
#define SIGLIP_UNROLL
#endif

namespace siglip::cuda {

constexpr double kLn2 = 0.69314718055994530942;
constexpr double kLog2E = 1.44269504088896340736;

// 2^x (ex2.approx.ftz: relative error ~2^-22).
SIGLIP_HOST_DEVICE inline float exp2Approx(float x) {
#if defined(__CUDA_ARCH__)
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
#else
  return std::exp2(x);
#endif
}

// 1 / x (rcp.approx.ftz: within 1 ulp).
SIGLIP_HOST_DEVICE inline float reciprocalApprox(float x) {
#if defined(__CUDA_ARCH__)
  float y;
  asm("rcp.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
#else
  return 1.0f / x;
#endif
}

// log(1 + e) for e in [0, 1] as e + e^2 Q(e), Q a degree-5 fit of the relative
// error (at most 1.6e-6 in float arithmetic; exact as e -> 0, where 1 + e
// rounds to 1 and a logarithm would lose e).
SIGLIP_HOST_DEVICE inline float log1pUnit(float e) {
  float q = 1.458862241e-02f;
  q = fmaf(q, e, -6.785202734e-02f);
  q = fmaf(q, e, 1.510285183e-01f);
  q = fmaf(q, e, -2.361138060e-01f);
  q = fmaf(q, e, 3.314043369e-01f);
  q = fmaf(q, e, -4.999074732e-01f);
  return fmaf(e * q, e, e);
}

// One logit l, given as l2 = l / ln 2.
struct LogitTerms {
  float sigmoid;     // sigmoid(l)
  float complement;  // sigmoid(-l) = 1 - sigmoid(l), without the cancellation
  float log1pExp;    // log(1 + exp(-|l|)); softplus(z) = max(z, 0) + this for z = +-l
};

SIGLIP_HOST_DEVICE inline LogitTerms logitTerms(float l2) {
  const float e = exp2Approx(-fabsf(l2));  // NaN stays NaN in every term
  const float r = reciprocalApprox(1.0f + e);
  const float er = e * r;
  const bool nonNegative = l2 >= 0;
  return {nonNegative ? r : er, nonNegative ? er : r, log1pUnit(e)};
}

// One thread's partial sums over at most a tile's share of outputs. The loss
// is split so that the common path needs no label: loss = ln 2 * positivePart
// + log1pExps.
struct TermSums {
  float positivePart = 0;  // sum of max(z, 0) / ln 2, z = -label * logit
  float log1pExps = 0;     // sum of log(1 + exp(-|logit|))
  float grad = 0;          // sum of g = sigmoid(logit) - [positive]
  float gradDot = 0;       // sum of g * dot
};

// kWidth outputs that are all negative pairs inside the problem (nearly all
// of them): no labels, no masks. logit = (scale2 * dot + bias2) * ln 2.
template <int kWidth>
SIGLIP_HOST_DEVICE inline void negativeTerms(const float (&dot)[kWidth], float scale2, float bias2,
                                             TermSums& s, float (&g)[kWidth]) {
  SIGLIP_UNROLL
  for (int q = 0; q < kWidth; ++q) {
    const float l2 = fmaf(scale2, dot[q], bias2);
    const LogitTerms t = logitTerms(l2);
    s.positivePart += fmaxf(l2, 0.0f);
    s.log1pExps += t.log1pExp;
    s.grad += t.sigmoid;
    s.gradDot = fmaf(t.sigmoid, dot[q], s.gradDot);
    g[q] = t.sigmoid;
  }
}

// kWidth consecutive outputs of one row: logit = (scale2 * dot + bias2) * ln 2;
// the output at `positive` (if in [0, kWidth)) is the row's positive pair;
// outputs from validWidth on lie outside the problem (g = 0, no sums).
template <int kWidth>
SIGLIP_HOST_DEVICE inline void sigmoidTerms(const float (&dot)[kWidth], int64_t positive,
                                            int validWidth, float scale2, float bias2, TermSums& s,
                                            float (&g)[kWidth]) {
  if (validWidth == kWidth && (positive < 0 || positive >= kWidth))
    return negativeTerms(dot, scale2, bias2, s, g);
  SIGLIP_UNROLL
  for (int q = 0; q < kWidth; ++q) {
    const bool isPositive = positive == q;
    const float l2 = fmaf(scale2, dot[q], bias2);
    const LogitTerms t = logitTerms(l2);
    g[q] = q < validWidth ? (isPositive ? -t.complement : t.sigmoid) : 0.0f;
    if (q < validWidth) {
      s.positivePart += fmaxf(isPositive ? -l2 : l2, 0.0f);
      s.log1pExps += t.log1pExp;
      s.grad += g[q];
      s.gradDot = fmaf(g[q], dot[q], s.gradDot);
    }
  }
}

}  // namespace siglip::cuda
