#include "rank_ring.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <numeric>
#include <thread>

#include "stall_deadline.h"

namespace siglip::mpi {
namespace {

enum Tag { kTagY = 1, kTagLabels = 2, kTagAccumulator = 3 };

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The transfers in flight and, for the stall message, the rank at each one's other end.
struct Transfers {
  std::vector<MPI_Request> requests;
  std::vector<Peer> peers;
  MPI_Request* add(int peer, bool receiving) {
    requests.push_back(MPI_REQUEST_NULL);
    peers.push_back({peer, receiving});
    return &requests.back();
  }
  void add(MPI_Request request, int peer, bool receiving) { *add(peer, receiving) = request; }
};

// A wait may last as long as another rank's block: the stall deadline is at least ten times
// the longest block this rank has computed.
constexpr double kSlowestBlocks = 10;

// Open MPI moves a large message only while some thread is inside an MPI call,
// so a helper thread keeps testing the transfers in flight while the block is
// computed: that is what hides them behind the compute. The waits test with short
// sleeps rather than MPI_Waitall, which spins a core at 100 %: on a shared or
// oversubscribed node that core is taken from a rank still computing its block.
// The wait after the compute is allowed ten times the slowest compute yet (`slowest`,
// updated here), since the other ranks' blocks are as large.
template <typename Compute>
void computeWhileProgressing(MPI_Comm comm, Transfers& inFlight, const char* what, double& slowest,
                             Compute&& compute) {
  std::atomic<bool> done{false};
  std::thread progress(
      [&] { waitWithDeadline(comm, inFlight.requests, inFlight.peers, what, 0, &done); });
  const auto started = Clock::now();
  try {
    compute();
  } catch (...) {
    done = true;
    progress.join();
    throw;
  }
  slowest = std::max(slowest, secondsSince(started));
  done = true;
  progress.join();
  waitWithDeadline(comm, inFlight.requests, inFlight.peers, what, kSlowestBlocks * slowest);
  inFlight = Transfers{};
}

std::vector<int64_t> starts(const std::vector<int64_t>& sizes) {
  std::vector<int64_t> s(sizes.size() + 1, 0);
  std::partial_sum(sizes.begin(), sizes.end(), s.begin() + 1);
  return s;
}

int count(int64_t elements) { return static_cast<int>(elements); }  // checked by the caller

}  // namespace

RingResult runRankRing(MPI_Comm comm, const RankInputs& in, const RingLayout& layout, float* dx,
                       float* dy, const BlockFn& block) {
  const auto started = Clock::now();
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  const bool grads = dx != nullptr && dy != nullptr;
  const bool labels = in.positives == PositivePairs::Kind::kLabels;
  const int next = (rank + 1) % size, prev = (rank + size - 1) % size;
  const std::vector<int64_t> rowStart = starts(layout.rows), columnStart = starts(layout.columns);
  const int64_t n = layout.rows[rank], dim = in.dim;
  const int64_t maxColumns = *std::max_element(layout.columns.begin(), layout.columns.end());
  const size_t blockFloats = static_cast<size_t>(maxColumns * dim);

  // Two Y blocks (the one computed, the one arriving), their labels, two
  // travelling accumulators and the block's dY: O(B * D) whatever the size.
  const bool ring = size > 1;
  std::vector<float> yBuffers[2], accumulators[2], dyBlock;
  std::vector<int32_t> labelBuffers[2];
  if (ring) {
    for (auto& b : yBuffers) b.resize(blockFloats);
    if (labels)
      for (auto& b : labelBuffers) b.resize(static_cast<size_t>(maxColumns));
    if (grads) {
      for (auto& b : accumulators) b.resize(blockFloats);
      dyBlock.resize(blockFloats);
    }
  }
  if (grads) std::memset(dx, 0, sizeof(float) * static_cast<size_t>(n * dim));

  RingResult result;
  BlockSums own;  // this rank's rows, summed over the blocks in ring order
  const float* y = in.y;
  const int32_t* yLabels = in.yLabels;
  float* arriving = nullptr;  // the accumulator of the block computed next
  float* leaving = nullptr;   // the accumulator last sent on
  MPI_Request accumulatorSend = MPI_REQUEST_NULL, accumulatorReceive = MPI_REQUEST_NULL;
  if (ring && grads) {
    arriving = accumulators[0].data();
    leaving = accumulators[1].data();
  }
  Transfers inFlight;
  double slowestBlock = 0;

  for (int step = 0; step < size; ++step) {
    const int j = (rank - step + size) % size;  // the block held at this step
    const int64_t m = layout.columns[j];
    float* yNext = nullptr;
    int32_t* labelsNext = nullptr;
    if (step + 1 < size) {
      // Y moves on at once: the next rank needs it for its next step.
      const int64_t mNext = layout.columns[(j - 1 + size) % size];
      yNext = yBuffers[step % 2].data();
      MPI_Irecv(yNext, count(mNext * dim), MPI_FLOAT, prev, kTagY, comm, inFlight.add(prev, true));
      MPI_Isend(y, count(m * dim), MPI_FLOAT, next, kTagY, comm, inFlight.add(next, false));
      result.bytesSent += static_cast<int64_t>(sizeof(float)) * m * dim;
      if (labels) {
        labelsNext = labelBuffers[step % 2].data();
        MPI_Irecv(labelsNext, count(mNext), MPI_INT32_T, prev, kTagLabels, comm,
                  inFlight.add(prev, true));
        MPI_Isend(yLabels, count(m), MPI_INT32_T, next, kTagLabels, comm,
                  inFlight.add(next, false));
        result.bytesSent += static_cast<int64_t>(sizeof(int32_t)) * m;
      }
    }
    // The accumulators of the previous step travel during this one too.
    inFlight.add(accumulatorSend, next, false);
    inFlight.add(accumulatorReceive, prev, true);

    LossInputs blockInputs;
    blockInputs.x = in.x;
    blockInputs.y = y;
    blockInputs.n = n;
    blockInputs.m = m;
    blockInputs.dim = dim;
    blockInputs.tPrime = in.tPrime;
    blockInputs.bias = in.bias;
    blockInputs.normalizer = static_cast<double>(rowStart.back());
    blockInputs.positives.kind = in.positives;
    // Global row i and column c pair up when c = i + offset.
    blockInputs.positives.offset = rowStart[rank] - columnStart[j] + in.positiveOffset;
    blockInputs.positives.rowLabels = in.xLabels;
    blockInputs.positives.columnLabels = yLabels;
    // Without a ring the block's dY is the result; the first block's starts
    // its accumulator, the others' go to the scratch block.
    float* dyOut = !grads ? nullptr : !ring ? dy : step == 0 ? leaving : dyBlock.data();

    BlockSums sums;
    const auto blockStarted = Clock::now();
    computeWhileProgressing(comm, inFlight, "the ring's blocks", slowestBlock, [&] {
      try {
        sums = block(blockInputs, grads ? dx : nullptr, dyOut);
      } catch (const std::exception& e) {
        // The arguments were checked on every rank before the ring started; a
        // block that fails now (out of memory, a device error) leaves the
        // other ranks waiting for its transfers, so the job ends here.
        std::fprintf(stderr, "siglip-loss: rank %d: a block failed (%s); aborting the MPI job\n",
                     rank, e.what());
        MPI_Abort(comm, 1);
      }
    });
    result.computeSeconds += secondsSince(blockStarted);
    own.loss += sums.loss;
    own.dTPrime += sums.dTPrime;
    own.dBias += sums.dBias;

    if (ring && grads) {
      if (step > 0) {
        // The accumulator of block j has arrived (it was waited for above).
        const size_t floats = static_cast<size_t>(m * dim);
        for (size_t i = 0; i < floats; ++i) arriving[i] += dyBlock[i];
        std::swap(arriving, leaving);
      }
      MPI_Isend(leaving, count(m * dim), MPI_FLOAT, next, kTagAccumulator, comm, &accumulatorSend);
      result.bytesSent += static_cast<int64_t>(sizeof(float)) * m * dim;
      // After the last step the accumulator that arrives is this rank's own
      // block, complete: it goes straight into dy.
      const int arrivingBlock = (j - 1 + size) % size;
      float* into = step + 1 < size ? arriving : dy;
      MPI_Irecv(into, count(layout.columns[arrivingBlock] * dim), MPI_FLOAT, prev, kTagAccumulator,
                comm, &accumulatorReceive);
    }
    if (yNext != nullptr) {
      y = yNext;
      yLabels = labelsNext;
    }
  }
  Transfers last;
  last.add(accumulatorSend, next, false);
  last.add(accumulatorReceive, prev, true);
  waitWithDeadline(comm, last.requests, last.peers, "the ring's last accumulators",
                   kSlowestBlocks * slowestBlock);

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
