// The CUDA pass, chunked: for each chunk of rows and chunk of columns,
//   S = X Y^T with the sigmoid epilogue -> G chunk (never N x M: at most
//       kChunkBudget bytes of G, X and Y operand copies together),
//   dX += G Y and dY += G^T X as tensor-core GEMMs.
// Two implementations of the GEMMs: wgmma with the tensor copy engine
// (hopper_gemm.cuh; bf16 on compute capability 9 with sm_90a code), and WMMA
// (tile_gemm.cuh; tf32, and bf16 elsewhere or with SIGLIP_CUDA_GEMM=wmma).
// All launches go to the legacy default stream, in a fixed order, and the
// warp sums are reduced in a fixed order: results are bit-identical run to
// run.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>

#include "chunk_walk.h"
#include "epilogues.cuh"
#include "hopper_gemm.cuh"
#include "hopper_pingpong.cuh"
#include "operand_rows.cuh"
#include "pass_sums.cuh"
#include "siglip_cuda.h"
#include "tile_gemm.cuh"

namespace siglip::cuda {
namespace {

constexpr size_t kChunkBudget = size_t(448) << 20;  // G + operand copies
constexpr int64_t kMaxRowChunk = 16384;
constexpr int64_t kMaxColChunk = 8192;

thread_local std::string lastError;

struct CudaError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess)
    throw CudaError(std::string(what) + ": " + cudaGetErrorName(status) + " (" +
                    cudaGetErrorString(status) + ")");
}

// Grow-only device workspace, reused across calls (cudaMalloc is slow).
struct Workspace {
  void* data = nullptr;
  size_t bytes = 0;
  void* reserve(size_t want) {
    if (want > bytes) {
      release();
      check(cudaMalloc(&data, want), "cudaMalloc(workspace)");
      bytes = want;
    }
    return data;
  }
  void release() {
    if (data != nullptr) cudaFree(data);
    data = nullptr;
    bytes = 0;
  }
};
Workspace workspace;

std::mutex deviceMutex;  // one pass at a time: the workspace is shared

// Device buffers freed on every path.
template <typename T>
struct DeviceArray {
  T* data = nullptr;
  explicit DeviceArray(size_t count) {
    if (count > 0) check(cudaMalloc(&data, count * sizeof(T)), "cudaMalloc");
  }
  ~DeviceArray() {
    if (data != nullptr) cudaFree(data);
  }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
};
using DeviceBuffer = DeviceArray<float>;

// The WMMA pass's chunks and its workspace: the operand copies, G and the
// warp sums, laid out in that order.
struct ChunkPlan {
  ChunkWalk walk;
  int64_t dimPadded;
  size_t xBytes, yBytes, gBytes, sumsBytes;
  size_t total() const { return xBytes + yBytes + gBytes + sumsBytes + kPassSumsBytes; }
};

// The warp sums the WMMA logit kernel writes for a rowsPadded x colsPadded
// chunk: one slot per warp of each tile. The plan sizes their buffer by it.
int64_t wmmaLogitWarpSums(int64_t rowsPadded, int64_t colsPadded) {
  return (rowsPadded / kTileM) * (colsPadded / kTileN) * (kThreads / 32);
}

// A walk's workspace.
template <typename T>
ChunkPlan layoutChunks(const ChunkWalk& walk, int64_t dimPadded, bool withGrads) {
  ChunkPlan plan{walk, dimPadded};
  plan.xBytes = size_t(walk.rowChunk) * dimPadded * sizeof(T);
  plan.yBytes = size_t(walk.yCopyRows()) * dimPadded * sizeof(T);
  plan.gBytes = withGrads ? size_t(walk.rowChunk) * walk.colChunk * sizeof(T) : 0;
  plan.sumsBytes = size_t(wmmaLogitWarpSums(walk.rowChunk, walk.colChunk)) * 3 * sizeof(double);
  return plan;
}

template <typename T>
ChunkPlan planChunks(const SiglipCudaProblem& p, bool withGrads) {
  const int64_t dimPadded = roundUp(p.dim, kTileN);
  const ChunkWalk walk =
      fitWalk(p.n, p.m, kMaxRowChunk, kMaxColChunk, kTileM, kTileN, kChunkBudget,
              [&](const ChunkWalk& w) { return layoutChunks<T>(w, dimPadded, withGrads).total(); });
  return layoutChunks<T>(walk, dimPadded, withGrads);
}

template <typename T>
void convertRows(const float* src, int64_t rows, int64_t dim, T* dst, int64_t rowsPadded,
                 int64_t dimPadded) {
  const OperandRows in = OperandRows::of(src, rows, dim, rowsPadded, dimPadded);
  const int blocks = static_cast<int>(std::min<int64_t>((in.quads() + 255) / 256, 8192));
  toOperandRows<T><<<blocks, 256>>>(in, dst);
  check(cudaGetLastError(), "toOperandRows launch");
}

// passSums (kPassSumsBytes) = 0 and, for the fused pass, dx = dy = 0: the
// chunks accumulate into them.
void zeroOutputs(const SiglipCudaProblem& p, float* dx, float* dy, double* passSums) {
  check(cudaMemset(passSums, 0, kPassSumsBytes), "cudaMemset(sums)");
  if (dx == nullptr || dy == nullptr) return;
  check(cudaMemset(dx, 0, sizeof(float) * p.n * p.dim), "cudaMemset(dx)");
  check(cudaMemset(dy, 0, sizeof(float) * p.m * p.dim), "cudaMemset(dy)");
}

// passSums' partial sums += the `count` warp sums of one logit launch.
void addWarpSums(const double* warpSums, int64_t count, double* passSums) {
  addSliceSums<<<kSumSlices, kSumThreads>>>(warpSums, count, passSums);
  check(cudaGetLastError(), "warp sum launch");
}

// Loss, dTPrime and dBias from the partial sums.
void finishScalars(const SiglipCudaProblem& p, double* passSums, size_t workspaceBytes,
                   SiglipCudaScalars* out) {
  double* totals = passSums + 3 * kSumSlices;
  addSliceSums<<<1, kSumThreads>>>(passSums, kSumSlices, totals);
  check(cudaGetLastError(), "total sum launch");
  double sums[3];
  check(cudaMemcpy(sums, totals, sizeof sums, cudaMemcpyDeviceToHost), "cudaMemcpy(sums)");
  const double n = static_cast<double>(p.n);
  out->loss = sums[0] / n;
  out->dBias = sums[1] / n;
  out->dTPrime = std::exp(p.tPrime) * sums[2] / n;
  out->workspaceBytes = workspaceBytes;
}

// The sigmoid epilogue of the chunk at (r0, c0), rows x cols, writing G (null:
// loss only) with rows ldg apart and its warp sums to `sums`.
template <typename T>
SigmoidEpilogue<T> sigmoidEpilogue(const SiglipCudaProblem& p, T* g, int64_t ldg, int64_t rows,
                                   int64_t cols, int64_t r0, int64_t c0, double* sums) {
  PositivePairs positives;
  positives.kind = p.positives == SIGLIP_CUDA_POSITIVES_NONE ? PositivePairs::Kind::kNone
                                                             : PositivePairs::Kind::kDiagonal;
  positives.offset = p.positiveOffset;
  const double scale = std::exp(p.tPrime);
  return {g,
          ldg,
          rows,
          cols,
          r0,
          c0,
          p.m,
          positives,
          static_cast<float>(scale),
          static_cast<float>(p.bias),
          static_cast<float>(scale / double(p.n)),
          sums};
}

template <typename T>
void runPass(const SiglipCudaProblem& p, const float* x, const float* y, float* dx, float* dy,
             SiglipCudaScalars* out) {
  const bool withGrads = dx != nullptr && dy != nullptr;
  const ChunkPlan plan = planChunks<T>(p, withGrads);
  auto* base = static_cast<unsigned char*>(workspace.reserve(plan.total()));
  T* xOp = reinterpret_cast<T*>(base);
  T* yOp = reinterpret_cast<T*>(base + plan.xBytes);
  T* g = withGrads ? reinterpret_cast<T*>(base + plan.xBytes + plan.yBytes) : nullptr;
  auto* warpSums = reinterpret_cast<double*>(base + plan.xBytes + plan.yBytes + plan.gBytes);
  double* passSums = warpSums + plan.sumsBytes / sizeof(double);

  const int64_t dp = plan.dimPadded;
  zeroOutputs(p, dx, dy, passSums);
  plan.walk.forEach([&](const Chunk& c) {
    if (c.copyX) convertRows<T>(x + c.r0 * p.dim, c.rows, p.dim, xOp, c.rowsPadded, dp);
    T* yChunk = yOp + c.yCopyRow * dp;
    if (c.copyY) convertRows<T>(y + c.c0 * p.dim, c.cols, p.dim, yChunk, c.colsPadded, dp);

    const SigmoidEpilogue<T> sigmoid =
        sigmoidEpilogue(p, g, c.colsPadded, c.rows, c.cols, c.r0, c.c0, warpSums);
    const dim3 logitGrid(c.colsPadded / kTileN, c.rowsPadded / kTileM);
    check(launchGemm<T, true, false>(logitGrid, xOp, dp, yChunk, dp, dp, sigmoid),
          "logit tile launch");
    addWarpSums(warpSums, wmmaLogitWarpSums(c.rowsPadded, c.colsPadded), passSums);
    if (!withGrads) return;

    // dX[rows] += G Y[cols]: A = G (row-major), B = Y operand (K x D, row-major)
    AccumulateEpilogue dxOut{dx + c.r0 * p.dim, p.dim, c.rows, p.dim};
    check(launchGemm<T, true, true>(dim3(dp / kTileN, c.rowsPadded / kTileM), g, c.colsPadded,
                                    yChunk, dp, c.colsPadded, dxOut),
          "dX tile launch");
    // dY[cols] += G^T X[rows]: A = G^T (column-major view of G), B = X operand
    AccumulateEpilogue dyOut{dy + c.c0 * p.dim, p.dim, c.cols, p.dim};
    check(launchGemm<T, false, true>(dim3(dp / kTileN, c.colsPadded / kTileM), g, c.colsPadded, xOp,
                                     dp, c.rowsPadded, dyOut),
          "dY tile launch");
  });
  finishScalars(p, passSums, plan.total(), out);
}

// The wgmma pass (bf16). G is written once, row-major; dX = G Y reads it
// K-major and Y N-major, dY = G^T X reads it M-major and X N-major (wgmma's
// transposed operands), so no operand is copied twice.
namespace hopper_pass {
using Bf16 = __nv_bfloat16;
// The logit kernel: ping-pong, 128 x 128 tiles per warpgroup, 4 stages,
// staging of 64 columns per warpgroup, with the lean sigmoid epilogue and G of
// the tiles of negatives through the copy engine (bench/gpu/NOTES.md, v10 to
// v14: 35.2-35.7 ms at N = 65536 with the dX/dY tiles below, against 42.6 ms
// for v8's 128 x 256 tiles shared by two warpgroups).
using Logits = hopper::PingPong<128, 4, 64>;
// The dX and dY tiles (launchGrad): 128 x 192, as D = 768 = 4 x 192 fills
// the waves, or 128 x 256 where those fill them as well.
constexpr int kGradBlockN = 192, kWideGradBlockN = 256;
// Columns of a chunk: multiples of 256, as checked on the device (the kernels
// need 128).
constexpr int64_t kColumnAlign = 256;
constexpr int64_t kDefaultMaxChunk = 16384;  // 44.1 vs 44.4 ms for 8192 at N = 65536 (H200)

// The largest chunk side; SIGLIP_CUDA_MAX_CHUNK (a multiple of 256) overrides
// it to measure other shapes.
int64_t maxChunk() {
  const char* text = std::getenv("SIGLIP_CUDA_MAX_CHUNK");
  const int64_t value = text != nullptr ? std::atoll(text) : 0;
  return value >= kColumnAlign && value % kColumnAlign == 0 ? value : kDefaultMaxChunk;
}

// The warp sums the logit kernel writes for a rowsPadded x colsPadded chunk:
// one slot per warp of each tile. The plan sizes their buffer by it.
int64_t logitWarpSums(int64_t rowsPadded, int64_t colsPadded) {
  return (rowsPadded / hopper::kBlockM) * (colsPadded / Logits::kBlockN) *
         (Logits::kMathThreads / 32);
}

// The wgmma pass's chunks and its workspace: x, y, g and warp sums.
struct Plan {
  ChunkWalk walk;
  int64_t dimK;
  size_t bytes[4];  // x, y, g, warp sums
  // Each buffer starts 256-byte aligned in the workspace (tensor maps need 16).
  static size_t slot(size_t bytes) { return roundUp(bytes, 256); }
  size_t total() const {
    size_t t = kPassSumsBytes;
    for (size_t b : bytes) t += slot(b);
    return t;
  }
};

// A walk's workspace.
Plan layout(const ChunkWalk& walk, int64_t dimK, bool withGrads) {
  const size_t r = walk.rowChunk, c = walk.colChunk, e = sizeof(Bf16);
  return {walk,
          dimK,
          {r * dimK * e, size_t(walk.yCopyRows()) * dimK * e, withGrads ? r * c * e : 0,
           logitWarpSums(walk.rowChunk, walk.colChunk) * 3 * sizeof(double)}};
}

Plan plan(const SiglipCudaProblem& p, bool withGrads) {
  const int64_t dimK = roundUp(p.dim, hopper::kBlockK);
  const ChunkWalk walk =
      fitWalk(p.n, p.m, maxChunk(), maxChunk(), hopper::kBlockM, kColumnAlign, kChunkBudget,
              [&](const ChunkWalk& w) { return layout(w, dimK, withGrads).total(); });
  return layout(walk, dimK, withGrads);
}

// S = X Y^T for one chunk through the sigmoid epilogue (Y read in boxes as
// wide as the tiles); returns the number of warp sums it wrote.
int64_t launchLogits(int processors, const CUtensorMap& xMap, const Bf16* yOp, int64_t dimK,
                     int64_t rowsPadded, int64_t colsPadded, const SigmoidEpilogue<Bf16>& sigmoid) {
  const int64_t rowTiles = rowsPadded / hopper::kBlockM, colTiles = colsPadded / Logits::kBlockN;
  const CUtensorMap yMap = hopper::tileMap(yOp, dimK, colsPadded, Logits::kBlockN);
  // G in boxes of 64 columns x 16 rows, for the tiles of negatives.
  const CUtensorMap gMap = sigmoid.g != nullptr ? hopper::tileMap(sigmoid.g, colsPadded, rowsPadded,
                                                                  hopper::SwizzledTile::kBoxRows)
                                                : CUtensorMap{};
  check(hopper::launchPingPongGemm<Logits>(xMap, yMap, gMap, rowTiles, colTiles, dimK, processors,
                                           LeanSigmoidEpilogue<Bf16>::from(sigmoid)),
        "logit tile launch (wgmma)");
  return logitWarpSums(rowsPadded, colsPadded);
}

// out += A B^T for dX (kAMnMajor = false: A = G read K-major) or dY (true: G
// read M-major), B (Y or X columns) read N-major, over mTiles row tiles and
// `dim` columns, in 128 x 256 tiles where they take no longer in waves than
// 128 x 192 (hopper::widerTilesFillAsWell): at N = 65536 the chunks are
// 8192 x 16384, so dY (128 row tiles) takes them and dX (64) does not.
template <bool kAMnMajor>
void launchGrad(int processors, const CUtensorMap& a, const CUtensorMap& b, int64_t mTiles,
                int64_t dim, int64_t depth, const AccumulateEpilogue& out, const char* what) {
  auto launch = [&](auto tiles) {
    using Tiles = decltype(tiles);
    const int64_t nTiles = (dim + Tiles::kBlockN - 1) / Tiles::kBlockN;
    check(hopper::launchGemm<Tiles>(a, b, mTiles, nTiles, depth, out), what);
  };
  if (hopper::widerTilesFillAsWell(mTiles, dim, kGradBlockN, kWideGradBlockN, processors))
    launch(hopper::Config<kWideGradBlockN, kAMnMajor, true, 4>{});
  else
    launch(hopper::Config<kGradBlockN, kAMnMajor, true, 4>{});
}

// dX[rows] += G Y and dY[cols] += G^T X for one chunk.
void launchGrads(int processors, const Bf16* g, const Bf16* xOp, const Bf16* yOp, int64_t dimK,
                 int64_t dim, int64_t rowsPadded, int64_t colsPadded,
                 const AccumulateEpilogue& dxOut, const AccumulateEpilogue& dyOut) {
  // dX: A = G [rows x cols] K-major, B = Y [cols x D] N-major.
  const int64_t rowTiles = rowsPadded / hopper::kBlockM;
  launchGrad<false>(processors, hopper::tileMap(g, colsPadded, rowsPadded, hopper::kBlockM),
                    hopper::tileMap(yOp, dimK, colsPadded, 64), rowTiles, dim, colsPadded, dxOut,
                    "dX tile launch (wgmma)");
  // dY: A = G read M-major, B = X [rows x D] N-major.
  const int64_t colTiles = colsPadded / hopper::kBlockM;
  launchGrad<true>(processors, hopper::tileMap(g, colsPadded, rowsPadded, 64),
                   hopper::tileMap(xOp, dimK, rowsPadded, 64), colTiles, dim, rowsPadded, dyOut,
                   "dY tile launch (wgmma)");
}

void run(const SiglipCudaProblem& p, const float* x, const float* y, float* dx, float* dy,
         SiglipCudaScalars* out) {
  const bool withGrads = dx != nullptr && dy != nullptr;
  int processors = 0;
  check(hopper::currentDeviceAttribute(cudaDevAttrMultiProcessorCount, processors),
        "multiprocessor count");
  const Plan plan = hopper_pass::plan(p, withGrads);
  unsigned char* cursor = static_cast<unsigned char*>(workspace.reserve(plan.total()));
  auto take = [&](size_t bytes) {
    unsigned char* at = cursor;
    cursor += Plan::slot(bytes);
    return reinterpret_cast<Bf16*>(at);
  };
  Bf16* xOp = take(plan.bytes[0]);
  Bf16* yOp = take(plan.bytes[1]);
  Bf16* g = withGrads ? take(plan.bytes[2]) : nullptr;
  auto* warpSums = reinterpret_cast<double*>(take(plan.bytes[3]));
  auto* passSums = reinterpret_cast<double*>(cursor);

  zeroOutputs(p, dx, dy, passSums);
  CUtensorMap xMap{};
  plan.walk.forEach([&](const Chunk& c) {
    if (c.copyX) {
      convertRows(x + c.r0 * p.dim, c.rows, p.dim, xOp, c.rowsPadded, plan.dimK);
      xMap = hopper::tileMap(xOp, plan.dimK, c.rowsPadded, hopper::kBlockM);
    }
    Bf16* yChunk = yOp + c.yCopyRow * plan.dimK;
    if (c.copyY) convertRows(y + c.c0 * p.dim, c.cols, p.dim, yChunk, c.colsPadded, plan.dimK);
    const SigmoidEpilogue<Bf16> sigmoid =
        sigmoidEpilogue(p, g, c.colsPadded, c.rows, c.cols, c.r0, c.c0, warpSums);
    const int64_t sums =
        launchLogits(processors, xMap, yChunk, plan.dimK, c.rowsPadded, c.colsPadded, sigmoid);
    addWarpSums(warpSums, sums, passSums);
    if (!withGrads) return;

    const AccumulateEpilogue dxOut{dx + c.r0 * p.dim, p.dim, c.rows, p.dim};
    const AccumulateEpilogue dyOut{dy + c.c0 * p.dim, p.dim, c.cols, p.dim};
    launchGrads(processors, g, xOp, yChunk, plan.dimK, p.dim, c.rowsPadded, c.colsPadded, dxOut,
                dyOut);
  });
  finishScalars(p, passSums, plan.total(), out);
}

// Whether the current device runs this module's wgmma code: compute
// capability 9 with sm_90a code in the module, unless SIGLIP_CUDA_GEMM=wmma.
bool usable() {
  const char* forced = std::getenv("SIGLIP_CUDA_GEMM");
  if (forced != nullptr && std::strcmp(forced, "wmma") == 0) return false;
  static const bool capable = [] {
    int major = 0;
    if (hopper::currentDeviceAttribute(cudaDevAttrComputeCapabilityMajor, major) != cudaSuccess ||
        major != 9)
      return false;
    int compiled = 0;
    try {
      DeviceArray<int> flag(1);
      hopper::probeKernel<<<1, 1>>>(flag.data);
      check(cudaMemcpy(&compiled, flag.data, sizeof compiled, cudaMemcpyDeviceToHost), "probe");
    } catch (const CudaError&) {
      cudaGetLastError();
      return false;
    }
    return compiled == 1;
  }();
  return capable;
}
}  // namespace hopper_pass

void validate(const SiglipCudaProblem& p, const float* x, const float* y) {
  if (x == nullptr || y == nullptr) throw std::invalid_argument("x and y must not be null");
  if (p.n <= 0 || p.m <= 0 || p.dim <= 0)
    throw std::invalid_argument("n, m and dim must be positive");
  if (!std::isfinite(p.tPrime) || !std::isfinite(p.bias))
    throw std::invalid_argument("tPrime and bias must be finite");
  if (p.precision != SIGLIP_CUDA_BF16 && p.precision != SIGLIP_CUDA_TF32)
    throw std::invalid_argument("precision must be bf16 or tf32");
}

void runDevice(const SiglipCudaProblem& p, const float* x, const float* y, float* dx, float* dy,
               SiglipCudaScalars* out) {
  validate(p, x, y);
  if (p.precision == SIGLIP_CUDA_BF16 && hopper_pass::usable())
    hopper_pass::run(p, x, y, dx, dy, out);
  else if (p.precision == SIGLIP_CUDA_BF16)
    runPass<__nv_bfloat16>(p, x, y, dx, dy, out);
  else
    runPass<float>(p, x, y, dx, dy, out);
}

template <typename Body>
int guarded(Body&& body) {
  try {
    body();
    return 0;
  } catch (const std::invalid_argument& e) {
    lastError = e.what();
    return 1;
  } catch (const std::exception& e) {
    lastError = e.what();
    return 2;
  }
}

}  // namespace
}  // namespace siglip::cuda

using namespace siglip::cuda;

extern "C" int siglip_cuda_device_count(void) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    lastError = std::string("no usable CUDA device: ") + cudaGetErrorName(status) + " (" +
                cudaGetErrorString(status) + ")";
    // Built with CUDA 13: its runtime needs an NVIDIA driver of the 580 series or newer.
    if (status == cudaErrorInsufficientDriver)
      lastError +=
          "; this module is built with CUDA 13.0: it needs an NVIDIA GPU and driver 580 or newer";
    cudaGetLastError();  // clear it: no device is not a sticky error
    return -1;
  }
  return count;
}

extern "C" int siglip_cuda_device_info(char* name, int nameLength, int* multiprocessors,
                                       size_t* memoryBytes) {
  return guarded([&] {
    int device = 0;
    check(cudaGetDevice(&device), "cudaGetDevice");
    cudaDeviceProp prop{};
    check(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
    if (name != nullptr && nameLength > 0) std::snprintf(name, nameLength, "%s", prop.name);
    if (multiprocessors != nullptr) *multiprocessors = prop.multiProcessorCount;
    if (memoryBytes != nullptr) *memoryBytes = prop.totalGlobalMem;
  });
}

extern "C" int siglip_cuda_run_device(const SiglipCudaProblem* problem, const float* x,
                                      const float* y, float* dx, float* dy,
                                      SiglipCudaScalars* out) {
  return guarded([&] {
    std::lock_guard<std::mutex> lock(deviceMutex);
    runDevice(*problem, x, y, dx, dy, out);
  });
}

extern "C" int siglip_cuda_run_host(const SiglipCudaProblem* problem, const float* x,
                                    const float* y, float* dx, float* dy, SiglipCudaScalars* out) {
  return guarded([&] {
    const SiglipCudaProblem& p = *problem;
    validate(p, x, y);
    const bool withGrads = dx != nullptr && dy != nullptr;
    std::lock_guard<std::mutex> lock(deviceMutex);
    DeviceBuffer xd(p.n * p.dim), yd(p.m * p.dim);
    DeviceBuffer dxd(withGrads ? p.n * p.dim : 0), dyd(withGrads ? p.m * p.dim : 0);
    check(cudaMemcpy(xd.data, x, sizeof(float) * p.n * p.dim, cudaMemcpyHostToDevice), "copy x");
    check(cudaMemcpy(yd.data, y, sizeof(float) * p.m * p.dim, cudaMemcpyHostToDevice), "copy y");
    runDevice(p, xd.data, yd.data, dxd.data, dyd.data, out);
    if (withGrads) {
      check(cudaMemcpy(dx, dxd.data, sizeof(float) * p.n * p.dim, cudaMemcpyDeviceToHost),
            "copy dx");
      check(cudaMemcpy(dy, dyd.data, sizeof(float) * p.m * p.dim, cudaMemcpyDeviceToHost),
            "copy dy");
    }
  });
}

extern "C" const char* siglip_cuda_gemm(int precision) {
  try {
    return precision == SIGLIP_CUDA_BF16 && hopper_pass::usable() ? "wgmma" : "wmma";
  } catch (...) {
    return "wmma";
  }
}

extern "C" const char* siglip_cuda_last_error(void) { return lastError.c_str(); }

extern "C" void siglip_cuda_release(void) {
  std::lock_guard<std::mutex> lock(deviceMutex);
  workspace.release();
}
