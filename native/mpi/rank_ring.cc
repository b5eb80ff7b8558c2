#include "rank_ring.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <numeric>
#include <optional>
#include <utility>

#include "progress_thread.h"
#include "stall_deadline.h"

namespace siglip::mpi {
namespace {

enum Tag { kTagY = 1, kTagLabels = 2, kTagAccumulator = 3 };

// Transfers in flight and, for the stall message, the rank at each one's other end.
struct Transfers {
  std::vector<MPI_Request> requests;
  std::vector<Peer> peers;
  MPI_Request* add(int peer, bool receiving) {
    requests.push_back(MPI_REQUEST_NULL);
    peers.push_back({peer, receiving});
    return &requests.back();
  }
};

// A wait may last as long as another rank's block: the stall deadline is at least ten times
// the longest block this rank has computed.
constexpr double kSlowestBlocks = 10;

void waitAll(MPI_Comm comm, Transfers& transfers, const char* what, double slowestBlock) {
  waitWithDeadline(comm, transfers.requests, transfers.peers, what, kSlowestBlocks * slowestBlock);
  transfers = Transfers{};
}

void waitOne(MPI_Comm comm, Transfers& transfers, size_t i, const char* what, double slowestBlock) {
  std::vector<MPI_Request> one{transfers.requests[i]};
  waitWithDeadline(comm, one, {transfers.peers[i]}, what, kSlowestBlocks * slowestBlock);
  transfers.requests[i] = MPI_REQUEST_NULL;
}

// How often the progress thread tests while a chunk computes. Each wake-up costs the computing
// thread its caches (tests every 100 us made 4096-row blocks 20 % slower here), while each
// rendezvous of a large message waits for a test on both ends: so about 32 times a chunk
// (`expectedSeconds`), every 100 us to 1 ms.
std::chrono::microseconds progressInterval(double expectedSeconds) {
  return std::chrono::microseconds(
      std::clamp(static_cast<int64_t>(expectedSeconds * 1e6 / 32), int64_t{100}, int64_t{1000}));
}

// A block's columns in chunks: each chunk's accumulator goes on as soon as it is complete,
// so after the last block only its last chunk is still to travel (both ends of a transfer
// compute the same chunks from the layout).
struct Chunks {
  int64_t columns = 0, count = 1;
  Chunks(int64_t columns, int64_t minimumColumns, bool pipelined) : columns(columns) {
    if (pipelined)
      count = std::clamp<int64_t>(columns / std::max<int64_t>(minimumColumns, 1), 1,
                                  RingLayout::kMaxChunks);
  }
  int64_t begin(int64_t k) const { return columns * k / count; }
  int64_t size(int64_t k) const { return begin(k + 1) - begin(k); }
};

std::vector<int64_t> starts(const std::vector<int64_t>& sizes) {
  std::vector<int64_t> s(sizes.size() + 1, 0);
  std::partial_sum(sizes.begin(), sizes.end(), s.begin() + 1);
  return s;
}

int count(int64_t elements) { return static_cast<int>(elements); }  // checked by the caller

}  // namespace

RingResult runRankRing(MPI_Comm comm, const RankInputs& in, const RingLayout& layout, float* dx,
                       float* dy, const BlockFn& block, RingBuffers& buffers) {
  const auto started = Clock::now();
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  const bool grads = dx != nullptr && dy != nullptr;
  const bool labels = in.positives == PositivePairs::Kind::kLabels;
  const bool ring = size > 1;
  const int next = (rank + 1) % size, prev = (rank + size - 1) % size;
  const std::vector<int64_t> rowStart = starts(layout.rows), columnStart = starts(layout.columns);
  const int64_t n = layout.rows[rank], dim = in.dim;
  const int64_t maxColumns = *std::max_element(layout.columns.begin(), layout.columns.end());
  const size_t blockFloats = static_cast<size_t>(maxColumns * dim);
  const auto chunksOf = [&](int block) {
    return Chunks(layout.columns[block], layout.minChunkColumns, ring && grads);
  };
  const auto blockAt = [&](int step) { return (rank - step + size) % size; };  // held at `step`

  // Two Y blocks (the one computed, the one arriving) with their labels, three travelling
  // accumulators (one received into, one added to and sent on, one whose last chunks are
  // still leaving) and one chunk's dY: O(B * D) whatever the size.
  const auto grow = [](auto& buffer, size_t size) {
    if (buffer.size() < size) buffer.resize(size);
  };
  auto& yBuffers = buffers.y;
  auto& labelBuffers = buffers.labels;
  auto& accumulators = buffers.accumulators;
  auto& dyChunk = buffers.dyChunk;
  if (ring) {
    // Y arrives at steps 1 .. size - 1 into y[(step - 1) % 2]; accumulators are held at steps
    // 1 .. size in accumulators[step % 3]; a chunk's dY is added from step 2 on. W = 2 needs
    // one Y block and two accumulators.
    for (int b = 0; b < std::min(2, size - 1); ++b) {
      grow(yBuffers[b], blockFloats);
      if (labels) grow(labelBuffers[b], static_cast<size_t>(maxColumns));
    }
    if (grads) {
      for (int step = 1; step <= std::min(size, 3); ++step)
        grow(accumulators[step % 3], blockFloats);
      if (size > 2) {
        int64_t largestChunk = 0;
        for (int b = 0; b < size; ++b) {
          const Chunks chunks = chunksOf(b);
          for (int64_t k = 0; k < chunks.count; ++k)
            largestChunk = std::max(largestChunk, chunks.size(k));
        }
        grow(dyChunk, static_cast<size_t>(largestChunk * dim));
      }
    }
  }
  if (grads) std::memset(dx, 0, sizeof(float) * static_cast<size_t>(n * dim));

  RingResult result;
  BlockSums own;  // this rank's rows, summed over the blocks in ring order
  const float* y = in.y;
  const int32_t* yLabels = in.yLabels;
  // This rank's own block (step 0) writes its dY straight into dy. Every other block's dY
  // travels in an accumulator that the block's first visitor (step 1) starts and the others
  // add to, and that comes home at step `size` to be added into dy: W - 1 hops, so a rank sends
  // W - 1 blocks of Y and W - 1 accumulators. The accumulator of the block held at step s is in
  // accumulators[s % 3].
  const auto accumulatorFor = [&](int step) { return accumulators[step % 3].data(); };
  Transfers incoming, incomingNext, sent, sentBefore, yReceives, ySends;
  // The accumulator chunks that are complete but wait for this step's Y to leave: the next
  // rank needs Y to start its next step, an accumulator only to finish one, so on a link that
  // cannot carry both at once Y goes first.
  std::vector<std::pair<const float*, int64_t>> heldSends;
  const auto sendHeld = [&] {
    for (const auto& [floats, length] : heldSends)
      MPI_Isend(floats, count(length), MPI_FLOAT, next, kTagAccumulator, comm,
                sent.add(next, false));
    heldSends.clear();
  };
  const auto yLeft = [&] {
    int complete = 1;
    if (!ySends.requests.empty())
      MPI_Testall(static_cast<int>(ySends.requests.size()), ySends.requests.data(), &complete,
                  MPI_STATUSES_IGNORE);
    return complete != 0;
  };
  const auto receiveAccumulator = [&](int step, Transfers& into) {
    const Chunks chunks = chunksOf(blockAt(step));
    for (int64_t k = 0; k < chunks.count; ++k)
      MPI_Irecv(accumulatorFor(step) + chunks.begin(k) * dim, count(chunks.size(k) * dim),
                MPI_FLOAT, prev, kTagAccumulator, comm, into.add(prev, true));
  };
  double slowestBlock = 0, lastChunkSeconds = 0;
  std::optional<ProgressThread> progress;
  if (ring)
    progress.emplace(std::vector<std::vector<MPI_Request>*>{
        &yReceives.requests, &ySends.requests, &incoming.requests, &incomingNext.requests,
        &sent.requests, &sentBefore.requests});

  for (int step = 0; step < size; ++step) {
    const int j = blockAt(step);
    const int64_t m = layout.columns[j];
    float* yNext = nullptr;
    int32_t* labelsNext = nullptr;
    if (step + 1 < size) {
      // Y moves on at once: the next rank needs it for its next step.
      const int64_t mNext = layout.columns[blockAt(step + 1)];
      yNext = yBuffers[step % 2].data();
      MPI_Irecv(yNext, count(mNext * dim), MPI_FLOAT, prev, kTagY, comm, yReceives.add(prev, true));
      MPI_Isend(y, count(m * dim), MPI_FLOAT, next, kTagY, comm, ySends.add(next, false));
      result.bytesSent += static_cast<int64_t>(sizeof(float)) * m * dim;
      if (labels) {
        labelsNext = labelBuffers[step % 2].data();
        MPI_Irecv(labelsNext, count(mNext), MPI_INT32_T, prev, kTagLabels, comm,
                  yReceives.add(prev, true));
        MPI_Isend(yLabels, count(m), MPI_INT32_T, next, kTagLabels, comm, ySends.add(next, false));
        result.bytesSent += static_cast<int64_t>(sizeof(int32_t)) * m;
      }
    }
    // The next step's accumulator (unless this rank starts it) may travel during this whole
    // step; its buffer's last sends (two steps ago) were waited for at the end of the last step.
    if (ring && grads && step >= 1) receiveAccumulator(step + 1, incomingNext);

    LossInputs blockInputs;
    blockInputs.x = in.x;
    blockInputs.n = n;
    blockInputs.dim = dim;
    blockInputs.tPrime = in.tPrime;
    blockInputs.bias = in.bias;
    blockInputs.normalizer = static_cast<double>(rowStart.back());
    blockInputs.positives.kind = in.positives;
    blockInputs.positives.rowLabels = in.xLabels;
    // Without a ring, and for this rank's own block, the block's dY is the result; at step 1
    // it starts the block's accumulator, later it is added to the accumulator that arrived.
    float* accumulator = ring && grads && step > 0 ? accumulatorFor(step) : nullptr;
    const Chunks chunks = chunksOf(j);
    double blockSeconds = 0;
    for (int64_t k = 0; k < chunks.count; ++k) {
      const int64_t first = chunks.begin(k), columns = chunks.size(k);
      blockInputs.y = y + first * dim;
      blockInputs.m = columns;
      // Global row i and column c pair up when c = i + offset.
      blockInputs.positives.offset = rowStart[rank] - (columnStart[j] + first) + in.positiveOffset;
      blockInputs.positives.columnLabels = yLabels == nullptr ? nullptr : yLabels + first;
      float* dyOut = !grads                   ? nullptr
                     : accumulator == nullptr ? dy + first * dim
                     : step == 1              ? accumulator + first * dim
                                              : dyChunk.data();
      const auto chunkStarted = Clock::now();
      const auto compute = [&] {
        try {
          const BlockSums sums = block(blockInputs, grads ? dx : nullptr, dyOut);
          own.loss += sums.loss;
          own.dTPrime += sums.dTPrime;
          own.dBias += sums.dBias;
        } catch (const std::exception& e) {
          // The arguments were checked on every rank before the ring started; a block that
          // fails now (out of memory, a device error) leaves the other ranks waiting for its
          // transfers, so the job ends here.
          std::fprintf(stderr, "siglip-loss: rank %d: a block failed (%s); aborting the MPI job\n",
                       rank, e.what());
          MPI_Abort(comm, 1);
        }
      };
      if (progress)
        progress->during(progressInterval(lastChunkSeconds), compute);
      else
        compute();
      lastChunkSeconds = secondsSince(chunkStarted);
      blockSeconds += lastChunkSeconds;
      slowestBlock = std::max(slowestBlock, blockSeconds);
      if (accumulator == nullptr) continue;
      if (step > 1) {
        // This chunk of the arriving accumulator, then this rank's part of it added.
        waitOne(comm, incoming, static_cast<size_t>(k), "the ring's accumulators", slowestBlock);
        float* into = accumulator + first * dim;
        const size_t floats = static_cast<size_t>(columns * dim);
        for (size_t i = 0; i < floats; ++i) into[i] += dyChunk[i];
      }
      heldSends.emplace_back(accumulator + first * dim, columns * dim);
      if (yLeft()) sendHeld();
      result.bytesSent += static_cast<int64_t>(sizeof(float)) * columns * dim;
    }
    result.computeSeconds += blockSeconds;
    waitAll(comm, yReceives, "the ring's blocks", slowestBlock);
    waitAll(comm, ySends, "the ring's blocks", slowestBlock);
    sendHeld();
    // The sends of the step before have had a whole step to leave; their buffer is the next
    // step's to receive into.
    waitAll(comm, sentBefore, "the ring's accumulators", slowestBlock);
    sentBefore = std::exchange(sent, {});
    incoming = std::exchange(incomingNext, {});
    if (yNext != nullptr) {
      y = yNext;
      yLabels = labelsNext;
    }
  }
  // This rank's own accumulator comes home, chunk by chunk, to be added to its own block's dY,
  // and the last chunks leave.
  if (ring && grads) {
    const Chunks chunks = chunksOf(rank);
    const float* home = accumulatorFor(size);
    for (int64_t k = 0; k < chunks.count; ++k) {
      waitOne(comm, incoming, static_cast<size_t>(k), "the ring's last accumulators", slowestBlock);
      const int64_t first = chunks.begin(k) * dim, floats = chunks.size(k) * dim;
      for (int64_t i = first; i < first + floats; ++i) dy[i] += home[i];
    }
  }
  waitAll(comm, sentBefore, "the ring's last accumulators", slowestBlock);

  // The global sums: every rank's doubles, added in rank order on every rank,
  // so they are bit-identical everywhere.
  const double mine[3] = {own.loss, own.dTPrime, own.dBias};
  std::vector<double> all(static_cast<size_t>(3 * size));
  allgatherWithDeadline(comm, mine, sizeof mine, all.data(), "the ring's sums",
                        kSlowestBlocks * slowestBlock);
  for (int r = 0; r < size; ++r) {
    result.loss += all[3 * r];
    result.dTPrime += all[3 * r + 1];
    result.dBias += all[3 * r + 2];
  }
  result.rankDTPrime = own.dTPrime;
  result.rankDBias = own.dBias;
  result.wallSeconds = secondsSince(started);
  return result;
}

}  // namespace siglip::mpi
