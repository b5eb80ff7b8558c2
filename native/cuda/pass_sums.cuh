// The pass's three sums (loss, sum of g, sum of g * dot) from the logit
// kernels' warp slots ([slots][3] doubles, rewritten by every chunk), always
// added in the same order, so that results do not depend on timing.
// Each chunk's slots are split into kSumSlices fixed slices, one block each,
// that add into their own partial sums; the partial sums become the totals
// once, at the end of the pass. (One block for all of a chunk's 32,768 slots
// waited for ~380 loads from L2 one after another per thread, tens of
// microseconds while the rest of the GPU idled, every chunk.)
#pragma once

#include <cstddef>
#include <cstdint>

namespace siglip::cuda {

constexpr int kSumSlices = 128;
constexpr int kSumThreads = 256;
// The pass's sums in device memory: [kSumSlices][3] partial sums, then the
// three totals.
constexpr size_t kPassSumsBytes = (kSumSlices + 1) * 3 * sizeof(double);

struct SumSlice {
  int64_t begin, end;
};

// Slice `slice` of `slices` of [0, count): consecutive, disjoint, covering.
__host__ __device__ inline SumSlice sumSlice(int64_t count, int64_t slice, int64_t slices) {
  return {count * slice / slices, count * (slice + 1) / slices};
}

// out[b][q] += the sum of sums[i][q] over slice b (of gridDim.x) of the
// `count` slots, for q = 0, 1, 2; kSumThreads threads per block.
static __global__ void addSliceSums(const double* sums, int64_t count, double* out) {
  __shared__ double partial[3][kSumThreads];
  const SumSlice slice = sumSlice(count, blockIdx.x, gridDim.x);
  for (int q = 0; q < 3; ++q) {
    double s = 0;
    for (int64_t i = slice.begin + threadIdx.x; i < slice.end; i += kSumThreads)
      s += sums[i * 3 + q];
    partial[q][threadIdx.x] = s;
  }
  __syncthreads();
  for (int width = kSumThreads / 2; width > 0; width /= 2) {
    if (threadIdx.x < width)
      for (int q = 0; q < 3; ++q) partial[q][threadIdx.x] += partial[q][threadIdx.x + width];
    __syncthreads();
  }
  if (threadIdx.x < 3) out[blockIdx.x * 3 + threadIdx.x] += partial[threadIdx.x][0];
}

}  // namespace siglip::cuda
