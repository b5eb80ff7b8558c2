#include "backend_info.h"

#include "siglip.h"
#include "tile_engine.h"

namespace siglip {

namespace {
// Mirrors the target_clones levels in simd.h: the clone the loader picks.
std::string detectIsa() {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(SIGLIP_NO_MULTIVERSION)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("x86-64-v4")) return "x86-64-v4 (AVX-512)";
  if (__builtin_cpu_supports("x86-64-v3")) return "x86-64-v3 (AVX2+FMA)";
  return "x86-64 baseline (SSE2)";
#else
  return "portable (compiler default)";
#endif
}
}  // namespace

BackendInfo backendInfo() {
#if defined(SIGLIP_ENGINE_OPENBLAS)
  return {"openblas", detectIsa(), resolveThreads(0), bfloat16Arithmetic()};
#else
  return {"builtin", detectIsa(), resolveThreads(0), bfloat16Arithmetic()};
#endif
}

}  // namespace siglip
