// The Hopper GEMM: C[128 x kBlockN tile] = A B^T, A (M x K) and B (N x K) in
// bf16, each stored K-major or MN-major, read by the tensor copy engine into a
// ring of shared-memory stages and multiplied by wgmma with fp32
// accumulation. One copy warp issues the loads; the math warpgroups own the
// tile's 128 rows, stage their accumulators in the drained ring and hand them to
// the same epilogue functors as the WMMA kernel, 8 consecutive columns per
// call in a rolled loop (unrolled over the fragments, the sigmoid epilogue
// alone was ~190 KB of code per kernel).
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
constexpr int kBlockK = 64;                  // 128 bytes of bf16: one swizzle row
constexpr int kBoxBytes = 64 * kBlockK * 2;  // an MN-major box: 64 K rows of 64 elements

// One operand's 64-deep slice of K in a stage. K-major: one box of kRows rows
// of 128 bytes. MN-major: kRows / 64 boxes of 64 K rows, each row 64 elements
// of M or N, kBoxBytes apart. Either way rows r .. r + 63 start at r * 128.
template <int kRows, bool kMnMajor>
struct OperandTile {
  static constexpr int kBytes = kRows * kBlockK * 2;

  __device__ __forceinline__ static void load(unsigned char* dst, const CUtensorMap* map,
                                              uint64_t* bar, int32_t k0, int32_t row0) {
    if constexpr (kMnMajor) {
#pragma unroll
      for (int i = 0; i < kRows / 64; ++i)
        tensorLoad(dst + i * kBoxBytes, map, bar, row0 + 64 * i, k0);
    } else {
      tensorLoad(dst, map, bar, k0, row0);
    }
  }

  // The descriptor low word (hopper_ptx.cuh) of rows stored from `address`.
  __device__ __forceinline__ static uint32_t descriptorLow(uint32_t address) {
    return hopper::descriptorLow(address, kMnMajor ? kBoxBytes : 16);
  }

  // The 16-deep step kk of the rows whose descriptor low word is `rowsLow`:
  // 16 K rows of 128 bytes further (MN-major) or 16 elements along each row.
  __device__ __forceinline__ static uint64_t descriptor(uint32_t rowsLow, int kk) {
    constexpr uint32_t kStepBytes = kMnMajor ? 16 * 128 : 16 * 2;
    return hopper::descriptor(rowsLow + kk * kStepBytes / 16);
  }
};

// gemmKernel's tiles: two math warpgroups share a 128-row tile, 64 rows each,
// one block per multiprocessor (one warpgroup per tile and two blocks per
// multiprocessor measured slower: bench/gpu/NOTES.md, v8).
template <int kBlockN_, bool kAMnMajor_, bool kBMnMajor_, int kStages_>
struct Config {
  static constexpr int kBlockN = kBlockN_, kStages = kStages_;
  static constexpr bool kAMnMajor = kAMnMajor_, kBMnMajor = kBMnMajor_;
  static constexpr int kFragments = 1;  // 64-row fragments per warpgroup
  static constexpr int kMathThreads = 256;
  static constexpr int kThreads = kMathThreads + 32;  // + the copy warp
  using A = OperandTile<kBlockM, kAMnMajor>;
  using B = OperandTile<kBlockN, kBMnMajor>;
  static constexpr int kStageBytes = A::kBytes + B::kBytes;
  static constexpr int kSmemBytes = kStages * kStageBytes + 1024;  // + alignment slack
  // The epilogue's staging: 128 rows of kBlockN floats, rows 8 banks apart.
  static constexpr int kStagingPitch = kBlockN + 8;
  static_assert(A::kBytes % 1024 == 0 && kStageBytes % 1024 == 0, "swizzle atoms stay aligned");
  static_assert(kSmemBytes <= 227 * 1024, "fits one multiprocessor");
  static_assert(kBlockM * kStagingPitch * 4 <= kStages * kStageBytes, "staging fits the ring");
  static_assert(kBlockN % 8 == 0 && kBlockN / 8 <= 32, "a warp covers a row, 8 columns a lane");
  static_assert(!kBMnMajor || kBlockN % 64 == 0, "whole MN-major boxes");
};

// The dynamic shared memory from its first 1024-byte boundary (the 128-byte
// swizzle's atoms are 1024 bytes).
__device__ inline unsigned char* alignedSmem(unsigned char* raw) {
  return reinterpret_cast<unsigned char*>((reinterpret_cast<uintptr_t>(raw) + 1023) &
                                          ~static_cast<uintptr_t>(1023));
}

// A block's work on one output tile, in the pieces that gemmKernel and the
// ping-pong kernel (hopper_pingpong.cuh) share.
template <typename Cfg>
struct TileWork {
  static constexpr int kStages = Cfg::kStages, kBlockN = Cfg::kBlockN;
  static constexpr int kFragments = Cfg::kFragments, kMathWarps = Cfg::kMathThreads / 32;
  using Accumulators = float[kFragments][kBlockN / 16][8];

  // The copy warp's `step`-th load of the block: k-step k of the tile at (m0,
  // n0) into the next ring stage, once every math warp has released it.
  __device__ __forceinline__ static void load(unsigned char* smem, uint64_t* full, uint64_t* empty,
                                              int step, const CUtensorMap* aMap,
                                              const CUtensorMap* bMap, int k, int32_t m0,
                                              int32_t n0) {
    const int s = step % kStages;
    if (step >= kStages) barrierWait(&empty[s], (step / kStages - 1) & 1);
    unsigned char* stage = smem + s * Cfg::kStageBytes;
    barrierExpectBytes(&full[s], Cfg::kStageBytes);
    Cfg::A::load(stage, aMap, &full[s], k * kBlockK, m0);
    Cfg::B::load(stage + Cfg::A::kBytes, bMap, &full[s], k * kBlockK, n0);
  }

  // full[s]: stage s has landed; empty[s]: every math warp is done with it.
  __device__ __forceinline__ static void initBarriers(uint64_t* full, uint64_t* empty) {
    if (threadIdx.x == 0) {
      for (int s = 0; s < kStages; ++s) {
        barrierInit(&full[s], 1);
        barrierInit(&empty[s], kMathWarps);
      }
      barrierInitFence();
    }
    __syncthreads();
  }

  __device__ __forceinline__ static void zero(Accumulators& acc) {
#pragma unroll
    for (int f = 0; f < kFragments; ++f)
#pragma unroll
      for (int i = 0; i < kBlockN / 16; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[f][i][j] = 0.0f;
  }

  // The ring as the math warps see it, in shared-memory addresses taken once
  // per kernel: taken from generic pointers at every k-step, they cost more
  // instructions than the step's products (bench/gpu/NOTES.md, v11).
  struct Ring {
    uint32_t aLow, bLow;   // descriptor low words of stage 0's A and B tiles
    uint32_t full, empty;  // the barrier arrays
  };
  __device__ __forceinline__ static Ring ring(const unsigned char* smem, uint64_t* full,
                                              uint64_t* empty) {
    const uint32_t stages = sharedAddress(smem);
    return {Cfg::A::descriptorLow(stages), Cfg::B::descriptorLow(stages + Cfg::A::kBytes),
            sharedAddress(full), sharedAddress(empty)};
  }

  // Waits for the block's `step`-th stage and issues its products into acc
  // (the warpgroup's rows) as one wgmma group.
  __device__ __forceinline__ static void issueProducts(Accumulators& acc, const Ring& ring,
                                                       int step, int group) {
    const uint32_t s = static_cast<uint32_t>(step) % kStages;
    barrierWait(ring.full + 8 * s, (static_cast<uint32_t>(step) / kStages) & 1);
    const uint32_t stage = s * (Cfg::kStageBytes / 16);
    const uint32_t a = ring.aLow + stage + group * kFragments * 64 * 128 / 16;
    const uint32_t b = ring.bLow + stage;
    wgmmaFence();
#pragma unroll
    for (int kk = 0; kk < kBlockK / 16; ++kk)
#pragma unroll
      for (int f = 0; f < kFragments; ++f)
        Wgmma<kBlockN>::template run<Cfg::kAMnMajor, Cfg::kBMnMajor>(
            acc[f], Cfg::A::descriptor(a + f * 64 * 128 / 16, kk), Cfg::B::descriptor(b, kk));
    wgmmaCommit();
  }

  // This warp is done reading the `step`-th stage.
  __device__ __forceinline__ static void release(const Ring& ring, int step, int lane) {
    if (lane == 0) barrierArrive(ring.empty + 8 * (static_cast<uint32_t>(step) % kStages));
  }

  // A math warp's share of the block's `step`-th stage: wait for it, multiply
  // it into acc, release it. The tensor cores drain at every step; with two
  // warpgroups taking turns on them (gemmKernel) the other fills the gap
  // (keeping a group in flight measured no faster: NOTES.md, v9).
  __device__ __forceinline__ static void multiply(Accumulators& acc, const Ring& ring, int step,
                                                  int group, int lane) {
    issueProducts(acc, ring, step, group);
    wgmmaWait<0>();
    release(ring, step, lane);
  }

  // The same for a warpgroup alone on the tensor cores (ping-pong): this
  // step's products stay in flight and the previous step's stage is released
  // once its products are done, so the tensor cores do not drain between
  // steps (two steps in flight measured slower: NOTES.md, v14). Step k of a
  // mainloop whose first step is the block's `first`-th; after the last,
  // finishInFlight.
  __device__ __forceinline__ static void multiplyInFlight(Accumulators& acc, const Ring& ring,
                                                          int first, int k, int group, int lane) {
    issueProducts(acc, ring, first + k, group);
    wgmmaWait<1>();
    if (k > 0) release(ring, first + k - 1, lane);
  }
  __device__ __forceinline__ static void finishInFlight(const Ring& ring, int first, int steps,
                                                        int lane) {
    wgmmaWait<0>();
    if (steps > 0) release(ring, first + steps - 1, lane);  // the last step
  }

  // forEachBlock, forEachPair, stage, applyRows and applyNegatives are host
  // code too: native/tests/cuda_layout_test.cu checks on the CPU that they
  // deliver every output exactly once.

  // visit(row0, col0, v) for each 16 x 16 block of the tile whose columns
  // kCol0 .. kCol0 + kCols - 1 acc holds, (row0, col0) its origin in the tile,
  // v this thread's 8 values of it in wgmma's D fragment layout: warp w of a
  // group holds rows 16w + lane / 4 and + 8 of a fragment, acc[i] columns 16i
  // + 2 (lane % 4) + {0, 1} and + 8. So v[0], v[1]: row0 + lane / 4, col0 +
  // 2 (lane % 4) and + 1; v[2], v[3]: 8 rows further; v[4] .. v[7]: the same
  // 8 columns further (the four 8 x 8 matrices in mma fragment layout).
#pragma nv_exec_check_disable  // the host test's visitor is host code
  template <int kCol0, int kCols, typename Visit>
  __host__ __device__ __forceinline__ static void forEachBlock(const Accumulators& acc, int group,
                                                               int warp, Visit&& visit) {
#pragma unroll
    for (int f = 0; f < kFragments; ++f)
#pragma unroll
      for (int i = kCol0 / 16; i < (kCol0 + kCols) / 16; ++i)
        visit((group * kFragments + f) * 64 + warp % 4 * 16, i * 16, acc[f][i]);
  }

  // visit(row, col, v0, v1) for the outputs (row, col) and (row, col + 1).
#pragma nv_exec_check_disable  // the host test's visitor is host code
  template <int kCol0, int kCols, typename Visit>
  __host__ __device__ __forceinline__ static void forEachPair(const Accumulators& acc, int group,
                                                              int warp, int lane, Visit&& visit) {
    forEachBlock<kCol0, kCols>(acc, group, warp, [&](int row0, int col0, const float(&v)[8]) {
      const int row = row0 + lane / 4, col = col0 + 2 * (lane % 4);
      visit(row, col, v[0], v[1]);
      visit(row + 8, col, v[2], v[3]);
      visit(row, col + 8, v[4], v[5]);
      visit(row + 8, col + 8, v[6], v[7]);
    });
  }

  // Columns kCol0 .. kCol0 + kCols - 1 of the accumulators into `staging`
  // (rows kPitch floats apart).
  template <int kCol0, int kCols, int kPitch>
  __host__ __device__ __forceinline__ static void stage(const Accumulators& acc, float* staging,
                                                        int group, int warp, int lane) {
    forEachPair<kCol0, kCols>(acc, group, warp, lane, [&](int row, int col, float v0, float v1) {
      *reinterpret_cast<float2*>(staging + row * kPitch + col - kCol0) = make_float2(v0, v1);
    });
  }

  // The warp's outputs straight from its accumulators to the epilogue, two
  // per call, for a tile of negative pairs only in the loss-only pass
  // (Epilogue::applyNegatives): no staging, no barriers, every output's work
  // independent of the others'. (row0, col0): the tile's origin in the output.
#pragma nv_exec_check_disable  // the host test's epilogue is host code
  template <typename Epilogue>
  __host__ __device__ __forceinline__ static void applyNegatives(const Accumulators& acc,
                                                                 int64_t row0, int64_t col0,
                                                                 const Epilogue& epilogue,
                                                                 typename Epilogue::State& state,
                                                                 int group, int warp, int lane) {
    forEachPair<0, kBlockN>(acc, group, warp, lane, [&](int row, int col, float v0, float v1) {
      const float values[2] = {v0, v1};
      epilogue.applyNegatives(row0 + row, col0 + col, values, state);
    });
  }

  // visit(r, c) for this lane's share of a staged 128 x kCols tile: 8
  // consecutive columns from c of row r, kCols / 8 lanes per row (coalesced G
  // stores and dX/dY updates), in a rolled loop; with kBatch > 1, visit(rows,
  // c) with kBatch of the lane's rows at a time.
#pragma nv_exec_check_disable  // the host test's visitor is host code
  template <int kCols, int kBatch = 1, typename Visit>
  __host__ __device__ __forceinline__ static void forEachStagedRow(int warp, int lane,
                                                                   Visit&& visit) {
    constexpr int kLanesPerRow = kCols / 8, kRowsPerPass = 32 / kLanesPerRow;
    constexpr int kStep = kMathWarps * kRowsPerPass;  // between a lane's rows
    static_assert(kCols % 8 == 0 && kLanesPerRow <= 32, "a row fits a warp");
    static_assert(kBlockM % (kStep * kBatch) == 0, "whole batches of a lane's rows");
    if (lane >= kRowsPerPass * kLanesPerRow) return;
    // (With a row per pass, lane < kLanesPerRow: no division.)
    const int rowInPass = kRowsPerPass == 1 ? 0 : lane / kLanesPerRow;
    const int c = (kRowsPerPass == 1 ? lane : lane % kLanesPerRow) * 8;
#pragma unroll 1
    for (int r = warp * kRowsPerPass + rowInPass; r < kBlockM; r += kStep * kBatch) {
      if constexpr (kBatch == 1) {
        visit(r, c);
      } else {
        int rows[kBatch];
#pragma unroll
        for (int b = 0; b < kBatch; ++b) rows[b] = r + b * kStep;
        visit(rows, c);
      }
    }
  }

  // 8 staged values from `at` (16-byte aligned).
  __host__ __device__ __forceinline__ static void loadStaged(const float* at, float (&values)[8]) {
    const float4 low = reinterpret_cast<const float4*>(at)[0];
    const float4 high = reinterpret_cast<const float4*>(at)[1];
    values[0] = low.x, values[1] = low.y, values[2] = low.z, values[3] = low.w;
    values[4] = high.x, values[5] = high.y, values[6] = high.z, values[7] = high.w;
  }

  // The staged 128 x kCols outputs to the epilogue (forEachStagedRow): a row
  // per call (Epilogue::apply), or kBatch rows (Epilogue::applyBatch: dX/dY
  // updates, so that their reads of the rows are in flight together).
  // (row0, col0): the staging's origin in the output.
#pragma nv_exec_check_disable  // the host test's epilogue is host code
  template <int kCols, int kPitch, int kBatch = 1, typename Epilogue>
  __host__ __device__ __forceinline__ static void applyRows(const float* staging, int64_t row0,
                                                            int64_t col0, const Epilogue& epilogue,
                                                            typename Epilogue::State& state,
                                                            int warp, int lane) {
    if constexpr (kBatch == 1) {
      forEachStagedRow<kCols>(warp, lane, [&](int r, int c) {
        float values[8];
        loadStaged(staging + r * kPitch + c, values);
        epilogue.apply(row0 + r, col0 + c, values, state);
      });
    } else {
      forEachStagedRow<kCols, kBatch>(warp, lane, [&](const int(&r)[kBatch], int c) {
        float values[kBatch][8];
        int64_t rows[kBatch];
#pragma unroll
        for (int b = 0; b < kBatch; ++b) {
          loadStaged(staging + r[b] * kPitch + c, values[b]);
          rows[b] = row0 + r[b];
        }
        epilogue.applyBatch(rows, col0 + c, values, state);
      });
    }
  }

  // The tile's outputs to the epilogue through a staging buffer of kCols
  // columns, one part after another, from column kCol0 on; `barrier`: a named
  // barrier for the Cfg::kMathThreads threads that share the staging.
  template <int kCols, int kCol0, typename Epilogue>
  __device__ __forceinline__ static void applyInParts(const Accumulators& acc, float* staging,
                                                      int64_t row0, int64_t col0,
                                                      const Epilogue& epilogue,
                                                      typename Epilogue::State& state, int barrier,
                                                      int group, int warp, int lane) {
    constexpr int kPitch = kCols + 8;              // rows 8 banks apart
    namedBarrierSync(barrier, Cfg::kMathThreads);  // every warp is done reading the staging
    stage<kCol0, kCols, kPitch>(acc, staging, group, warp, lane);
    namedBarrierSync(barrier, Cfg::kMathThreads);
    applyRows<kCols, kPitch>(staging, row0, col0 + kCol0, epilogue, state, warp, lane);
    if constexpr (kCol0 + kCols < kBlockN)
      applyInParts<kCols, kCol0 + kCols>(acc, staging, row0, col0, epilogue, state, barrier, group,
                                         warp, lane);
  }
};

// depth = kSteps * kBlockK; grid = (N / kBlockN, M / kBlockM). For dX and
// dY, whose rows the epilogue reads, adds to and writes back while the tensor
// cores idle, the reads are hidden two ways (bench/gpu/NOTES.md, v14): the
// rows are brought into L2 kPrefetchSteps k-steps before the mainloop ends
// (Epilogue::prefetch), and the epilogue takes them kUpdateBatch at a time
// (Epilogue::applyBatch), so that their reads are in flight together.
constexpr int kPrefetchSteps = 8, kUpdateBatch = 4;
template <typename Cfg, typename Epilogue>
__global__ void __launch_bounds__(Cfg::kThreads, 1)
    gemmKernel(const __grid_constant__ CUtensorMap aMap, const __grid_constant__ CUtensorMap bMap,
               int kSteps, Epilogue epilogue) {
#if SIGLIP_HOPPER_DEVICE
  using Work = TileWork<Cfg>;
  constexpr int kStages = Cfg::kStages, kMathWarps = Work::kMathWarps;
  extern __shared__ unsigned char rawSmem[];
  unsigned char* smem = alignedSmem(rawSmem);
  __shared__ alignas(8) uint64_t full[kStages], empty[kStages];
  const int32_t m0 = static_cast<int32_t>(blockIdx.y) * kBlockM;
  const int32_t n0 = static_cast<int32_t>(blockIdx.x) * Cfg::kBlockN;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  Work::initBarriers(full, empty);

  if (warp == kMathWarps) {  // the copy warp, after the math warpgroups
    if (lane == 0)
      for (int k = 0; k < kSteps; ++k) Work::load(smem, full, empty, k, &aMap, &bMap, k, m0, n0);
    return;
  }

  // Its rows: group * kFragments * 64 .. + kFragments * 64 - 1. warpUniform:
  // so that ptxas keeps the descriptors derived from it in uniform registers.
  const int group = warpUniform(warp / 4);
  const typename Work::Ring ring = Work::ring(smem, full, empty);
  typename Work::Accumulators acc;
  Work::zero(acc);
  const int prefetchAt = kSteps > kPrefetchSteps ? kSteps - kPrefetchSteps : 0;
  for (int k = 0; k < kSteps; ++k) {
    if (k == prefetchAt)
      Work::template forEachStagedRow<Cfg::kBlockN>(
          warp, lane, [&](int r, int c) { epilogue.prefetch(m0 + r, n0 + c); });
    Work::multiply(acc, ring, k, group, lane);
  }

  // Stage the accumulators in the ring, drained once every math warp is done
  // with it, then hand them to the epilogue.
  namedBarrier<1, Cfg::kMathThreads>();
  fenceAsyncShared();
  constexpr int kPitch = Cfg::kStagingPitch;
  float* staging = reinterpret_cast<float*>(smem);
  Work::template stage<0, Cfg::kBlockN, kPitch>(acc, staging, group, warp, lane);
  namedBarrier<1, Cfg::kMathThreads>();
  typename Epilogue::State state{};
  Work::template applyRows<Cfg::kBlockN, kPitch, kUpdateBatch>(staging, m0, n0, epilogue, state,
                                                               warp, lane);
  epilogue.finish(state,
                  (static_cast<int64_t>(blockIdx.y) * gridDim.x + blockIdx.x) * kMathWarps + warp);
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

// An attribute of the current device (its multiprocessor count, its compute
// capability).
inline cudaError_t currentDeviceAttribute(cudaDeviceAttr attribute, int& value) {
  int device = 0;
  cudaError_t status = cudaGetDevice(&device);
  if (status == cudaSuccess) status = cudaDeviceGetAttribute(&value, attribute, device);
  return status;
}

// Whether tiles `wide` columns wide take no longer than `narrow` ones for an
// output of mTiles row tiles by `columns`, run in waves of one tile per
// multiprocessor, each wave as long as its tiles are wide: wider tiles move
// less data per flop, but fewer of them can leave a wave half empty. 768
// columns on 132 multiprocessors: 128 row tiles take 4 waves of 192 or 3 of
// 256 (yes); 64 row tiles take 2 waves either way (no).
inline bool widerTilesFillAsWell(int64_t mTiles, int64_t columns, int narrow, int wide,
                                 int processors) {
  auto waveTime = [&](int64_t width) {
    const int64_t tiles = mTiles * ((columns + width - 1) / width);
    return (tiles + processors - 1) / processors * width;
  };
  return waveTime(wide) <= waveTime(narrow);
}

// C = A B^T over an (mTiles x 128) x (nTiles x kBlockN) output, K = depth.
template <typename Cfg, typename Epilogue>
cudaError_t launchGemm(const CUtensorMap& a, const CUtensorMap& b, int64_t mTiles, int64_t nTiles,
                       int64_t depth, const Epilogue& epilogue) {
  auto* kernel = gemmKernel<Cfg, Epilogue>;
  static const cudaError_t configured =
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, Cfg::kSmemBytes);
  if (configured != cudaSuccess) return configured;
  kernel<<<dim3(static_cast<unsigned>(nTiles), static_cast<unsigned>(mTiles)), Cfg::kThreads,
           Cfg::kSmemBytes>>>(a, b, static_cast<int>(depth / kBlockK), epilogue);
  return cudaGetLastError();
}

}  // namespace siglip::cuda::hopper
