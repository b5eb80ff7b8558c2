// The built-in tile kernels (tile_kernel.h), compiled once per instruction set
// with that set's vector width and register block (tile_kernels_for_isa.h),
// beside the sigmoid epilogue for the same set, and the set this CPU runs. One build serves
// AVX-512, AVX2 and older CPUs.
#pragma once

#include <cstdint>
#include <vector>

#include "sigmoid_epilogue.h"

namespace siglip::kernels {

// out (rows x width) += coef * b: coef step k of row r at
// coef[r * coefRowStride + k * coefColStride]; b step k of column c at
// b[(c / panel) * bPanelStride + k * bRowStride + c % panel], `panel` the
// instruction set's (InstructionSet::panel).
template <typename Elem>
using AccumulateFn = void (*)(float* out, int64_t rows, const Elem* coef, int64_t coefRowStride,
                              int64_t coefColStride, const Elem* b, int64_t bPanelStride,
                              int64_t bRowStride, int64_t steps, int64_t width);

// sigmoidEpilogue (sigmoid_epilogue.h) compiled for one instruction set.
using EpilogueFn = void (*)(float* tile, int64_t ld, int64_t rows, int64_t cols,
                            const int32_t* rowKey, const int32_t* columnKey, bool anyPositive,
                            const EpilogueParams& params, TileSums& sums);

struct InstructionSet {
  const char* id;               // its SIGLIP_ISA value
  const char* name;             // as backendInfo().isa reports it
  int64_t panel;                // columns of a panel of b
  AccumulateFn<float> float32;  // fp32 products
  EpilogueFn epilogue;          // the sigmoid epilogue of every tile
};

// Vectors across AVX-512's register block, with 12 rows: its panels are 32
// floats wide (the AVX512-BF16 kernel reads the same panels). As BLIS's SKX
// kernel does (32 x 12), the panel streams 2 vectors a step from L2 while
// the 12 broadcast coefficients stay in L1; with 4 vectors x 6 rows, 4 a step
// streamed, and N = 8192 ran 2-5 % slower (bench/engine-bench.cc, Zen 5).
constexpr int kAvx512Vectors = 2;

// Each tile_kernels_<set>.cc: its set, or nullptr where this build or this
// CPU has none.
const InstructionSet* avx512();
const InstructionSet* avx2();
const InstructionSet* neon();
const InstructionSet* portable();

// Best first; only the sets this build has and this CPU can run.
std::vector<const InstructionSet*> available();

// available()[0], or the set named by the environment variable SIGLIP_ISA
// (for tests and for measuring what an older CPU gets; throws
// std::invalid_argument naming the variable when it names no available set).
const InstructionSet& forThisCpu();

}  // namespace siglip::kernels
