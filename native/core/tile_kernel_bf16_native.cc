// Everything in this file is compiled for AVX512-BF16 (the pragma comes
// before the includes, so the inlined kernel templates get it too); only
// hasNativeDotProducts() may run on other CPUs.
#include <stdexcept>

#include "tile_kernel_bf16.h"
#include "tile_kernels.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(SIGLIP_NO_MULTIVERSION)
#define SIGLIP_BF16_NATIVE 1
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16,avx2,fma")
#include <immintrin.h>

#include "bfloat16.h"
#include "tile_kernel.h"

namespace siglip::bf16 {
namespace {

struct Native {
  using Elem = uint32_t;
  using Coef = uint32_t;
  using Vec = __m512bh;
  static SIGLIP_INLINE Vec load(const uint32_t* p) { return (Vec)_mm512_loadu_si512(p); }
  static SIGLIP_INLINE Vec broadcast(uint32_t c) { return (Vec)_mm512_set1_epi32(int(c)); }
  using Acc = simd::Vec;
  static constexpr int kLanes = simd::kLanes;
  static SIGLIP_INLINE simd::Vec multiplyAdd(simd::Vec acc, Vec c, Vec b) {
    return (simd::Vec)_mm512_dpbf16_ps((__m512)acc, c, b);
  }
  static SIGLIP_INLINE float multiplyAddScalar(float acc, uint32_t c, const uint32_t* b) {
    return dotPair(acc, c, *b);
  }
};

}  // namespace

void accumulateNative(float* out, int64_t rows, const uint32_t* coef, int64_t coefRowStride,
                      int64_t coefColStride, const uint32_t* b, int64_t bPanelStride,
                      int64_t bRowStride, int64_t steps, int64_t width) {
  const kernel::Operand<uint32_t, kernels::kAvx512Vectors * simd::kLanes> operand{b, bPanelStride,
                                                                                  bRowStride};
  kernel::accumulate<Native, kernels::kAvx512Vectors, 12, 8, 4, 2, 1>(
      out, rows, coef, coefRowStride, coefColStride, operand, steps, width);
}

}  // namespace siglip::bf16
#pragma GCC pop_options
#endif

namespace siglip::bf16 {

#ifdef SIGLIP_BF16_NATIVE
bool hasNativeDotProducts() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512bf16") && &kernels::forThisCpu() == kernels::avx512();
}
#else
bool hasNativeDotProducts() { return false; }
void accumulateNative(float*, int64_t, const uint32_t*, int64_t, int64_t, const uint32_t*, int64_t,
                      int64_t, int64_t, int64_t) {
  throw std::logic_error("this build has no AVX512-BF16 kernel");
}
#endif

}  // namespace siglip::bf16
