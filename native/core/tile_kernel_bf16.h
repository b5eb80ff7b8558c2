// The bf16 kernel (tile_kernel.h over pair words) on AVX512-BF16 (vdpbf16ps:
// 32 multiply-adds an instruction, twice fp32's), compiled for that target
// alone and called only where the CPU reports it; elsewhere the fp32 kernels
// compute the same sums over the values widened to floats
// (tile_engine_bf16.cc).
#pragma once

#include <cstdint>

namespace siglip::bf16 {

// The CPU has AVX512-BF16 and the tile kernels run as AVX-512 (not lowered
// by SIGLIP_ISA).
bool hasNativeDotProducts();

// A kernels::AccumulateFn<uint32_t>.
void accumulateNative(float* out, int64_t rows, const uint32_t* coef, int64_t coefRowStride,
                      int64_t coefColStride, const uint32_t* b, int64_t bPanelStride,
                      int64_t bRowStride, int64_t steps, int64_t width);

}  // namespace siglip::bf16
