// The Hopper (sm_90a) instructions the GEMM uses, as inline PTX: mbarriers,
// the tensor copy engine (TMA) and the wgmma fences. Each wrapper compiles to
// nothing on other targets, where the kernel is never launched (see
// hopper_gemm.cuh: the host picks it only on a compute-capability-9 device
// whose code was built for sm_90a).
#pragma once

#include <cuda.h>  // CUtensorMap: a type only; no driver library is linked

#include <cstdint>

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define SIGLIP_HOPPER_DEVICE 1
#else
#define SIGLIP_HOPPER_DEVICE 0
#endif

namespace siglip::cuda::hopper {

__device__ inline uint32_t sharedAddress(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// `value`, the same in every lane, as lane 0's (all lanes must take part):
// ptxas then knows it is uniform across the warp and keeps what derives from
// it (the ring's stage offsets and wgmma descriptors) in uniform registers,
// instead of building each descriptor in ordinary registers and moving it over
// (CUTLASS broadcasts its warpgroup index so).
__device__ inline int warpUniform(int value) { return __shfl_sync(0xffffffffu, value, 0); }

__device__ inline void barrierInit(uint64_t* bar, uint32_t arrivals) {
#if SIGLIP_HOPPER_DEVICE
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(sharedAddress(bar)),
               "r"(arrivals));
#endif
}

// Makes initialized barriers visible to the copy engine (the async proxy).
__device__ inline void barrierInitFence() {
#if SIGLIP_HOPPER_DEVICE
  asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
#endif
}

// One arrival that also announces `bytes` of copies completing on `bar`.
__device__ inline void barrierExpectBytes(uint64_t* bar, uint32_t bytes) {
#if SIGLIP_HOPPER_DEVICE
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(sharedAddress(bar)),
               "r"(bytes)
               : "memory");
#endif
}

// The math warps' barrier functions take the barrier's shared-memory address
// (taken once per kernel: see TileWork::Ring).
__device__ inline void barrierArrive(uint32_t bar) {
#if SIGLIP_HOPPER_DEVICE
  asm volatile("mbarrier.arrive.release.cta.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
#endif
}

__device__ inline bool barrierTryWait(uint32_t bar, uint32_t parity) {
  uint32_t done = 1;
#if SIGLIP_HOPPER_DEVICE
  asm volatile(
      "{\n"
      ".reg .pred done;\n"
      "mbarrier.try_wait.parity.shared::cta.b64 done, [%1], %2;\n"
      "selp.u32 %0, 1, 0, done;\n"
      "}\n"
      : "=r"(done)
      : "r"(bar), "r"(parity)
      : "memory");
#endif
  return done != 0;
}

// Waits until the barrier's phase with this parity has completed. A copy
// that never lands (a bad tensor map) traps after ~5 s instead of hanging
// the device: the launch then fails with an error the host reports.
__device__ inline void barrierWait(uint32_t bar, uint32_t parity) {
  if (barrierTryWait(bar, parity)) return;
  const long long start = clock64();
  while (!barrierTryWait(bar, parity))
    if (clock64() - start > 10'000'000'000LL) __trap();
}
// The copy warp's, by pointer.
__device__ inline void barrierWait(uint64_t* bar, uint32_t parity) {
  barrierWait(sharedAddress(bar), parity);
}

// Copies the box at (inner, outer) of a 2-D tensor map into shared memory;
// completion is counted in bytes on `bar`.
__device__ inline void tensorLoad(void* dst, const CUtensorMap* map, uint64_t* bar, int32_t inner,
                                  int32_t outer) {
#if SIGLIP_HOPPER_DEVICE
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes"
      " [%0], [%1, {%3, %4}], [%2];\n" ::"r"(sharedAddress(dst)),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(sharedAddress(bar)), "r"(inner), "r"(outer)
      : "memory");
#endif
}

// Copies shared memory at `src` to the box at (inner, outer) of a 2-D tensor
// map (the copy engine reads the box's layout, swizzle included), as a member
// of this thread's next bulk group (bulkCommit).
__device__ inline void tensorStore(const CUtensorMap* map, uint32_t src, int32_t inner,
                                   int32_t outer) {
#if SIGLIP_HOPPER_DEVICE
  asm volatile(
      "cp.async.bulk.tensor.2d.global.shared::cta.bulk_group [%0, {%2, %3}], [%1];\n" ::"l"(
          reinterpret_cast<uint64_t>(map)),
      "r"(src), "r"(inner), "r"(outer)
      : "memory");
#endif
}
__device__ inline void bulkCommit() {
#if SIGLIP_HOPPER_DEVICE
  asm volatile("cp.async.bulk.commit_group;\n" ::: "memory");
#endif
}
// Waits until this thread's bulk groups have read their shared memory (it may
// then be written again).
__device__ inline void bulkWaitRead() {
#if SIGLIP_HOPPER_DEVICE
  asm volatile("cp.async.bulk.wait_group.read 0;\n" ::: "memory");
#endif
}

// Four 8 x 8 matrices of 16-bit values, held in the mma fragment layout (lane
// t: row t / 4, columns 2 (t % 4) and + 1 of each, packed in r0 .. r3), to
// shared memory: lane 8m + r gives the address of row r of matrix m.
__device__ inline void storeMatrices(uint32_t address, uint32_t r0, uint32_t r1, uint32_t r2,
                                     uint32_t r3) {
#if SIGLIP_HOPPER_DEVICE
  asm volatile("stmatrix.sync.aligned.x4.m8n8.shared.b16 [%0], {%1, %2, %3, %4};\n" ::"r"(address),
               "r"(r0), "r"(r1), "r"(r2), "r"(r3)
               : "memory");
#endif
}

// Shared-memory matrix descriptors of tiles written by the copy engine with
// the 128-byte swizzle: 128-byte rows in 8-row (1024-byte) swizzle atoms, so
// 1024 bytes between groups of 8 rows. The high word is the same for every
// tile: the stride byte offset and the swizzle mode.
constexpr uint32_t kDescriptorHigh = (1024 >> 4) | (1u << 30);

// The low word: the start address / 16 in bits 0-13 and the leading byte
// offset / 16 from bit 16 (unused for K-major tiles; for MN-major ones, the
// distance between blocks of 64 M or N elements). A tile `bytes` further on
// has this + bytes / 16: below 256 KB the address field does not carry.
__device__ inline uint32_t descriptorLow(uint32_t address, uint32_t leadingBytes) {
  return ((address & 0x3FFFF) >> 4) | ((leadingBytes >> 4) << 16);
}

__device__ inline uint64_t descriptor(uint32_t low) {
  return (uint64_t(kDescriptorHigh) << 32) | low;
}

// A barrier among kThreads threads (whole warps) on barrier `kId` (0 is __syncthreads).
template <int kId, int kThreads>
__device__ inline void namedBarrier() {
  asm volatile("bar.sync %0, %1;\n" ::"n"(kId), "n"(kThreads) : "memory");
}

// The same with the barrier chosen at run time; namedBarrierArrive signals
// without waiting (the waiting side calls namedBarrierSync with the same count).
__device__ inline void namedBarrierSync(int id, int threads) {
  asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}
__device__ inline void namedBarrierArrive(int id, int threads) {
  asm volatile("bar.arrive %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}

// Orders this thread's shared-memory accesses with the copy engine's and the
// tensor cores' (the async proxy).
__device__ inline void fenceAsyncShared() {
#if SIGLIP_HOPPER_DEVICE
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
#endif
}

__device__ inline void wgmmaFence() {
#if SIGLIP_HOPPER_DEVICE
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#endif
}
__device__ inline void wgmmaCommit() {
#if SIGLIP_HOPPER_DEVICE
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
#endif
}
template <int kPending>
__device__ inline void wgmmaWait() {
#if SIGLIP_HOPPER_DEVICE
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(kPending) : "memory");
#endif
}

}  // namespace siglip::cuda::hopper
