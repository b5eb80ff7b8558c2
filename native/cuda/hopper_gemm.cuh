// The Hopper GEMM: C[128 x kBlockN tile] = A * B^T with A (M x K) and B (N x K)
// both K-major bf16, read by the tensor copy engine into a kStages-deep ring
// of shared-memory stages and multiplied by wgmma, fp32 accumulation. One copy
// warpgroup issues the loads; two math warpgroups own 64 rows each and hand
// their outputs to the same epilogue functors as the WMMA kernel, two
// consecutive columns per call.
#pragma once

#include <cuda.h>
#include <cudaTypedefs.h>  // PFN_cuTensorMapEncodeTiled
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "hopper_ptx.cuh"
#include "wgmma_ops.cuh"

namespace siglip::cuda::hopper {

constexpr int kBlockM = 128;
constexpr int kBlockK = 64;  // 128 bytes of bf16: one swizzle row
constexpr int kStages = 4;
constexpr int kMathThreads = 256;
constexpr int kThreads = 128 + kMathThreads;

template <int kBlockN>
struct Tiles {
  static constexpr int kABytes = kBlockM * kBlockK * 2;
  static constexpr int kBBytes = kBlockN * kBlockK * 2;
  static constexpr int kStageBytes = kABytes + kBBytes;
  static constexpr int kSmemBytes = kStages * kStageBytes + 1024;  // + alignment slack
  static_assert(kABytes % 1024 == 0 && kStageBytes % 1024 == 0, "swizzle atoms stay aligned");
  static_assert(kSmemBytes <= 227 * 1024, "fits one multiprocessor");
};

// depth = kSteps * kBlockK; grid = (N / kBlockN, M / kBlockM).
template <int kBlockN, typename Epilogue>
__global__ void __launch_bounds__(kThreads, 1)
    gemmKernel(const __grid_constant__ CUtensorMap aMap, const __grid_constant__ CUtensorMap bMap,
               int kSteps, Epilogue epilogue) {
#if SIGLIP_HOPPER_DEVICE
  using Shape = Tiles<kBlockN>;
  extern __shared__ unsigned char rawSmem[];
  unsigned char* smem = reinterpret_cast<unsigned char*>(
      (reinterpret_cast<uintptr_t>(rawSmem) + 1023) & ~static_cast<uintptr_t>(1023));
  // full[s]: stage s has landed; empty[s]: every math warp is done with it.
  __shared__ alignas(8) uint64_t full[kStages], empty[kStages];
  const int64_t m0 = static_cast<int64_t>(blockIdx.y) * kBlockM;
  const int64_t n0 = static_cast<int64_t>(blockIdx.x) * kBlockN;

  if (threadIdx.x == 0) {
    for (int s = 0; s < kStages; ++s) {
      barrierInit(&full[s], 1);
      barrierInit(&empty[s], kMathThreads / 32);
    }
    barrierInitFence();
  }
  __syncthreads();

  if (threadIdx.x < 128) {  // the copy warpgroup
    releaseRegisters<40>();
    if (threadIdx.x == 0) {
      for (int k = 0; k < kSteps; ++k) {
        const int s = k % kStages;
        if (k >= kStages) barrierWait(&empty[s], (k / kStages - 1) & 1);
        unsigned char* stage = smem + s * Shape::kStageBytes;
        barrierExpectBytes(&full[s], Shape::kStageBytes);
        tensorLoad(stage, &aMap, &full[s], k * kBlockK, static_cast<int32_t>(m0));
        tensorLoad(stage + Shape::kABytes, &bMap, &full[s], k * kBlockK, static_cast<int32_t>(n0));
      }
    }
    return;
  }

  claimRegisters<232>();
  const int thread = threadIdx.x - 128;
  const int mathGroup = thread / 128;  // rows mathGroup * 64 .. + 63 of the tile
  float acc[kBlockN / 16][8];
#pragma unroll
  for (int i = 0; i < kBlockN / 16; ++i)
#pragma unroll
    for (int j = 0; j < 8; ++j) acc[i][j] = 0.0f;

  for (int k = 0; k < kSteps; ++k) {
    const int s = k % kStages;
    barrierWait(&full[s], (k / kStages) & 1);
    const unsigned char* a = smem + s * Shape::kStageBytes + mathGroup * 64 * 128;
    const unsigned char* b = smem + s * Shape::kStageBytes + Shape::kABytes;
    wgmmaFence();
#pragma unroll
    for (int kk = 0; kk < kBlockK / 16; ++kk)  // 16 bf16 = 32 bytes of each row
      Wgmma<kBlockN>::run(acc, swizzledDescriptor(a + kk * 32), swizzledDescriptor(b + kk * 32));
    wgmmaCommit();
    wgmmaWait<0>();
    if (thread % 32 == 0) barrierArrive(&empty[s]);
  }

  // Accumulator layout (PTX wgmma D fragment): warp w of the group holds rows
  // 16w + lane / 4 and + 8; acc[i] covers columns 16i + 2 (lane % 4) + {0, 1}
  // and + 8.
  const int warp = (thread % 128) / 32, lane = thread % 32;
  const int64_t row = m0 + mathGroup * 64 + warp * 16 + lane / 4;
  typename Epilogue::State state{};
#pragma unroll
  for (int i = 0; i < kBlockN / 16; ++i) {
    const int64_t col = n0 + i * 16 + 2 * (lane % 4);
    const float topLeft[2] = {acc[i][0], acc[i][1]}, bottomLeft[2] = {acc[i][2], acc[i][3]};
    const float topRight[2] = {acc[i][4], acc[i][5]}, bottomRight[2] = {acc[i][6], acc[i][7]};
    epilogue.apply(row, col, topLeft, state);
    epilogue.apply(row + 8, col, bottomLeft, state);
    epilogue.apply(row, col + 8, topRight, state);
    epilogue.apply(row + 8, col + 8, bottomRight, state);
  }
  epilogue.template finish<kMathThreads / 32>(state, thread, [] { mathBarrier<kMathThreads>(); });
#endif
}

// 1 when this module holds sm_90a code for the current device.
static __global__ void probeKernel(int* out) { *out = SIGLIP_HOPPER_DEVICE; }

// The driver's tensor-map encoder, fetched through the runtime so that no
// driver library is linked.
inline PFN_cuTensorMapEncodeTiled_v12000 tensorMapEncoder() {
  static const PFN_cuTensorMapEncodeTiled_v12000 encoder = [] {
    void* fn = nullptr;
    cudaDriverEntryPointQueryResult found{};
    const cudaError_t status = cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn,
                                                                12000, cudaEnableDefault, &found);
    if (status != cudaSuccess || found != cudaDriverEntryPointSuccess || fn == nullptr)
      throw std::runtime_error("the NVIDIA driver has no cuTensorMapEncodeTiled (needs CUDA 12+)");
    return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(fn);
  }();
  return encoder;
}

// A K-major bf16 matrix [outer x inner] (inner contiguous, a multiple of
// kBlockK) read in boxes of kBlockK x boxOuter with the 128-byte swizzle.
inline CUtensorMap tileMap(const __nv_bfloat16* base, int64_t inner, int64_t outer, int boxOuter) {
  CUtensorMap map{};
  const cuuint64_t dims[2] = {static_cast<cuuint64_t>(inner), static_cast<cuuint64_t>(outer)};
  const cuuint64_t strides[1] = {static_cast<cuuint64_t>(inner) * sizeof(__nv_bfloat16)};
  const cuuint32_t box[2] = {kBlockK, static_cast<cuuint32_t>(boxOuter)};
  const cuuint32_t elementStrides[2] = {1, 1};
  const CUresult status = tensorMapEncoder()(
      &map, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 2, const_cast<__nv_bfloat16*>(base), dims, strides,
      box, elementStrides, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
      CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (status != CUDA_SUCCESS)
    throw std::runtime_error("cuTensorMapEncodeTiled failed with CUresult " +
                             std::to_string(static_cast<int>(status)));
  return map;
}

// C = A B^T for A [mTiles * 128 x depth], B [nTiles * kBlockN x depth].
template <int kBlockN, typename Epilogue>
cudaError_t launchGemm(const CUtensorMap& a, const CUtensorMap& b, int64_t mTiles, int64_t nTiles,
                       int64_t depth, const Epilogue& epilogue) {
  constexpr int kBytes = Tiles<kBlockN>::kSmemBytes;
  auto* kernel = gemmKernel<kBlockN, Epilogue>;
  static const cudaError_t configured =
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kBytes);
  if (configured != cudaSuccess) return configured;
  kernel<<<dim3(static_cast<unsigned>(nTiles), static_cast<unsigned>(mTiles)), kThreads, kBytes>>>(
      a, b, static_cast<int>(depth / kBlockK), epilogue);
  return cudaGetLastError();
}

}  // namespace siglip::cuda::hopper
