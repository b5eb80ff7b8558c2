// The rank ring under mpirun (no Node): every rank holds its rows of a global
// batch (unequal rows, x and y rows that differ), with diagonal positives at
// an offset and with group labels that travel with their Y blocks, against
// one pass of the core over the whole batch on every rank.
// Run: mpirun -np 3 --oversubscribe ./siglip_rank_ring_test
#include "../mpi/rank_ring.h"

#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "../mpi/block_backend.h"

namespace {

int failed = 0, passed = 0;

void expect(bool ok, const std::string& what, int rank) {
  if (ok) {
    ++passed;
    return;
  }
  ++failed;
  std::fprintf(stderr, "rank %d FAILED: %s\n", rank, what.c_str());
}

double relError(const float* got, const float* want, size_t count) {
  double num = 0, den = 0;
  for (size_t i = 0; i < count; ++i) {
    num += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
    den += double(want[i]) * want[i];
  }
  return den == 0 ? std::sqrt(num) : std::sqrt(num / den);
}

double relError(double got, double want) { return std::fabs(got - want) / std::fabs(want); }

std::vector<float> randomRows(std::mt19937& rng, int64_t rows, int64_t dim) {
  std::normal_distribution<float> normal;
  std::vector<float> v(rows * dim);
  for (int64_t r = 0; r < rows; ++r) {
    double s = 0;
    for (int64_t k = 0; k < dim; ++k) s += std::pow(v[r * dim + k] = normal(rng), 2);
    for (int64_t k = 0; k < dim; ++k) v[r * dim + k] /= float(std::sqrt(s));
  }
  return v;
}

// What a call leaves in the ring's buffers must not reach the next: NaN floats, and labels
// that pair up with every row label 3.
void poison(siglip::mpi::RingBuffers& buffers) {
  for (auto* floats : {&buffers.y[0], &buffers.y[1], &buffers.accumulators[0],
                       &buffers.accumulators[1], &buffers.accumulators[2], &buffers.dyChunk})
    std::fill(floats->begin(), floats->end(), std::nanf(""));
  for (auto& labels : buffers.labels) std::fill(labels.begin(), labels.end(), 3);
}

}  // namespace

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const int64_t dim = 19;
  siglip::mpi::RingLayout layout;
  for (int r = 0; r < size; ++r) {
    layout.rows.push_back(40 + 97 * (r % 2) + r);
    layout.columns.push_back(130 - 50 * (r % 2) + 2 * r);
  }
  int64_t n = 0, m = 0, rowStart = 0, colStart = 0;
  for (int r = 0; r < size; ++r) {
    if (r == rank) {
      rowStart = n;
      colStart = m;
    }
    n += layout.rows[r];
    m += layout.columns[r];
  }
  std::mt19937 rng(5);  // the same global batch on every rank
  const auto x = randomRows(rng, n, dim), y = randomRows(rng, m, dim);
  std::vector<int32_t> xLabels(n), yLabels(m);
  for (auto& l : xLabels) l = int32_t(rng() % 13) - 1;  // -1: no positive
  for (auto& l : yLabels) l = int32_t(rng() % 13) - 1;

  // One set of buffers for every call, as the addon keeps them: calls of other chunk sizes,
  // positives and with or without gradients follow one another in them.
  siglip::mpi::RingBuffers buffers;
  for (auto kind : {siglip::PositivePairs::Kind::kDiagonal, siglip::PositivePairs::Kind::kLabels,
                    siglip::PositivePairs::Kind::kNone}) {
    const bool labels = kind == siglip::PositivePairs::Kind::kLabels;
    const std::string name = labels                                       ? "labels"
                             : kind == siglip::PositivePairs::Kind::kNone ? "none"
                                                                          : "diagonal";
    siglip::LossInputs whole{x.data(), y.data(), n, m, dim, std::log(10.0), -10, {}};
    whole.positives.kind = kind;
    whole.positives.offset = 7;
    whole.positives.rowLabels = xLabels.data();
    whole.positives.columnLabels = yLabels.data();
    std::vector<float> wantDx(n * dim), wantDy(m * dim);
    siglip::Gradients want{wantDx.data(), wantDy.data()};
    const double wantLoss = siglip::computeLossAndGrads(whole, want, {2});

    siglip::mpi::RankInputs in;
    in.x = x.data() + rowStart * dim;
    in.y = y.data() + colStart * dim;
    if (labels) {
      in.xLabels = xLabels.data() + rowStart;
      in.yLabels = yLabels.data() + colStart;
    }
    in.dim = dim;
    in.tPrime = whole.tPrime;
    in.bias = whole.bias;
    in.positives = kind;
    in.positiveOffset = 7;
    const siglip::RunOptions options{1};
    const auto block = [&](const siglip::LossInputs& b, float* bdx, float* bdy) {
      return siglip::mpi::cpuBlock(b, options, bdx, bdy);
    };
    // Whole blocks (82 to 134 columns: one chunk each at 128), then 5 to 8 chunks of 16 or
    // 17 columns whose accumulators travel one by one.
    for (const int64_t minChunkColumns : {int64_t{128}, int64_t{16}}) {
      layout.minChunkColumns = minChunkColumns;
      std::vector<float> dx(layout.rows[rank] * dim), dy(layout.columns[rank] * dim);
      const auto got = siglip::mpi::runRankRing(MPI_COMM_WORLD, in, layout, dx.data(), dy.data(),
                                                block, buffers);
      poison(buffers);
      const auto lossOnly =
          siglip::mpi::runRankRing(MPI_COMM_WORLD, in, layout, nullptr, nullptr, block, buffers);
      poison(buffers);
      const std::string s = name + " W=" + std::to_string(size) + " chunks of " +
                            std::to_string(minChunkColumns) + "+";
      expect(relError(got.loss, wantLoss) <= 1e-6, s + ": loss", rank);
      expect(relError(lossOnly.loss, wantLoss) <= 1e-6, s + ": loss alone", rank);
      expect(relError(got.dTPrime, want.dTPrime) <= 1e-5, s + ": dTPrime", rank);
      expect(relError(got.dBias, want.dBias) <= 1e-6, s + ": dBias", rank);
      expect(relError(dx.data(), wantDx.data() + rowStart * dim, dx.size()) <= 1e-5, s + ": dx",
             rank);
      expect(relError(dy.data(), wantDy.data() + colStart * dim, dy.size()) <= 1e-5, s + ": dy",
             rank);
      // The shares add up to the global sums.
      double shares[2] = {got.rankDTPrime, got.rankDBias}, total[2];
      MPI_Allreduce(shares, total, 2, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
      expect(relError(total[0], got.dTPrime) <= 1e-12 && relError(total[1], got.dBias) <= 1e-12,
             s + ": shares", rank);
    }
  }
  int all[2] = {passed, failed}, sums[2];
  MPI_Reduce(all, sums, 2, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
  if (rank == 0) std::printf("rank ring (W = %d): %d passed, %d failed\n", size, sums[0], sums[1]);
  MPI_Finalize();
  return failed == 0 ? 0 : 1;
}
