// The Hopper GEMM: C[128 x kBlockN tile] = A B^T, A (M x K) and B (N x K) in
// bf16, each stored K-major or MN-major, read by the tensor copy engine into a
// ring of shared-memory stages and multiplied by wgmma with fp32
// accumulation. One copy warpgroup issues the loads; two math warpgroups own
// 64 rows each and hand their outputs to the same epilogue functors as the
// WMMA kernel, two consecutive columns per call.
#pragma once

#include <cuda.h>
#include <cudaTypedefs.h>  // PFN_cuTensorMapEncodeTiled
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "hopper_ptx.cuh"
#include "wgmma_ops.cuh"

namespace siglip::cuda::hopper {

constexpr int kBlockM = 128;
constexpr int kBlockK = 64;  // 128 bytes of bf16: one swizzle row
constexpr int kMathThreads = 256;
constexpr int kThreads = 128 + kMathThreads;
constexpr int kBoxBytes = 64 * kBlockK * 2;  // an MN-major box: 64 K rows of 64 elements

// One operand's 64-deep slice of K in a stage. K-major: one box of kRows rows
// of 128 bytes. MN-major: kRows / 64 boxes of 64 K rows, each row 64 elements
// of M or N, kBoxBytes apart. Either way rows r .. r + 63 start at r * 128.
template <int kRows, bool kMnMajor>
struct OperandTile {
  static constexpr int kBytes = kRows * kBlockK * 2;

  __device__ static void load(unsigned char* dst, const CUtensorMap* map, uint64_t* bar, int32_t k0,
                              int32_t row0) {
    if constexpr (kMnMajor) {
#pragma unroll
      for (int i = 0; i < kRows / 64; ++i)
        tensorLoad(dst + i * kBoxBytes, map, bar, row0 + 64 * i, k0);
    } else {
      tensorLoad(dst, map, bar, k0, row0);
    }
  }

  // The 16-deep step kk of the rows starting at `tile`.
  __device__ static uint64_t descriptor(const unsigned char* tile, int kk) {
    if constexpr (kMnMajor)
      return swizzledDescriptor(tile + kk * 16 * 128, kBoxBytes);  // 16 K rows of 128 bytes
    else
      return swizzledDescriptor(tile + kk * 16 * 2, 16);  // 16 elements along each row
  }
};

// Hands one warpgroup's 64 x (16 kFragments) accumulators to the epilogue. PTX wgmma
// D fragment: warp w holds rows 16w + lane / 4 and + 8 (`row` is the first);
// acc[i] covers columns 16i + 2 (lane % 4) + {0, 1} and + 8 (`col` is the
// first at i = 0).
template <int kFragments, typename Epilogue>
__device__ inline void deliver(const float (&acc)[kFragments][8], int64_t row, int64_t col,
                               const Epilogue& epilogue, typename Epilogue::State& state) {
#pragma unroll
  for (int i = 0; i < kFragments; ++i) {
    const float topLeft[2] = {acc[i][0], acc[i][1]}, bottomLeft[2] = {acc[i][2], acc[i][3]};
    const float topRight[2] = {acc[i][4], acc[i][5]}, bottomRight[2] = {acc[i][6], acc[i][7]};
    epilogue.apply(row, col + i * 16, topLeft, state);
    epilogue.apply(row + 8, col + i * 16, bottomLeft, state);
    epilogue.apply(row, col + i * 16 + 8, topRight, state);
    epilogue.apply(row + 8, col + i * 16 + 8, bottomRight, state);
  }
}

// kBlocksPerSM = 2 halves the stages and registers so that one block's
// epilogue overlaps the other's products.
template <int kBlockN_, bool kAMnMajor_, bool kBMnMajor_, int kStages_, int kBlocksPerSM_>
struct Config {
  static constexpr int kBlockN = kBlockN_, kStages = kStages_, kBlocksPerSM = kBlocksPerSM_;
  static constexpr bool kAMnMajor = kAMnMajor_, kBMnMajor = kBMnMajor_;
  using A = OperandTile<kBlockM, kAMnMajor>;
  using B = OperandTile<kBlockN, kBMnMajor>;
  static constexpr int kStageBytes = A::kBytes + B::kBytes;
  static constexpr int kSmemBytes = kStages * kStageBytes + 1024;  // + alignment slack
  // Registers per thread at launch, then moved from the copy to the math warpgroups.
  static constexpr int kLaunchRegisters = 65536 / (kThreads * kBlocksPerSM) / 8 * 8;
  static constexpr int kCopyRegisters = kBlocksPerSM == 1 ? 40 : 24;
  static constexpr int kMathRegisters =
      (kLaunchRegisters * kThreads - kCopyRegisters * 128) / kMathThreads / 8 * 8;
  static_assert(A::kBytes % 1024 == 0 && kStageBytes % 1024 == 0, "swizzle atoms stay aligned");
  static_assert(kSmemBytes * kBlocksPerSM <= 228 * 1024, "fits one multiprocessor");
  static_assert(!kBMnMajor || kBlockN % 64 == 0, "whole MN-major boxes");
};

// depth = kSteps * kBlockK; grid = (N / kBlockN, M / kBlockM).
template <typename Cfg, typename Epilogue>
__global__ void __launch_bounds__(kThreads, Cfg::kBlocksPerSM)
    gemmKernel(const __grid_constant__ CUtensorMap aMap, const __grid_constant__ CUtensorMap bMap,
               int kSteps, Epilogue epilogue) {
#if SIGLIP_HOPPER_DEVICE
  constexpr int kStages = Cfg::kStages, kBlockN = Cfg::kBlockN;
  extern __shared__ unsigned char rawSmem[];
  unsigned char* smem = reinterpret_cast<unsigned char*>(
      (reinterpret_cast<uintptr_t>(rawSmem) + 1023) & ~static_cast<uintptr_t>(1023));
  // full[s]: stage s has landed; empty[s]: every math warp is done with it.
  __shared__ alignas(8) uint64_t full[kStages], empty[kStages];
  const int32_t m0 = static_cast<int32_t>(blockIdx.y) * kBlockM;
  const int32_t n0 = static_cast<int32_t>(blockIdx.x) * kBlockN;

  if (threadIdx.x == 0) {
    for (int s = 0; s < kStages; ++s) {
      barrierInit(&full[s], 1);
      barrierInit(&empty[s], kMathThreads / 32);
    }
    barrierInitFence();
  }
  __syncthreads();

  if (threadIdx.x < 128) {  // the copy warpgroup
    releaseRegisters<Cfg::kCopyRegisters>();
    if (threadIdx.x == 0) {
      for (int k = 0; k < kSteps; ++k) {
        const int s = k % kStages;
        if (k >= kStages) barrierWait(&empty[s], (k / kStages - 1) & 1);
        unsigned char* stage = smem + s * Cfg::kStageBytes;
        barrierExpectBytes(&full[s], Cfg::kStageBytes);
        Cfg::A::load(stage, &aMap, &full[s], k * kBlockK, m0);
        Cfg::B::load(stage + Cfg::A::kBytes, &bMap, &full[s], k * kBlockK, n0);
      }
    }
    return;
  }

  claimRegisters<Cfg::kMathRegisters>();
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
    const unsigned char* a = smem + s * Cfg::kStageBytes + mathGroup * 64 * 128;
    const unsigned char* b = smem + s * Cfg::kStageBytes + Cfg::A::kBytes;
    wgmmaFence();
#pragma unroll
    for (int kk = 0; kk < kBlockK / 16; ++kk)
      Wgmma<kBlockN>::template run<Cfg::kAMnMajor, Cfg::kBMnMajor>(acc, Cfg::A::descriptor(a, kk),
                                                                   Cfg::B::descriptor(b, kk));
    wgmmaCommit();
    wgmmaWait<0>();
    if (thread % 32 == 0) barrierArrive(&empty[s]);
  }

  const int64_t row = m0 + mathGroup * 64 + (thread % 128) / 32 * 16 + thread % 32 / 4;
  typename Epilogue::State state{};
  deliver(acc, row, n0 + 2 * (thread % 4), epilogue, state);
  epilogue.finish(
      state, (static_cast<int64_t>(blockIdx.y) * gridDim.x + blockIdx.x) * (kMathThreads / 32) +
                 thread / 32);
#endif
}

// The persistent "ping-pong" GEMM for short K (the logits): one block per
// multiprocessor walks the tiles blockIdx.x, + gridDim.x, ...; the two math
// warpgroups take turns, each owning a whole 128 x kBlockN tile, so one
// warpgroup's epilogue runs while the other's products do. A warpgroup starts
// its products only when the other has finished its own: the stage ring is
// filled in tile order, and without the turns a warpgroup waiting for a stage
// two fills ahead would see the parity of the current fill and read it.
template <typename Cfg, typename Epilogue>
__global__ void __launch_bounds__(kThreads, 1)
    pingPongKernel(const __grid_constant__ CUtensorMap aMap,
                   const __grid_constant__ CUtensorMap bMap, int kSteps, int colTiles, int tiles,
                   Epilogue epilogue) {
#if SIGLIP_HOPPER_DEVICE
  static_assert(Cfg::kBlocksPerSM == 1, "one persistent block per multiprocessor");
  constexpr int kStages = Cfg::kStages, kBlockN = Cfg::kBlockN;
  extern __shared__ unsigned char rawSmem[];
  unsigned char* smem = reinterpret_cast<unsigned char*>(
      (reinterpret_cast<uintptr_t>(rawSmem) + 1023) & ~static_cast<uintptr_t>(1023));
  __shared__ alignas(8) uint64_t full[kStages], empty[kStages];
  __shared__ alignas(8) uint64_t yourTurn[2];  // [g]: the other group's products are done

  if (threadIdx.x == 0) {
    for (int s = 0; s < kStages; ++s) {
      barrierInit(&full[s], 1);
      barrierInit(&empty[s], 4);  // the 4 warps of the warpgroup whose turn it is
    }
    barrierInit(&yourTurn[0], 4);
    barrierInit(&yourTurn[1], 4);
    barrierInitFence();
  }
  __syncthreads();

  if (threadIdx.x < 128) {  // the copy warpgroup
    releaseRegisters<Cfg::kCopyRegisters>();
    if (threadIdx.x == 0) {
      int step = 0;
      for (int t = blockIdx.x; t < tiles; t += gridDim.x) {
        const int32_t m0 = t / colTiles * kBlockM, n0 = t % colTiles * kBlockN;
        for (int k = 0; k < kSteps; ++k, ++step) {
          const int s = step % kStages;
          if (step >= kStages) barrierWait(&empty[s], (step / kStages - 1) & 1);
          unsigned char* stage = smem + s * Cfg::kStageBytes;
          barrierExpectBytes(&full[s], Cfg::kStageBytes);
          Cfg::A::load(stage, &aMap, &full[s], k * kBlockK, m0);
          Cfg::B::load(stage + Cfg::A::kBytes, &bMap, &full[s], k * kBlockK, n0);
        }
      }
    }
    return;
  }

  claimRegisters<Cfg::kMathRegisters>();
  const int group = (threadIdx.x - 128) / 128, thread = threadIdx.x % 128;
  int step = 0, turn = 0, turnsWaited = 0;
  for (int t = blockIdx.x; t < tiles; t += gridDim.x, ++turn) {
    if (turn % 2 != group) {  // the other warpgroup's tile
      step += kSteps;
      continue;
    }
    if (turn > 0) barrierWait(&yourTurn[group], turnsWaited++ & 1);
    const int32_t m0 = t / colTiles * kBlockM, n0 = t % colTiles * kBlockN;
    float acc[2][kBlockN / 16][8];  // rows 0..63 and 64..127 of the tile
#pragma unroll
    for (int f = 0; f < 2; ++f)
#pragma unroll
      for (int i = 0; i < kBlockN / 16; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[f][i][j] = 0.0f;
    for (int k = 0; k < kSteps; ++k, ++step) {
      const int s = step % kStages;
      barrierWait(&full[s], (step / kStages) & 1);
      const unsigned char* a = smem + s * Cfg::kStageBytes;
      const unsigned char* b = a + Cfg::A::kBytes;
      wgmmaFence();
#pragma unroll
      for (int kk = 0; kk < kBlockK / 16; ++kk)
#pragma unroll
        for (int f = 0; f < 2; ++f)
          Wgmma<kBlockN>::template run<Cfg::kAMnMajor, Cfg::kBMnMajor>(
              acc[f], Cfg::A::descriptor(a + f * 64 * 128, kk), Cfg::B::descriptor(b, kk));
      wgmmaCommit();
      wgmmaWait<0>();
      if (thread % 32 == 0) barrierArrive(&empty[s]);
    }
    if (thread % 32 == 0) barrierArrive(&yourTurn[1 - group]);
    const int64_t row = m0 + thread / 32 * 16 + thread % 32 / 4;
    typename Epilogue::State state{};
    deliver(acc[0], row, n0 + 2 * (thread % 4), epilogue, state);
    deliver(acc[1], row + 64, n0 + 2 * (thread % 4), epilogue, state);
    epilogue.finish(state, static_cast<int64_t>(t) * 4 + thread / 32);
  }
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

// A bf16 matrix [outer x inner] (inner contiguous, a multiple of 64) read in
// boxes of 64 inner elements x boxOuter with the 128-byte swizzle; boxes past
// the edge are filled with zeros.
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

// C = A B^T over an (mTiles x 128) x (nTiles x kBlockN) output, K = depth.
template <typename Cfg, typename Epilogue>
cudaError_t launchGemm(const CUtensorMap& a, const CUtensorMap& b, int64_t mTiles, int64_t nTiles,
                       int64_t depth, const Epilogue& epilogue) {
  auto* kernel = gemmKernel<Cfg, Epilogue>;
  static const cudaError_t configured =
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, Cfg::kSmemBytes);
  if (configured != cudaSuccess) return configured;
  kernel<<<dim3(static_cast<unsigned>(nTiles), static_cast<unsigned>(mTiles)), kThreads,
           Cfg::kSmemBytes>>>(a, b, static_cast<int>(depth / kBlockK), epilogue);
  return cudaGetLastError();
}

// The same product through pingPongKernel on at most `blocks` persistent blocks.
template <typename Cfg, typename Epilogue>
cudaError_t launchPingPong(const CUtensorMap& a, const CUtensorMap& b, int64_t mTiles,
                           int64_t nTiles, int64_t depth, int blocks, const Epilogue& epilogue) {
  auto* kernel = pingPongKernel<Cfg, Epilogue>;
  static const cudaError_t configured =
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, Cfg::kSmemBytes);
  if (configured != cudaSuccess) return configured;
  const int64_t tiles = mTiles * nTiles;
  kernel<<<static_cast<unsigned>(std::min<int64_t>(tiles, blocks)), kThreads, Cfg::kSmemBytes>>>(
      a, b, static_cast<int>(depth / kBlockK), static_cast<int>(nTiles), static_cast<int>(tiles),
      epilogue);
  return cudaGetLastError();
}

}  // namespace siglip::cuda::hopper
