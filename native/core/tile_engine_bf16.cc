// The opt-in bf16 engine: x, y and G are rounded to bf16 (nearest even) as
// they are packed, products accumulate in fp32. Every operand is stored as
// pair words (bfloat16.h): depth runs in pairs, so odd depths end in a zero.
#include <algorithm>
#include <cstring>
#include <vector>

#include "bfloat16.h"
#include "simd.h"
#include "tile_engine.h"
#include "tile_kernel.h"
#include "tile_kernel_bf16.h"
#include "tile_kernels.h"

namespace siglip {
namespace {

int64_t pairsOf(int64_t count) { return (count + 1) / 2; }

// dst[r][k] = (src[r][2k], src[r][2k + 1]) for k < pairs, zero past `valid`
// columns; dst rows have stride `pairs`.
// (Whole vectors are rounded in registers and narrowed to 16 bits: pairs are
// consecutive halves.)
SIGLIP_MULTIVERSION
void pairAlongRows(uint32_t* dst, const float* src, int64_t stride, int64_t rows, int64_t valid,
                   int64_t pairs) {
  typedef uint16_t Halves __attribute__((vector_size(simd::kLanes * sizeof(uint16_t))));
  const int64_t vectors = std::min(valid, 2 * pairs) / simd::kLanes;
  for (int64_t r = 0; r < rows; ++r) {
    const float* in = src + r * stride;
    uint32_t* out = dst + r * pairs;
    for (int64_t i = 0; i < vectors; ++i) {
      const Halves h = __builtin_convertvector(
          bf16::round(simd::loadAs<simd::Vec>(in + i * simd::kLanes)), Halves);
      std::memcpy(out + i * simd::kLanes / 2, &h, sizeof h);
    }
    for (int64_t k = vectors * simd::kLanes / 2; k < pairs; ++k)
      out[k] =
          bf16::pair(2 * k < valid ? in[2 * k] : 0.0f, 2 * k + 1 < valid ? in[2 * k + 1] : 0.0f);
  }
}

// dst[k][c] = (src[2k][c], src[2k + 1][c]) for c < width (zero past `valid`
// columns, and past `rows` rows); dst rows have stride dstStride.
SIGLIP_MULTIVERSION
void pairAcrossRows(uint32_t* dst, int64_t dstStride, const float* src, int64_t stride,
                    int64_t rows, int64_t valid, int64_t width) {
  using simd::kLanes;
  const int64_t copied = std::clamp<int64_t>(valid, 0, width);
  const float zeros[kLanes] = {};
  for (int64_t k = 0; k < pairsOf(rows); ++k) {
    const float* first = src + 2 * k * stride;
    const bool hasSecond = 2 * k + 1 < rows;
    const float* second = hasSecond ? first + stride : zeros;
    uint32_t* out = dst + k * dstStride;
    int64_t c = 0;
    for (; c + kLanes <= copied; c += kLanes) {
      const simd::Bits words = bf16::round(simd::loadAs<simd::Vec>(first + c)) |
                               bf16::round(simd::loadAs<simd::Vec>(second + (hasSecond ? c : 0)))
                                   << 16;
      std::memcpy(out + c, &words, sizeof words);
    }
    for (; c < copied; ++c) out[c] = bf16::pair(first[c], hasSecond ? second[c] : 0.0f);
    std::fill(out + copied, out + width, 0u);
  }
}

// The same into panel-major layout: panels of pairsOf(rows) steps x panel.
void pairAcrossRowsInPanels(uint32_t* dst, int64_t panel, const float* src, int64_t stride,
                            int64_t rows, int64_t valid, int64_t width) {
  for (int64_t p0 = 0; p0 < width; p0 += panel)
    pairAcrossRows(dst + p0 * pairsOf(rows), panel, src + std::min(p0, valid), stride, rows,
                   valid - p0, panel);
}

// One column tile (kTile rows of y) as pair words.
struct BFloat16Columns {
  int64_t cols = 0;
  std::vector<uint32_t> transposed;  // dot's operand: dimPairs x kTile, panel-major
  std::vector<uint32_t> rows;        // dX's operand: pairsOf(cols) x dim, panel-major
};

// Several slots: rounding a row tile to bf16 costs about a tenth of its
// products at bf16 speed, so each rounded row tile serves kSlots column tiles.
class BFloat16Engine final : public TileEngine {
 public:
  static constexpr int kSlots = 4;

  // The native kernel runs only with the AVX-512 set (hasNativeDotProducts),
  // whose panels it shares.
  explicit BFloat16Engine(int64_t dim)
      : panel_(kernels::forThisCpu().panel),
        dim_(dim),
        dimPairs_(pairsOf(dim)),
        accumulate_(bf16::hasNativeDotProducts() ? bf16::accumulateNative
                                                 : kernels::forThisCpu().bfloat16),
        xPairs_(kTile * dimPairs_),
        xRows_(pairsOf(kTile) * wholePanels(dim)),
        gPairs_(kTile * pairsOf(kTile)),
        gTransposed_(pairsOf(kTile) * kTile) {
    for (BFloat16Columns& c : columns_) {
      c.transposed.resize(dimPairs_ * wholePanels(kTile));
      c.rows.resize(pairsOf(kTile) * wholePanels(dim));
    }
  }

  int columnSlots() const override { return kSlots; }

  void setColumns(int slot, const float* yTile, int64_t cols) override {
    BFloat16Columns& c = columns_[slot];
    c.cols = cols;
    // y's rows as pairs (xPairs_ is refilled by setRows), then transposed
    // into panels: dot's right-hand operand, a step is a pair of features.
    pairAlongRows(xPairs_.data(), yTile, dim_, cols, dim_, dimPairs_);
    for (int64_t p0 = 0; p0 < kTile; p0 += panel_)
      for (int64_t k = 0; k < dimPairs_; ++k) {
        uint32_t* line = c.transposed.data() + p0 * dimPairs_ + k * panel_;
        for (int64_t j = 0; j < panel_; ++j)
          line[j] = p0 + j < cols ? xPairs_[(p0 + j) * dimPairs_ + k] : 0u;
      }
    pairAcrossRowsInPanels(c.rows.data(), panel_, yTile, dim_, cols, dim_, wholePanels(dim_));
  }

  void setRows(const float* xTile, int64_t rows) override {
    xTile_ = xTile;
    rows_ = rows;
    xRowsReady_ = false;
    pairAlongRows(xPairs_.data(), xTile, dim_, rows, dim_, dimPairs_);
  }

  void dot(float* s, int slot) override {
    std::fill(s, s + rows_ * kTile, 0.0f);
    accumulate(s, rows_, xPairs_.data(), dimPairs_, 1, columns_[slot].transposed.data(),
               dimPairs_ * panel_, dimPairs_, kTile);
  }

  void accumulateRowGrads(float* dx, const float* g, int slot) override {
    const BFloat16Columns& c = columns_[slot];
    const int64_t steps = pairsOf(c.cols);
    pairAlongRows(gPairs_.data(), g, kTile, rows_, c.cols, pairsOf(kTile));
    accumulate(dx, rows_, gPairs_.data(), pairsOf(kTile), 1, c.rows.data(), steps * panel_, steps,
               dim_);
  }

  void accumulateColumnGrads(float* dy, const float* g, int slot) override {
    const int64_t cols = columns_[slot].cols, steps = pairsOf(rows_);
    if (!xRowsReady_) {  // the loss-only pass never needs it
      pairAcrossRowsInPanels(xRows_.data(), panel_, xTile_, dim_, rows_, dim_, wholePanels(dim_));
      xRowsReady_ = true;
    }
    pairAcrossRows(gTransposed_.data(), kTile, g, kTile, rows_, cols, kTile);
    accumulate(dy, cols, gTransposed_.data(), 1, kTile, xRows_.data(), steps * panel_, steps, dim_);
  }

 private:
  int64_t wholePanels(int64_t width) const { return (width + panel_ - 1) / panel_ * panel_; }

  // out += coef * b with b panel-major (panel_ pair words a step).
  void accumulate(float* out, int64_t rows, const uint32_t* coef, int64_t coefRowStride,
                  int64_t coefColStride, const uint32_t* b, int64_t bPanelStride, int64_t steps,
                  int64_t width) const {
    accumulate_(out, rows, coef, coefRowStride, coefColStride, b, bPanelStride, panel_, steps,
                width);
  }

  int64_t panel_, dim_, dimPairs_;
  kernels::AccumulateFn<uint32_t> accumulate_;
  BFloat16Columns columns_[kSlots];
  const float* xTile_ = nullptr;
  int64_t rows_ = 0;
  bool xRowsReady_ = false;
  std::vector<uint32_t> xPairs_;       // dot's coefficients: rows x dimPairs
  std::vector<uint32_t> xRows_;        // dY's operand: pairsOf(rows) x dim, panel-major
  std::vector<uint32_t> gPairs_;       // dX's coefficients: rows x pairsOf(kTile)
  std::vector<uint32_t> gTransposed_;  // dY's coefficients, transposed: pairsOf(kTile) x kTile
};

}  // namespace

std::unique_ptr<TileEngine> makeBFloat16Engine(int64_t dim) {
  return std::make_unique<BFloat16Engine>(dim);
}

const char* bfloat16Arithmetic() {
  return bf16::hasNativeDotProducts() ? "avx512-bf16" : "emulated";
}

}  // namespace siglip
