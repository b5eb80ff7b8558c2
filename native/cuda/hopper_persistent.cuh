// Candidate logit kernels (SIGLIP_CUDA_LOGITS, bench/gpu/NOTES.md; not yet run
// on a GPU): one block per multiprocessor walks a list of tiles, so that the
// sigmoid epilogue of one tile no longer leaves the copy engine (persistent)
// or the tensor cores (ping-pong) idle as in gemmKernel, where each tile
// starts with an empty ring and ends with the tensor cores waiting for its
// epilogue. Block b takes tiles t = b, b + gridDim.x, ... of the mTiles x
// nTiles grid, tile t at (t / nTiles, t % nTiles); warp sums go to slot
// t * (warps per tile) + warp, as in gemmKernel. bench/gpu/pipeline_model.py
// replays the barrier protocol of these kernels and of gemmKernel under random
// schedules (CI runs it): keep the two in step.
#pragma once

#include <algorithm>

#include "hopper_gemm.cuh"

namespace siglip::cuda::hopper {

// Persistent: two warpgroups share each tile as in gemmKernel, but the staging
// is a buffer of kStagingCols columns of its own instead of the ring, and the
// copy warp runs through all the block's tiles: it loads the next tile's first
// stages while the math warps run the epilogue.
template <typename Cfg, int kStagingCols_>
struct Persistent {
  using Tile = Cfg;
  static constexpr int kStagingCols = kStagingCols_;
  static constexpr int kStagingBytes = kBlockM * (kStagingCols + 8) * 4;
  static constexpr int kSmemBytes = Cfg::kStages * Cfg::kStageBytes + kStagingBytes + 1024;
  static constexpr int kThreads = Cfg::kThreads;
  static_assert(Cfg::kMathGroups == 2 && Cfg::kBlockN % kStagingCols == 0 && kStagingCols % 16 == 0,
                "two warpgroups per tile; whole fragments per staged part");
  static_assert(kSmemBytes <= 227 * 1024, "fits a multiprocessor");
};

// Ping-pong (as CUTLASS's kernel of that name): each math warpgroup owns
// whole 128 x kBlockN tiles (two 64-row fragments) and the two take the
// block's tiles in turns, each with its own staging: while one multiplies,
// the other runs its epilogue. The mainloops run one at a time (a turn
// barrier), which also keeps every wait on a ring stage within one phase of
// the stage's barrier (waiting two fills ahead would see the wrong parity).
// kInFlight: each mainloop keeps one step's products in flight
// (TileWork::multiplyInFlight): a warpgroup alone on the tensor cores has no
// partner to fill their drain at every step.
template <int kBlockN_, int kStages_, int kStagingCols_, bool kInFlight_ = false>
struct PingPong {
  // TileWork's view: one warpgroup per tile.
  using Tile = PingPong;
  static constexpr int kBlockN = kBlockN_, kStages = kStages_, kFragments = 2;
  static constexpr bool kInFlight = kInFlight_;
  static constexpr int kMathThreads = 128, kCluster = 1;
  static constexpr bool kAMnMajor = false, kBMnMajor = false;
  using A = OperandTile<kBlockM, false>;
  using B = OperandTile<kBlockN, false>;
  static constexpr int kStageBytes = A::kBytes + B::kBytes;

  static constexpr int kThreads = 2 * kMathThreads + 32;
  static constexpr int kStagingCols = kStagingCols_;
  static constexpr int kStagingBytes = kBlockM * (kStagingCols + 8) * 4;  // per warpgroup
  static constexpr int kSmemBytes = kStages * kStageBytes + 2 * kStagingBytes + 1024;
  static_assert(kBlockN % kStagingCols == 0 && kStagingCols % 16 == 0, "whole fragments");
  static_assert(kSmemBytes <= 227 * 1024, "fits a multiprocessor");
  static_assert(kStageBytes % 1024 == 0, "swizzle atoms stay aligned");
};

// The copy warp's part in both: every k-step of every tile of the block.
template <typename Work>
__device__ __forceinline__ void loadBlockTiles(unsigned char* smem, uint64_t* full, uint64_t* empty,
                                               const CUtensorMap* aMap, const CUtensorMap* bMap,
                                               int kSteps, int tiles, int nTiles) {
  int step = 0;
  for (int t = blockIdx.x; t < tiles; t += gridDim.x)
    for (int k = 0; k < kSteps; ++k, ++step)
      Work::load(smem, full, empty, step, aMap, bMap, k, t / nTiles * kBlockM,
                 t % nTiles * Work::kBlockN);
}

template <typename Shape, typename Epilogue>
__global__ void __launch_bounds__(Shape::kThreads, 1)
    persistentGemmKernel(const __grid_constant__ CUtensorMap aMap,
                         const __grid_constant__ CUtensorMap bMap, int kSteps, int mTiles,
                         int nTiles, Epilogue epilogue) {
#if SIGLIP_HOPPER_DEVICE
  using Cfg = typename Shape::Tile;
  using Work = TileWork<Cfg>;
  constexpr int kMathWarps = Work::kMathWarps;
  extern __shared__ unsigned char rawSmem[];
  unsigned char* smem = alignedSmem(rawSmem);
  float* staging = reinterpret_cast<float*>(smem + Cfg::kStages * Cfg::kStageBytes);
  __shared__ alignas(8) uint64_t full[Cfg::kStages], empty[Cfg::kStages];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int tiles = mTiles * nTiles, block = blockIdx.x, blocks = gridDim.x;
  Work::initBarriers(full, empty);

  if (warp == kMathWarps) {
    if (lane == 0) loadBlockTiles<Work>(smem, full, empty, &aMap, &bMap, kSteps, tiles, nTiles);
    return;
  }
  const int group = warp / 4;
  const typename Work::Ring ring = Work::ring(smem, full, empty);
  int step = 0;  // the ring position runs on across tiles, as the copy warp's
  for (int t = block; t < tiles; t += blocks) {
    typename Work::Accumulators acc;
    Work::zero(acc);
    for (int k = 0; k < kSteps; ++k, ++step) Work::multiply(acc, ring, step, group, lane);
    typename Epilogue::State state{};
    Work::template applyInParts<Shape::kStagingCols, 0>(acc, staging, int64_t(t / nTiles) * kBlockM,
                                                        int64_t(t % nTiles) * Cfg::kBlockN,
                                                        epilogue, state, 1, group, warp, lane);
    epilogue.finish(state, static_cast<int64_t>(t) * kMathWarps + warp);
  }
#endif
}

template <typename Shape, typename Epilogue>
__global__ void __launch_bounds__(Shape::kThreads, 1)
    pingPongGemmKernel(const __grid_constant__ CUtensorMap aMap,
                       const __grid_constant__ CUtensorMap bMap, int kSteps, int mTiles, int nTiles,
                       Epilogue epilogue) {
#if SIGLIP_HOPPER_DEVICE
  using Cfg = Shape;
  using Work = TileWork<Cfg>;  // per warpgroup: 4 math warps, empty[s] counts 4 arrivals
  extern __shared__ unsigned char rawSmem[];
  unsigned char* smem = alignedSmem(rawSmem);
  __shared__ alignas(8) uint64_t full[Cfg::kStages], empty[Cfg::kStages];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int tiles = mTiles * nTiles, block = blockIdx.x, blocks = gridDim.x;
  Work::initBarriers(full, empty);

  constexpr int kGroupWarps = Work::kMathWarps;  // the warps of one warpgroup
  if (warp == 2 * kGroupWarps) {                 // the copy warp, after the two warpgroups
    if (lane == 0) loadBlockTiles<Work>(smem, full, empty, &aMap, &bMap, kSteps, tiles, nTiles);
    return;
  }
  // Named barriers: 1 + group for a warpgroup's staging; 3 + group "group may
  // start its next mainloop" (the other warpgroup arrives, this one syncs).
  const int group = warp / kGroupWarps, groupWarp = warp % kGroupWarps;
  float* staging =
      reinterpret_cast<float*>(smem + Cfg::kStages * Cfg::kStageBytes + group * Cfg::kStagingBytes);
  constexpr int kTurnThreads = 2 * Cfg::kMathThreads;
  const typename Work::Ring ring = Work::ring(smem, full, empty);
  for (int i = group; block + i * blocks < tiles; i += 2) {  // the block's i-th tile
    const int t = block + i * blocks;
    if (i > 0) namedBarrierSync(3 + group, kTurnThreads);
    typename Work::Accumulators acc;
    Work::zero(acc);
    const int firstStep = i * kSteps;
    for (int k = 0; k < kSteps; ++k) {
      if constexpr (Cfg::kInFlight)
        Work::multiplyInFlight(acc, ring, firstStep + k, k == 0, 0, lane);
      else
        Work::multiply(acc, ring, firstStep + k, 0, lane);
    }
    if constexpr (Cfg::kInFlight) Work::finishInFlight(ring, firstStep + kSteps - 1, lane);
    if (t + blocks < tiles) namedBarrierArrive(3 + (1 - group), kTurnThreads);
    typename Epilogue::State state{};
    Work::template applyInParts<Cfg::kStagingCols, 0>(acc, staging, int64_t(t / nTiles) * kBlockM,
                                                      int64_t(t % nTiles) * Cfg::kBlockN, epilogue,
                                                      state, 1 + group, 0, groupWarp, lane);
    epilogue.finish(state, static_cast<int64_t>(t) * kGroupWarps + groupWarp);
  }
#endif
}

// Launches `kernel` (one of the above, with its Shape) over an (mTiles x 128)
// x (nTiles x kBlockN) output, K = depth: one block per multiprocessor, or
// per tile if there are fewer.
template <typename Shape, typename Epilogue>
cudaError_t launchOnEveryProcessor(void (*kernel)(CUtensorMap, CUtensorMap, int, int, int,
                                                  Epilogue),
                                   const CUtensorMap& a, const CUtensorMap& b, int64_t mTiles,
                                   int64_t nTiles, int64_t depth, const Epilogue& epilogue) {
  static const cudaError_t configured =
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, Shape::kSmemBytes);
  if (configured != cudaSuccess) return configured;
  int processors = 0;
  if (const cudaError_t status = currentDeviceAttribute(cudaDevAttrMultiProcessorCount, processors);
      status != cudaSuccess)
    return status;
  const int64_t blocks = std::min<int64_t>(mTiles * nTiles, processors);
  kernel<<<static_cast<unsigned>(blocks), Shape::kThreads, Shape::kSmemBytes>>>(
      a, b, static_cast<int>(depth / kBlockK), static_cast<int>(mTiles), static_cast<int>(nTiles),
      epilogue);
  return cudaGetLastError();
}

template <typename Shape, typename Epilogue>
cudaError_t launchPersistentGemm(const CUtensorMap& a, const CUtensorMap& b, int64_t mTiles,
                                 int64_t nTiles, int64_t depth, const Epilogue& epilogue) {
  return launchOnEveryProcessor<Shape>(persistentGemmKernel<Shape, Epilogue>, a, b, mTiles, nTiles,
                                       depth, epilogue);
}

template <typename Shape, typename Epilogue>
cudaError_t launchPingPongGemm(const CUtensorMap& a, const CUtensorMap& b, int64_t mTiles,
                               int64_t nTiles, int64_t depth, const Epilogue& epilogue) {
  return launchOnEveryProcessor<Shape>(pingPongGemmKernel<Shape, Epilogue>, a, b, mTiles, nTiles,
                                       depth, epilogue);
}

}  // namespace siglip::cuda::hopper
