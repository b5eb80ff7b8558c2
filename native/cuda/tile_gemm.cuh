// A tensor-core GEMM over 128 x 128 output tiles (WMMA, bf16 or tf32 operands,
// fp32 accumulation) whose result is handed to an epilogue functor, 8
// consecutive columns per call. Operands are our own padded copies: every
// extent is a multiple of the tile, rows are 16-byte aligned, so loads need no
// bounds checks; the epilogue checks the valid extents.
#pragma once

#include <cuda_bf16.h>
#include <mma.h>

#include <cstdint>
#include <type_traits>

namespace siglip::cuda {

namespace wmma = nvcuda::wmma;

constexpr int kTileM = 128;
constexpr int kTileN = 128;
constexpr int kThreads = 256;  // 8 warps as 2 (M) x 4 (N), 64 x 32 outputs each
constexpr int kWarpTileM = 64;
constexpr int kWarpTileN = 32;
constexpr int kFragsM = kWarpTileM / 16;
constexpr int kFragsN = kWarpTileN / 16;

template <typename T>
struct Operand;
template <>
struct Operand<__nv_bfloat16> {
  using Fragment = __nv_bfloat16;
  static constexpr int kMmaK = 16;
};
template <>
struct Operand<float> {  // fp32 storage holding tf32-rounded values
  using Fragment = wmma::precision::tf32;
  static constexpr int kMmaK = 8;
};

template <typename T>
constexpr int kVector = 16 / sizeof(T);  // elements per 16-byte copy
template <typename T>
constexpr int kTileK = 128 / sizeof(T);  // 128 bytes of K per stage
constexpr int kStages = 3;               // cp.async pipeline depth

// A stage of one operand in shared memory, in the operand's global layout:
// `outer` strided lines of `inner` contiguous elements, padded by one vector.
template <typename T, int kOuter, int kInner>
struct StageTile {
  static constexpr int kPitch = kInner + kVector<T>;
  static constexpr int kElements = kOuter * kPitch;

  // Copies the tile whose first line starts at `src` (lines `ld` apart).
  __device__ static void load(T* dst, const T* src, int64_t ld) {
    constexpr int kChunksPerLine = kInner / kVector<T>;
    for (int c = threadIdx.x; c < kOuter * kChunksPerLine; c += kThreads) {
      const int line = c / kChunksPerLine;
      const int offset = (c % kChunksPerLine) * kVector<T>;
      const unsigned smem =
          static_cast<unsigned>(__cvta_generic_to_shared(dst + line * kPitch + offset));
      asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(smem),
                   "l"(src + line * ld + offset)
                   : "memory");
    }
  }
};

// Operand A is M x K, B is K x N; "row-major" means contiguous along the
// second index. The layouts pick how tiles are read and which WMMA layout
// interprets them.
template <typename T, bool kARowMajor, bool kBRowMajor>
struct GemmShape {
  static constexpr int kK = kTileK<T>;
  using ATile = std::conditional_t<kARowMajor, StageTile<T, kTileM, kK>, StageTile<T, kK, kTileM>>;
  using BTile = std::conditional_t<kBRowMajor, StageTile<T, kK, kTileN>, StageTile<T, kTileN, kK>>;
  using ALayout = std::conditional_t<kARowMajor, wmma::row_major, wmma::col_major>;
  using BLayout = std::conditional_t<kBRowMajor, wmma::row_major, wmma::col_major>;
  static constexpr int kSmemBytes = kStages * (ATile::kElements + BTile::kElements) * sizeof(T);
  static_assert(kSmemBytes <= 113 * 1024, "two blocks per multiprocessor");
  static_assert(kSmemBytes >= 8 * 256 * sizeof(float), "epilogue staging reuses the stages");

  // Global start of the K-slice k0 of the output tile (m0, n0).
  __device__ static const T* aTile(const T* a, int64_t lda, int64_t m0, int64_t k0) {
    return kARowMajor ? a + m0 * lda + k0 : a + k0 * lda + m0;
  }
  __device__ static const T* bTile(const T* b, int64_t ldb, int64_t n0, int64_t k0) {
    return kBRowMajor ? b + k0 * ldb + n0 : b + n0 * ldb + k0;
  }
  // Shared-memory start of fragment (row or column r, k offset kk).
  __device__ static const T* aFragment(const T* tile, int m, int kk) {
    return kARowMajor ? tile + m * ATile::kPitch + kk : tile + kk * ATile::kPitch + m;
  }
  __device__ static const T* bFragment(const T* tile, int n, int kk) {
    return kBRowMajor ? tile + kk * BTile::kPitch + n : tile + n * BTile::kPitch + kk;
  }
};

__device__ inline void cpAsyncCommit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int kPending>
__device__ inline void cpAsyncWait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending) : "memory");
}

// C[128 x 128 tile] = A * B over kDepth (a multiple of kTileK), then
// epilogue.apply(row, col, values[8], state) for every 8 outputs and
// epilogue.finish(state, slot) once per thread, a slot per warp.
template <typename T, bool kARowMajor, bool kBRowMajor, typename Epilogue>
__global__ void __launch_bounds__(kThreads, 2)
    gemmKernel(const T* a, int64_t lda, const T* b, int64_t ldb, int64_t depth, Epilogue epilogue) {
  using Shape = GemmShape<T, kARowMajor, kBRowMajor>;
  using Op = Operand<T>;
  extern __shared__ __align__(128) unsigned char smem[];  // Shape::kSmemBytes
  T* aStages = reinterpret_cast<T*>(smem);
  T* bStages = aStages + kStages * Shape::ATile::kElements;

  const int64_t m0 = static_cast<int64_t>(blockIdx.y) * kTileM;
  const int64_t n0 = static_cast<int64_t>(blockIdx.x) * kTileN;
  const int warp = threadIdx.x / 32;
  const int warpM = (warp / 4) * kWarpTileM;
  const int warpN = (warp % 4) * kWarpTileN;

  wmma::fragment<wmma::accumulator, 16, 16, Op::kMmaK, float> acc[kFragsM][kFragsN];
  for (int i = 0; i < kFragsM; ++i)
    for (int j = 0; j < kFragsN; ++j) wmma::fill_fragment(acc[i][j], 0.0f);

  auto loadStage = [&](int stage, int64_t k0) {
    Shape::ATile::load(aStages + stage * Shape::ATile::kElements, Shape::aTile(a, lda, m0, k0),
                       lda);
    Shape::BTile::load(bStages + stage * Shape::BTile::kElements, Shape::bTile(b, ldb, n0, k0),
                       ldb);
  };

  // kStages - 1 slices in flight, one commit group per slice (empty past the
  // end), so waiting for all but the newest kStages - 2 groups means slice
  // `step` has landed.
  const int64_t steps = depth / Shape::kK;
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < steps) loadStage(s, s * Shape::kK);
    cpAsyncCommit();
  }
  for (int64_t step = 0; step < steps; ++step) {
    cpAsyncWait<kStages - 2>();
    // Slice `step` is visible to all threads, and every warp is done with
    // slice step - 1, whose stage the next load overwrites.
    __syncthreads();
    const int64_t next = step + kStages - 1;
    if (next < steps) loadStage(static_cast<int>(next % kStages), next * Shape::kK);
    cpAsyncCommit();
    const T* aTile = aStages + (step % kStages) * Shape::ATile::kElements;
    const T* bTile = bStages + (step % kStages) * Shape::BTile::kElements;
#pragma unroll
    for (int kk = 0; kk < Shape::kK; kk += Op::kMmaK) {
      wmma::fragment<wmma::matrix_a, 16, 16, Op::kMmaK, typename Op::Fragment,
                     typename Shape::ALayout>
          af[kFragsM];
      wmma::fragment<wmma::matrix_b, 16, 16, Op::kMmaK, typename Op::Fragment,
                     typename Shape::BLayout>
          bf[kFragsN];
#pragma unroll
      for (int i = 0; i < kFragsM; ++i)
        wmma::load_matrix_sync(af[i], Shape::aFragment(aTile, warpM + i * 16, kk),
                               Shape::ATile::kPitch);
#pragma unroll
      for (int j = 0; j < kFragsN; ++j)
        wmma::load_matrix_sync(bf[j], Shape::bFragment(bTile, warpN + j * 16, kk),
                               Shape::BTile::kPitch);
#pragma unroll
      for (int i = 0; i < kFragsM; ++i)
#pragma unroll
        for (int j = 0; j < kFragsN; ++j) wmma::mma_sync(acc[i][j], af[i], bf[j], acc[i][j]);
    }
  }
  cpAsyncWait<0>();
  __syncthreads();  // the stages become the epilogue's staging

  // Each warp stages one 16 x 16 fragment at a time; lane l takes row l / 2,
  // columns (l % 2) * 8 .. + 7.
  float* staging = reinterpret_cast<float*>(smem) + warp * 256;
  const int lane = threadIdx.x % 32;
  typename Epilogue::State state{};
#pragma unroll
  for (int i = 0; i < kFragsM; ++i)
#pragma unroll
    for (int j = 0; j < kFragsN; ++j) {
      wmma::store_matrix_sync(staging, acc[i][j], 16, wmma::mem_row_major);
      __syncwarp();
      float values[8];
#pragma unroll
      for (int q = 0; q < 8; ++q) values[q] = staging[(lane / 2) * 16 + (lane % 2) * 8 + q];
      epilogue.apply(m0 + warpM + i * 16 + lane / 2, n0 + warpN + j * 16 + (lane % 2) * 8, values,
                     state);
      __syncwarp();
    }
  epilogue.finish(
      state, (static_cast<int64_t>(blockIdx.y) * gridDim.x + blockIdx.x) * (kThreads / 32) + warp);
}

// Launches gemmKernel with its dynamic shared memory (over the 48 KB default,
// so the limit is raised once per instantiation).
template <typename T, bool kARowMajor, bool kBRowMajor, typename Epilogue>
cudaError_t launchGemm(dim3 grid, const T* a, int64_t lda, const T* b, int64_t ldb, int64_t depth,
                       const Epilogue& epilogue) {
  constexpr int kBytes = GemmShape<T, kARowMajor, kBRowMajor>::kSmemBytes;
  auto* kernel = gemmKernel<T, kARowMajor, kBRowMajor, Epilogue>;
  static const cudaError_t configured =
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kBytes);
  if (configured != cudaSuccess) return configured;
  kernel<<<grid, kThreads, kBytes>>>(a, lda, b, ldb, depth, epilogue);
  return cudaGetLastError();
}

}  // namespace siglip::cuda
