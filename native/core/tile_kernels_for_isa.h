// Included once by each tile_kernels_<set>.cc, after its `#pragma GCC target`
// (so that every inlined template is compiled for that target): the entry
// points of one instruction set (tile products and the sigmoid epilogue). Internal linkage: each
// file has its own.
#pragma once

#include "sigmoid_epilogue_kernel.h"
#include "simd.h"
#include "tile_kernel.h"
#include "tile_kernels.h"

namespace siglip::kernels {
namespace {

template <int N>
struct Float32 {
  using Elem = float;
  using Coef = float;
  using Vec = typename simd::Lanes<N>::Floats;
  using Acc = Vec;
  static constexpr int kLanes = N;
  static SIGLIP_INLINE Vec load(const float* p) { return simd::loadAs<Vec>(p); }
  // c - 0 is c for every float (c + 0 is not, for -0): one load-and-broadcast.
  static SIGLIP_INLINE Vec broadcast(float c) { return c - Vec{}; }
  static SIGLIP_INLINE Vec multiplyAdd(Vec acc, Vec g, Vec b) { return acc + g * b; }
  static SIGLIP_INLINE float multiplyAddScalar(float acc, float c, const float* b) {
    return acc + c * *b;
  }
};

// kLanes-float vectors in blocks of kVecs vectors by kRows... rows; panels
// one block wide.
template <int kLanes, int kVecs, int... kRows>
struct Entries {
  static constexpr int64_t kPanel = kVecs * kLanes;
  template <typename Arith>
  static void run(float* out, int64_t rows, const typename Arith::Coef* coef, int64_t coefRowStride,
                  int64_t coefColStride, const typename Arith::Elem* b, int64_t bPanelStride,
                  int64_t bRowStride, int64_t steps, int64_t width) {
    const kernel::Operand<typename Arith::Elem, kPanel> operand{b, bPanelStride, bRowStride};
    kernel::accumulate<Arith, kVecs, kRows...>(out, rows, coef, coefRowStride, coefColStride,
                                               operand, steps, width);
  }
  static InstructionSet named(const char* id, const char* name) {
    return {id, name, kPanel, &run<Float32<kLanes>>, &epilogue::run<kLanes>};
  }
};

}  // namespace
}  // namespace siglip::kernels
