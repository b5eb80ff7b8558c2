// Tile engines kept between passes. An engine's packed copies take about
// 2.5 KiB per feature (fp32; more for bf16), allocated zeroed; built afresh
// for every pass, their page faults cost more than the products of a small
// batch (N = 512, D = 768, loss only: up to 10 ms a call, 1.6 ms kept). A
// pass leases one engine per worker and gives it back at its end; the pool
// keeps up to one per core. An engine carries nothing from one pass to the
// next: every pass sets its column and row tiles before it reads them.
#pragma once

#include <cstdint>
#include <memory>

#include "siglip.h"
#include "tile_engine.h"

namespace siglip {

// Gives the engine back to the pool, which keeps it for the next pass with
// the same precision and dim (or frees it when the pool is full).
struct ReturnToPool {
  Precision precision;
  int64_t dim;
  void operator()(TileEngine* engine) const;
};
using LeasedEngine = std::unique_ptr<TileEngine, ReturnToPool>;

// An idle engine for (precision, dim), or a new one.
LeasedEngine leaseTileEngine(Precision precision, int64_t dim);

}  // namespace siglip
