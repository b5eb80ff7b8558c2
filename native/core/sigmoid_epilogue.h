// Elementwise work on one tile of dot products: logits, stable softplus and
// sigmoid, the loss and the scalar-gradient sums, and G in place.
#pragma once

#include <cstdint>

namespace siglip {

// Sums over a tile, in double. With g = sigmoid(l) - [positive]:
struct TileSums {
  double loss = 0;     // sum of softplus(-z * l)
  double grad = 0;     // sum of g
  double gradDot = 0;  // sum of g * <x, y>
  void add(const TileSums& o) {
    loss += o.loss;
    grad += o.grad;
    gradDot += o.gradDot;
  }
};

struct EpilogueParams {
  float scale = 1;      // t = exp(t')
  float bias = 0;       // b
  float gradScale = 0;  // G is written as g * gradScale (t / N)
  bool writeGrad = false;
};

// Widest tile row the epilogue takes (the pass's kTile).
constexpr int64_t kMaxEpilogueColumns = 128;

// `tile` holds rows x cols dot products with row stride ld. (r, c) is a
// positive pair iff rowKey[r] >= 0 and rowKey[r] == columnKey[c]
// (PositivePairs::tileKeys); with anyPositive false neither is read.
// When params.writeGrad, the tile is overwritten with g * gradScale.
void sigmoidEpilogue(float* tile, int64_t ld, int64_t rows, int64_t cols, const int32_t* rowKey,
                     const int32_t* columnKey, bool anyPositive, const EpilogueParams& params,
                     TileSums& sums);

}  // namespace siglip
