// The CUDA pass, chunked: for each chunk of rows and chunk of columns,
//   S = X Y^T with the sigmoid epilogue -> G chunk (never N x M: at most
//       kChunkBudget bytes of G, X and Y operand copies together),
//   dX += G Y and dY += G^T X as tensor-core GEMMs.
// All launches go to the legacy default stream, in a fixed order, and the
// block sums are reduced in a fixed order: results are bit-identical run to run.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <string>

#include "epilogues.cuh"
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

int64_t roundUp(int64_t v, int64_t to) { return (v + to - 1) / to * to; }

// fp32 rows -> operand copy, zero-padded to rowsPadded x dimPadded.
template <typename T>
__global__ void toOperandRows(const float* src, int64_t rows, int64_t dim, T* dst,
                              int64_t rowsPadded, int64_t dimPadded) {
  const int64_t total = rowsPadded * dimPadded;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = i / dimPadded, k = i % dimPadded;
    dst[i] = toOperand<T>(r < rows && k < dim ? src[r * dim + k] : 0.0f);
  }
}

// totals[q] += sum of blockSums[b][q], one block, fixed order.
__global__ void addBlockSums(const double* blockSums, int64_t blocks, double* totals) {
  __shared__ double partial[3][256];
  for (int q = 0; q < 3; ++q) {
    double s = 0;
    for (int64_t b = threadIdx.x; b < blocks; b += blockDim.x) s += blockSums[b * 3 + q];
    partial[q][threadIdx.x] = s;
  }
  __syncthreads();
  for (int width = 128; width > 0; width /= 2) {
    if (threadIdx.x < width)
      for (int q = 0; q < 3; ++q) partial[q][threadIdx.x] += partial[q][threadIdx.x + width];
    __syncthreads();
  }
  if (threadIdx.x < 3) totals[threadIdx.x] += partial[threadIdx.x][0];
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

struct ChunkPlan {
  int64_t rowChunk, colChunk, dimPadded;
  size_t xBytes, yBytes, gBytes, sumsBytes;
  size_t total() const { return xBytes + yBytes + gBytes + sumsBytes + 3 * sizeof(double); }
};

template <typename T>
ChunkPlan planChunks(const SiglipCudaProblem& p, bool withGrads) {
  ChunkPlan plan{};
  plan.dimPadded = roundUp(p.dim, kTileN);
  plan.rowChunk = std::min(roundUp(p.n, kTileM), kMaxRowChunk);
  plan.colChunk = std::min(roundUp(p.m, kTileN), kMaxColChunk);
  for (;;) {
    plan.xBytes = size_t(plan.rowChunk) * plan.dimPadded * sizeof(T);
    plan.yBytes = size_t(plan.colChunk) * plan.dimPadded * sizeof(T);
    plan.gBytes = withGrads ? size_t(plan.rowChunk) * plan.colChunk * sizeof(T) : 0;
    plan.sumsBytes = size_t(plan.rowChunk / kTileM) * (plan.colChunk / kTileN) * 3 * sizeof(double);
    if (plan.total() <= kChunkBudget || (plan.rowChunk == kTileM && plan.colChunk == kTileN)) break;
    if (plan.rowChunk >= plan.colChunk)
      plan.rowChunk = std::max<int64_t>(kTileM, roundUp(plan.rowChunk / 2, kTileM));
    else
      plan.colChunk = std::max<int64_t>(kTileN, roundUp(plan.colChunk / 2, kTileN));
  }
  return plan;
}

template <typename T>
void convertRows(const float* src, int64_t rows, int64_t dim, T* dst, int64_t rowsPadded,
                 int64_t dimPadded) {
  const int64_t total = rowsPadded * dimPadded;
  const int blocks = static_cast<int>(std::min<int64_t>((total + 255) / 256, 8192));
  toOperandRows<T><<<blocks, 256>>>(src, rows, dim, dst, rowsPadded, dimPadded);
  check(cudaGetLastError(), "toOperandRows launch");
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
  auto* blockSums = reinterpret_cast<double*>(base + plan.xBytes + plan.yBytes + plan.gBytes);
  double* totals = blockSums + plan.sumsBytes / sizeof(double);

  const double scale = std::exp(p.tPrime);
  const int64_t dp = plan.dimPadded;
  check(cudaMemset(totals, 0, 3 * sizeof(double)), "cudaMemset(totals)");
  if (withGrads) {
    check(cudaMemset(dx, 0, sizeof(float) * p.n * p.dim), "cudaMemset(dx)");
    check(cudaMemset(dy, 0, sizeof(float) * p.m * p.dim), "cudaMemset(dy)");
  }
  PositivePairs positives;
  positives.kind = p.positives == SIGLIP_CUDA_POSITIVES_NONE ? PositivePairs::Kind::kNone
                                                             : PositivePairs::Kind::kDiagonal;
  positives.offset = p.positiveOffset;
  const bool oneColumnChunk = p.m <= plan.colChunk;

  for (int64_t r0 = 0; r0 < p.n; r0 += plan.rowChunk) {
    const int64_t rows = std::min(plan.rowChunk, p.n - r0);
    const int64_t rowsPadded = roundUp(rows, kTileM);
    convertRows<T>(x + r0 * p.dim, rows, p.dim, xOp, rowsPadded, dp);
    for (int64_t c0 = 0; c0 < p.m; c0 += plan.colChunk) {
      const int64_t cols = std::min(plan.colChunk, p.m - c0);
      const int64_t colsPadded = roundUp(cols, kTileN);
      if (!oneColumnChunk || r0 == 0)
        convertRows<T>(y + c0 * p.dim, cols, p.dim, yOp, colsPadded, dp);

      SigmoidEpilogue<T> sigmoid{g,
                                 colsPadded,
                                 rows,
                                 cols,
                                 r0,
                                 c0,
                                 p.m,
                                 positives,
                                 static_cast<float>(scale),
                                 static_cast<float>(p.bias),
                                 static_cast<float>(scale / double(p.n)),
                                 blockSums};
      const dim3 logitGrid(colsPadded / kTileN, rowsPadded / kTileM);
      check(launchGemm<T, true, false>(logitGrid, xOp, dp, yOp, dp, dp, sigmoid),
            "logit tile launch");
      addBlockSums<<<1, 256>>>(blockSums, int64_t(logitGrid.x) * logitGrid.y, totals);
      check(cudaGetLastError(), "block sum launch");
      if (!withGrads) continue;

      // dX[rows] += G Y[cols]: A = G (row-major), B = Y operand (K x D, row-major)
      AccumulateEpilogue dxOut{dx + r0 * p.dim, p.dim, rows, p.dim};
      check(launchGemm<T, true, true>(dim3(dp / kTileN, rowsPadded / kTileM), g, colsPadded, yOp,
                                      dp, colsPadded, dxOut),
            "dX tile launch");
      // dY[cols] += G^T X[rows]: A = G^T (column-major view of G), B = X operand
      AccumulateEpilogue dyOut{dy + c0 * p.dim, p.dim, cols, p.dim};
      check(launchGemm<T, false, true>(dim3(dp / kTileN, colsPadded / kTileM), g, colsPadded, xOp,
                                       dp, rowsPadded, dyOut),
            "dY tile launch");
    }
  }
  double sums[3];
  check(cudaMemcpy(sums, totals, sizeof sums, cudaMemcpyDeviceToHost), "cudaMemcpy(sums)");
  const double n = static_cast<double>(p.n);
  out->loss = sums[0] / n;
  out->dBias = sums[1] / n;
  out->dTPrime = scale * sums[2] / n;
  out->workspaceBytes = plan.total();
}

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
  if (p.precision == SIGLIP_CUDA_BF16)
    runPass<__nv_bfloat16>(p, x, y, dx, dy, out);
  else
    runPass<float>(p, x, y, dx, dy, out);
}

// Device buffers freed on every path.
struct DeviceBuffer {
  float* data = nullptr;
  explicit DeviceBuffer(size_t count) {
    if (count > 0) check(cudaMalloc(&data, count * sizeof(float)), "cudaMalloc");
  }
  ~DeviceBuffer() {
    if (data != nullptr) cudaFree(data);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
};

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

extern "C" const char* siglip_cuda_last_error(void) { return lastError.c_str(); }

extern "C" void siglip_cuda_release(void) {
  std::lock_guard<std::mutex> lock(deviceMutex);
  workspace.release();
}
