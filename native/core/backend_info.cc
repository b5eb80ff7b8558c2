#include "backend_info.h"

#include "siglip.h"
#include "tile_engine.h"
#include "tile_kernels.h"

namespace siglip {

BackendInfo backendInfo() {
#if defined(SIGLIP_ENGINE_OPENBLAS)
  return {"openblas", kernels::forThisCpu().name, resolveThreads(0), bfloat16Arithmetic()};
#else
  return {"builtin", kernels::forThisCpu().name, resolveThreads(0), bfloat16Arithmetic()};
#endif
}

}  // namespace siglip
