// The chunked SigLIP loss across MPI ranks (no Node): rank r holds rows X_r and
// Y_r of the global batch; the Y blocks travel around a ring of ranks with
// their labels and their dY accumulators, so each rank computes its rows
// against every block and no rank ever holds more than a few blocks.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "../core/siglip.h"

namespace siglip::mpi {

// What a block adds: the loss and scalar-gradient sums of its pairs (already
// divided by the global N).
struct BlockSums {
  double loss = 0, dTPrime = 0, dBias = 0;
};

// Computes one block: this rank's rows against a visiting Y block (inputs.y),
// the positives in the block's own indices, normalized by the global N
// (inputs.normalizer). With gradients (dx and dyBlock not null) it adds the
// block's dX into dx and writes (overwrites) the block's dY into dyBlock.
using BlockFn = std::function<BlockSums(const LossInputs&, float* dx, float* dyBlock)>;

// This rank's part of the call.
struct RankInputs {
  const float* x = nullptr;          // [rows[rank] x dim]
  const float* y = nullptr;          // [columns[rank] x dim]
  const int32_t* xLabels = nullptr;  // labels kind only
  const int32_t* yLabels = nullptr;
  int64_t dim = 0;
  double tPrime = 0, bias = 0;
  PositivePairs::Kind positives = PositivePairs::Kind::kDiagonal;
  int64_t positiveOffset = 0;  // of the global diagonal
};

// The rows of X and of Y that each rank holds, in rank order (agreed on by
// the collective argument check).
struct RingLayout {
  std::vector<int64_t> rows;
  std::vector<int64_t> columns;
  // A block is computed in chunks of at least this many columns (at most kMaxChunks), whose
  // accumulators travel on one by one: smaller chunks hide more of the last transfer, and
  // below ~128 columns the kernel slows down.
  static constexpr int64_t kMaxChunks = 8;
  int64_t minChunkColumns = 128;
};

struct RingResult {
  // The global loss and scalar gradients, bit-identical on every rank.
  double loss = 0, dTPrime = 0, dBias = 0;
  // This rank's share of dTPrime and dBias (the sums over its own rows): they
  // add up over the ranks to the global values.
  double rankDTPrime = 0, rankDBias = 0;
  // Measured by the ring: time in blocks against the whole call, and bytes
  // this rank sent.
  double computeSeconds = 0, wallSeconds = 0;
  int64_t bytesSent = 0;
};

// The ring's buffers, kept from call to call by their owner (one ring at a time uses them):
// fresh ones cost their page faults in every call, 3 ms at B = 256, D = 768 on a 2-core VM,
// before the first block could leave. They grow to the largest call and hold no state between
// calls: every float is written before it is read.
struct RingBuffers {
  std::vector<float> y[2];             // the block computed and the one arriving
  std::vector<int32_t> labels[2];      // their labels
  std::vector<float> accumulators[3];  // one arriving, one added to, one still leaving
  std::vector<float> dyChunk;          // one chunk's dY, added to the arriving accumulator
};

// Runs the ring on `comm` (every rank calls it with the same layout). dx and
// dy ([rows[rank] x dim], [columns[rank] x dim]) receive this rank's rows of
// the global gradients; both null: loss only.
RingResult runRankRing(MPI_Comm comm, const RankInputs& in, const RingLayout& layout, float* dx,
                       float* dy, const BlockFn& block, RingBuffers& buffers);

}  // namespace siglip::mpi
