// The bf16 kernel (tile_kernel.h over pair words): on AVX512-BF16
// (vdpbf16ps: 32 multiply-adds an instruction, twice fp32's), compiled for that
// target alone and called only where the CPU reports it, and emulated with
// the same sums elsewhere.
#pragma once

#include <cstdint>

namespace siglip::bf16 {

bool hasNativeDotProducts();

// out (rows x width) += coef * b as kernel::accumulate with pair words:
// coef step k of row r at coef[r * coefRowStride + k * coefColStride], b step k
// of column c at b[(c / kPanel) * bPanelStride + k * bRowStride + c % kPanel].
void accumulateNative(float* out, int64_t rows, const uint32_t* coef, int64_t coefRowStride,
                      int64_t coefColStride, const uint32_t* b, int64_t bPanelStride,
                      int64_t bRowStride, int64_t steps, int64_t width);
void accumulateEmulated(float* out, int64_t rows, const uint32_t* coef, int64_t coefRowStride,
                        int64_t coefColStride, const uint32_t* b, int64_t bPanelStride,
                        int64_t bRowStride, int64_t steps, int64_t width);

}  // namespace siglip::bf16
