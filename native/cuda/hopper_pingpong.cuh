// The logit kernel of the wgmma pass: ping-pong (as CUTLASS's kernel of that
// name). One block per multiprocessor walks a list of tiles; each math
// warpgroup owns whole 128 x kBlockN tiles and the two take the block's tiles
// in turns, each with its own staging, so that one's sigmoid epilogue runs
// while the other multiplies (in gemmKernel both warpgroups share a tile and
// the tensor cores wait for its epilogue). Block b takes tiles t = b, b +
// gridDim.x, ... of the mTiles x nTiles grid, tile t at (t / nTiles, t %
// nTiles); warp sums go to slot t * 4 + warp of its warpgroup.
// bench/gpu/pipeline_model.py replays the barrier protocol of this kernel and
// of gemmKernel under random schedules (CI runs it): keep the two in step.
#pragma once

#include <algorithm>

#include "hopper_gemm.cuh"
#include "hopper_tile_store.cuh"

namespace siglip::cuda::hopper {

// The mainloops run one at a time (a turn barrier), which also keeps every
// wait on a ring stage within one phase of the stage's barrier (waiting two
// fills ahead would see the wrong parity). Each mainloop keeps one step's
// products in flight (TileWork::multiplyInFlight): a warpgroup alone on the
// tensor cores has no partner to fill their drain at every step.
template <int kBlockN_, int kStages_, int kStagingCols_>
struct PingPong {
  // TileWork's view: one warpgroup per tile.
  static constexpr int kBlockN = kBlockN_, kStages = kStages_, kFragments = 2;
  static constexpr int kMathThreads = 128;
  static constexpr bool kAMnMajor = false, kBMnMajor = false;
  using A = OperandTile<kBlockM, false>;
  using B = OperandTile<kBlockN, false>;
  static constexpr int kStageBytes = A::kBytes + B::kBytes;

  static constexpr int kThreads = 2 * kMathThreads + 32;
  static constexpr int kStagingCols = kStagingCols_;
  // Per warpgroup: the staging, or a tile of G of negative pairs (hopper_tile_store.cuh).
  static constexpr int kStagingBytes =
      (std::max(kBlockM * (kStagingCols + 8) * 4, SwizzledTile::kBytes) + 1023) / 1024 * 1024;
  static constexpr int kSmemBytes = kStages * kStageBytes + 2 * kStagingBytes + 1024;
  static_assert(kBlockN % kStagingCols == 0 && kStagingCols % 16 == 0, "whole fragments");
  static_assert(kSmemBytes <= 227 * 1024, "fits a multiprocessor");
  static_assert(kStageBytes % 1024 == 0, "swizzle atoms stay aligned");
  static_assert(kStages >= 2, "a stage left to fill while one step's products are in flight");
};

// The copy warp: every k-step of every tile of the block.
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

// A tile of negative pairs only (all but the diagonal and edge tiles of a
// chunk) skips the staging: its accumulators go to the epilogue directly,
// with no labels, masks or barriers, and its G through shared memory and the
// copy engine (hopper_tile_store.cuh). The other tiles go through the staging.
template <typename Cfg, typename Epilogue>
__global__ void __launch_bounds__(Cfg::kThreads, 1)
    pingPongGemmKernel(const __grid_constant__ CUtensorMap aMap,
                       const __grid_constant__ CUtensorMap bMap,
                       const __grid_constant__ CUtensorMap gMap, int kSteps, int mTiles, int nTiles,
                       Epilogue epilogue) {
#if SIGLIP_HOPPER_DEVICE
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
  // warpUniform: so that ptxas keeps what derives from it in uniform registers.
  const int group = warpUniform(warp / kGroupWarps);
  const int groupWarp = warp % kGroupWarps;
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
    for (int k = 0; k < kSteps; ++k) Work::multiplyInFlight(acc, ring, firstStep, k, 0, lane);
    Work::finishInFlight(ring, firstStep, kSteps, lane);
    if (t + blocks < tiles) namedBarrierArrive(3 + (1 - group), kTurnThreads);
    typename Epilogue::State state{};
    const int64_t row0 = int64_t(t / nTiles) * kBlockM, col0 = int64_t(t % nTiles) * Cfg::kBlockN;
    waitTileRead(lane);
    // The same choice in every warp of the warpgroup (its staging barriers).
    if (epilogue.onlyNegativesIn(row0, col0, kBlockM, Cfg::kBlockN)) {
      if (!epilogue.writesGrads()) {
        Work::applyNegatives(acc, row0, col0, epilogue, state, 0, groupWarp, lane);
      } else {
        static_assert(Cfg::kBlockN == SwizzledTile::kCols && Cfg::kStagingBytes % 1024 == 0,
                      "a tile of G fits the staging, aligned to a swizzle atom");
        const uint32_t buffer = sharedAddress(staging);
        Work::template forEachBlock<0, Cfg::kBlockN>(
            acc, 0, groupWarp, [&](int r, int c, const float(&v)[8]) {
              storeMatrices(buffer + SwizzledTile::matrixRowOffset(r, c, lane),
                            epilogue.negativeGradBits({v[0], v[1]}, state),
                            epilogue.negativeGradBits({v[2], v[3]}, state),
                            epilogue.negativeGradBits({v[4], v[5]}, state),
                            epilogue.negativeGradBits({v[6], v[7]}, state));
            });
        storeTileRows(&gMap, buffer, static_cast<int32_t>(row0), static_cast<int32_t>(col0),
                      groupWarp, lane);
      }
    } else {
      Work::template applyInParts<Cfg::kStagingCols, 0>(acc, staging, row0, col0, epilogue, state,
                                                        1 + group, 0, groupWarp, lane);
    }
    epilogue.finish(state, static_cast<int64_t>(t) * kGroupWarps + groupWarp);
  }
  // The copy engine must have read the last tile before the block's shared
  // memory goes.
  waitTileRead(lane);
#endif
}

// Launches the kernel over an (mTiles x 128) x (nTiles x kBlockN) output, K =
// depth: one block per multiprocessor (`processors` of them), or per tile if
// there are fewer.
// g: the map of the epilogue's G in boxes of 64 x 16 (unused by the loss-only
// pass).
template <typename Cfg, typename Epilogue>
cudaError_t launchPingPongGemm(const CUtensorMap& a, const CUtensorMap& b, const CUtensorMap& g,
                               int64_t mTiles, int64_t nTiles, int64_t depth, int processors,
                               const Epilogue& epilogue) {
  auto* kernel = pingPongGemmKernel<Cfg, Epilogue>;
  static const cudaError_t configured =
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, Cfg::kSmemBytes);
  if (configured != cudaSuccess) return configured;
  const int64_t blocks = std::min<int64_t>(mTiles * nTiles, processors);
  kernel<<<static_cast<unsigned>(blocks), Cfg::kThreads, Cfg::kSmemBytes>>>(
      a, b, g, static_cast<int>(depth / kBlockK), static_cast<int>(mTiles),
      static_cast<int>(nTiles), epilogue);
  return cudaGetLastError();
}

}  // namespace siglip::cuda::hopper
