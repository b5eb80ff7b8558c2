// The Hopper kernels' epilogue hand-over, run on the CPU (no GPU needed):
// every math thread's accumulators, laid out as wgmma leaves them, go through
// TileWork::stage and TileWork::applyRows part after part, for each kernel
// configuration the pass uses (and through TileWork::applyNegatives for the
// ping-pong kernel's tiles of negatives in the loss-only pass), and every
// output of the tile must reach the epilogue exactly once, with its own value.
#include <array>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "../cuda/hopper_gemm.cuh"
#include "../cuda/hopper_pingpong.cuh"

namespace {

using namespace siglip::cuda::hopper;

int failed = 0;

void expect(bool ok, const std::string& what) {
  std::printf("%s: %s\n", ok ? "ok" : "FAIL", what.c_str());
  failed += !ok;
}

float encode(int row, int col) { return static_cast<float>(row * 1000 + col); }

// Records what the epilogue receives.
struct Recorder {
  struct State {};
  int cols;
  std::vector<int>* seen;  // times each output arrived
  int* wrong;              // outputs that arrived with another output's value

  // Called from lambdas of TileWork's (host and device code, as lambdas of
  // host-device functions are), where the pragma on TileWork's functions does
  // not reach; so are the others below.
#pragma nv_exec_check_disable
  template <int kWidth>
  __host__ __device__ void apply(int64_t row, int64_t col, const float (&v)[kWidth], State&) const {
    for (int q = 0; q < kWidth; ++q) {
      ++(*seen)[row * cols + col + q];
      *wrong += v[q] != encode(static_cast<int>(row), static_cast<int>(col + q));
    }
  }
#pragma nv_exec_check_disable
  template <int kWidth>
  __host__ __device__ void applyNegatives(int64_t row, int64_t col, const float (&v)[kWidth],
                                          State& state) const {
    apply(row, col, v, state);
  }
#pragma nv_exec_check_disable
  template <int kBatch, int kWidth>
  __host__ __device__ void applyBatch(const int64_t (&row)[kBatch], int64_t col,
                                      const float (&v)[kBatch][kWidth], State& state) const {
    for (int b = 0; b < kBatch; ++b) apply(row[b], col, v[b], state);
  }
};

// What math thread (group, groupWarp, lane) holds after the mainloop: each
// output's own code, in wgmma's D fragment layout.
template <typename Cfg>
void fillAccumulators(typename TileWork<Cfg>::Accumulators& acc, int group, int groupWarp,
                      int lane) {
  for (int f = 0; f < Cfg::kFragments; ++f)
    for (int i = 0; i < Cfg::kBlockN / 16; ++i)
      for (int j = 0; j < 8; ++j) {
        const int row =
            (group * Cfg::kFragments + f) * 64 + groupWarp * 16 + lane / 4 + (j % 4 >= 2 ? 8 : 0);
        const int col = 16 * i + (j >= 4 ? 8 : 0) + 2 * (lane % 4) + j % 2;
        acc[f][i][j] = encode(row, col);
      }
}

// One tile of Cfg, its staging taken kCols columns at a time, by `groups`
// warpgroups of Cfg::kMathThreads / 128 ... (cooperative: warps 0..7 and
// groups 0, 1; ping-pong: one warpgroup owns the tile: warps 0..3, group 0),
// handed over kBatch rows per call.
template <typename Cfg, int kCols, int kBatch, int kCol0 = 0>
void handOver(std::vector<float>& staging, const Recorder& recorder, int groups) {
  using Work = TileWork<Cfg>;
  constexpr int kPitch = kCols + 8;
  std::fill(staging.begin(), staging.end(), -1.0f);
  for (int group = 0; group < groups; ++group)
    for (int groupWarp = 0; groupWarp < 4; ++groupWarp)
      for (int lane = 0; lane < 32; ++lane) {
        typename Work::Accumulators acc;
        fillAccumulators<Cfg>(acc, group, groupWarp, lane);
        Work::template stage<kCol0, kCols, kPitch>(acc, staging.data(), group,
                                                   group * 4 + groupWarp, lane);
      }
  typename Recorder::State state;
  for (int warp = 0; warp < Work::kMathWarps; ++warp)
    for (int lane = 0; lane < 32; ++lane)
      Work::template applyRows<kCols, kPitch, kBatch>(staging.data(), 0, kCol0, recorder, state,
                                                      warp, lane);
  if constexpr (kCol0 + kCols < Cfg::kBlockN)
    handOver<Cfg, kCols, kBatch, kCol0 + kCols>(staging, recorder, groups);
}

// The ping-pong kernel's tiles of negatives only in the loss-only pass: each
// warp of the one warpgroup hands its accumulators to the epilogue directly.
template <typename Cfg>
void handOverDirectly(const Recorder& recorder) {
  typename Recorder::State state;
  for (int warp = 0; warp < 4; ++warp)
    for (int lane = 0; lane < 32; ++lane) {
      typename TileWork<Cfg>::Accumulators acc;
      fillAccumulators<Cfg>(acc, 0, warp, lane);
      TileWork<Cfg>::applyNegatives(acc, 0, 0, recorder, state, 0, warp, lane);
    }
}

// kCols: the staging's columns per part, or 0 for handOverDirectly.
template <typename Cfg, int kCols, int kBatch = 1>
void check(const char* name, int groups) {
  std::vector<int> seen(kBlockM * Cfg::kBlockN, 0);
  int wrong = 0;
  const Recorder recorder{Cfg::kBlockN, &seen, &wrong};
  if constexpr (kCols == 0) {
    handOverDirectly<Cfg>(recorder);
  } else {
    std::vector<float> staging(kBlockM * (kCols + 8) + 64);
    handOver<Cfg, kCols, kBatch>(staging, recorder, groups);
  }
  int missing = 0, repeated = 0;
  for (int n : seen) missing += n == 0, repeated += n > 1;
  expect(missing == 0 && repeated == 0 && wrong == 0,
         std::string(name) + ": " + std::to_string(missing) + " outputs missing, " +
             std::to_string(repeated) + " repeated, " + std::to_string(wrong) + " wrong");
}

// The ping-pong kernel's tiles of G of negatives, through the copy engine
// (hopper_tile_store.cuh): each warp's stmatrix as PTX defines it (lane 8m + r
// gives the address of row r of matrix m, whose 8 values are register m of
// lanes 4r .. 4r + 3), then its boxes as the copy engine reads a box with the
// 128-byte swizzle (the 16-byte unit of address bits 4-6 XOR bits 7-9). Every
// output of the tile must land once, at its place.
void checkTileThroughCopyEngine() {
  using Cfg = PingPong<128, 4, 64>;
  using Work = TileWork<Cfg>;
  auto id = [](float v) {  // encode(row, col) as 16 bits
    const int code = static_cast<int>(v);
    return static_cast<uint32_t>(code / 1000 * 128 + code % 1000);
  };
  std::vector<uint16_t> buffer(SwizzledTile::kBytes / 2, 0xFFFF);
  std::vector<int> seen(SwizzledTile::kRows * SwizzledTile::kCols, 0);
  int wrong = 0;
  for (int warp = 0; warp < 4; ++warp) {
    // Per lane, per 16 x 16 block: its row address and its four registers.
    std::vector<std::vector<std::pair<uint32_t, std::array<uint32_t, 4>>>> lanes(32);
    for (int lane = 0; lane < 32; ++lane) {
      typename Work::Accumulators acc;
      fillAccumulators<Cfg>(acc, 0, warp, lane);
      Work::forEachBlock<0, Cfg::kBlockN>(acc, 0, warp, [&](int r, int c, const float(&v)[8]) {
        std::array<uint32_t, 4> bits{};
        for (int m = 0; m < 4; ++m) bits[m] = id(v[2 * m]) | id(v[2 * m + 1]) << 16;
        lanes[lane].push_back({SwizzledTile::matrixRowOffset(r, c, lane), bits});
      });
    }
    for (size_t block = 0; block < lanes[0].size(); ++block)
      for (int m = 0; m < 4; ++m)
        for (int r = 0; r < 8; ++r)
          for (int q = 0; q < 4; ++q) {
            const uint32_t at = lanes[8 * m + r][block].first / 2 + 2 * q;
            const uint32_t word = lanes[4 * r + q][block].second[m];
            buffer[at] = static_cast<uint16_t>(word & 0xFFFF);
            buffer[at + 1] = static_cast<uint16_t>(word >> 16);
          }
    for (int b = 0; b < 4; ++b) {
      const int row0 = SwizzledTile::boxRow(warp, b), col0 = SwizzledTile::boxCol(b);
      const uint32_t start = SwizzledTile::chunkOffset(row0, col0);
      for (int y = 0; y < SwizzledTile::kBoxRows; ++y)
        for (int x = 0; x < 64; ++x) {
          const uint32_t logical = start + y * 128 + x * 2;
          const uint32_t physical = logical ^ (((logical >> 7) & 7) << 4);
          const int row = row0 + y, col = col0 + x;
          ++seen[row * SwizzledTile::kCols + col];
          wrong += buffer[physical / 2] != row * 128 + col;
        }
    }
  }
  int missing = 0, repeated = 0;
  for (int n : seen) missing += n == 0, repeated += n > 1;
  expect(missing == 0 && repeated == 0 && wrong == 0,
         "ping-pong G tile through stmatrix and the copy engine: " + std::to_string(missing) +
             " outputs missing, " + std::to_string(repeated) + " repeated, " +
             std::to_string(wrong) + " wrong");
}

}  // namespace

int main() {
  // gemmKernel's configurations for dX and dY (staging of the whole tile in
  // the ring, its rows kUpdateBatch at a time), and the ping-pong logit
  // kernel's (parts of 64 columns, a row at a time).
  check<Config<192, false, true, 4>, 192, kUpdateBatch>("dX 128 x 192", 2);
  check<Config<256, false, true, 4>, 256, kUpdateBatch>("dX 128 x 256", 2);
  check<Config<192, true, true, 4>, 192, kUpdateBatch>("dY 128 x 192", 2);
  check<Config<256, true, true, 4>, 256, kUpdateBatch>("dY 128 x 256", 2);
  check<PingPong<128, 4, 64>, 64>("ping-pong 128 x 128, parts of 64", 1);
  check<PingPong<128, 4, 64>, 0>("ping-pong 128 x 128, negatives from registers (loss-only)", 1);
  checkTileThroughCopyEngine();
  // The dX/dY choice of tile width per launch (waves of 132).
  expect(widerTilesFillAsWell(128, 768, 192, 256, 132), "256 at 128 row tiles, D = 768");
  expect(!widerTilesFillAsWell(64, 768, 192, 256, 132), "192 at 64 row tiles, D = 768");
  expect(!widerTilesFillAsWell(128, 1152, 192, 256, 132), "192 at D = 1152 (192 divides it)");
  expect(!widerTilesFillAsWell(2, 768, 192, 256, 132), "192 when all fit in one wave");
  std::printf("cuda layout: %d failed\n", failed);
  return failed == 0 ? 0 : 1;
}
