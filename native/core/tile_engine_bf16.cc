// The opt-in bf16 engine: x, y and G are rounded to bf16 (nearest even) as
// they are packed, products accumulate in fp32. Every operand is stored as
// pair words (bfloat16.h), widened to floats where the CPU has no AVX512-BF16
// (PairOperand): depth runs in pairs, so odd depths end in a zero.
#include <algorithm>
#include <cstring>
#include <vector>

#include "bfloat16.h"
#include "panel_packer.h"
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

// An operand as pair words and, without AVX512-BF16, the same values as
// floats (a bf16 value is a float with a zero low half), each pair as two
// steps in vdpbf16ps's order: second, then first. Each bf16 product is exact
// in fp32, so the fp32 kernels sum the widened operands to the native
// kernel's bits, at fp32's speed (multiplying pair words in registers, as an
// emulation, ran 35 % slower than fp32 on AVX2: bench/engines.sh).
struct PairOperand {
  std::vector<uint32_t> words;
  std::vector<float> widened;  // empty with AVX512-BF16

  void resize(int64_t count, bool widen) {
    words.resize(count);
    if (widen) widened.resize(2 * count);
  }
  // The first `count` words, pairs along rows: word i is floats 2i and 2i + 1.
  void widenAlongRows(int64_t count) {
    if (widened.empty()) return;
    for (int64_t i = 0; i < count; ++i) {
      widened[2 * i] = bf16::high(words[i]);
      widened[2 * i + 1] = bf16::low(words[i]);
    }
  }
  // The first `rows` rows of `width` words, pairs across rows: row k is float
  // rows 2k and 2k + 1.
  void widenAcrossRows(int64_t rows, int64_t width) {
    if (widened.empty()) return;
    for (int64_t k = 0; k < rows; ++k)
      for (int64_t j = 0; j < width; ++j) {
        widened[(2 * k) * width + j] = bf16::high(words[k * width + j]);
        widened[(2 * k + 1) * width + j] = bf16::low(words[k * width + j]);
      }
  }
};

// One column tile (kTile rows of y) as pair words.
struct BFloat16Columns {
  int64_t cols = 0;
  PairOperand transposed;  // dot's operand: dimPairs x kTile, panel-major
  PairOperand rows;        // dX's operand: pairsOf(cols) x dim, panel-major
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
        packer_(panel_),
        dim_(dim),
        dimPairs_(pairsOf(dim)),
        native_(bf16::hasNativeDotProducts()),
        widened_(kernels::forThisCpu().float32) {
    const bool widen = !native_;
    xPairs_.resize(kTile * dimPairs_, widen);
    xRows_.resize(pairsOf(kTile) * packer_.wholePanels(dim), widen);
    gPairs_.resize(kTile * pairsOf(kTile), widen);
    gTransposed_.resize(pairsOf(kTile) * kTile, widen);
    for (BFloat16Columns& c : columns_) {
      c.transposed.resize(dimPairs_ * packer_.wholePanels(kTile), widen);
      c.rows.resize(pairsOf(kTile) * packer_.wholePanels(dim), widen);
    }
  }

  int columnSlots() const override { return kSlots; }

  void setColumns(int slot, const float* yTile, int64_t cols) override {
    BFloat16Columns& c = columns_[slot];
    c.cols = cols;
    // y's rows as pairs (xPairs_ is refilled by setRows), then transposed
    // into panels: dot's right-hand operand, a step is a pair of features.
    pairAlongRows(xPairs_.words.data(), yTile, dim_, cols, dim_, dimPairs_);
    packer_.packTransposed(c.transposed.words.data(), xPairs_.words.data(), dimPairs_, cols, kTile);
    c.transposed.widenAcrossRows(packer_.wholePanels(kTile) / panel_ * dimPairs_, panel_);
    pairAcrossRowsInPanels(c.rows.words.data(), panel_, yTile, dim_, cols, dim_,
                           packer_.wholePanels(dim_));
    c.rows.widenAcrossRows(packer_.wholePanels(dim_) / panel_ * pairsOf(cols), panel_);
  }

  void setRows(const float* xTile, int64_t rows) override {
    xTile_ = xTile;
    rows_ = rows;
    xRowsReady_ = false;
    pairAlongRows(xPairs_.words.data(), xTile, dim_, rows, dim_, dimPairs_);
    xPairs_.widenAlongRows(rows * dimPairs_);
  }

  void dot(float* s, int slot) override {
    std::fill(s, s + rows_ * kTile, 0.0f);
    accumulate(s, rows_, xPairs_, dimPairs_, 1, columns_[slot].transposed, dimPairs_, kTile);
  }

  void accumulateRowGrads(float* dx, const float* g, int slot) override {
    const BFloat16Columns& c = columns_[slot];
    pairAlongRows(gPairs_.words.data(), g, kTile, rows_, c.cols, pairsOf(kTile));
    gPairs_.widenAlongRows(rows_ * pairsOf(kTile));
    accumulate(dx, rows_, gPairs_, pairsOf(kTile), 1, c.rows, pairsOf(c.cols), dim_);
  }

  void accumulateColumnGrads(float* dy, const float* g, int slot) override {
    const int64_t cols = columns_[slot].cols, steps = pairsOf(rows_);
    if (!xRowsReady_) {  // the loss-only pass never needs it
      pairAcrossRowsInPanels(xRows_.words.data(), panel_, xTile_, dim_, rows_, dim_,
                             packer_.wholePanels(dim_));
      xRows_.widenAcrossRows(packer_.wholePanels(dim_) / panel_ * steps, panel_);
      xRowsReady_ = true;
    }
    pairAcrossRows(gTransposed_.words.data(), kTile, g, kTile, rows_, cols, kTile);
    gTransposed_.widenAcrossRows(steps, kTile);
    accumulate(dy, cols, gTransposed_, 1, kTile, xRows_, steps, dim_);
  }

 private:
  // out += coef * b over `steps` pairs, b panel-major (panel_ pair words a
  // step). Widened, a step is two: the strides that do not run along steps
  // double with it.
  void accumulate(float* out, int64_t rows, const PairOperand& coef, int64_t coefRowStride,
                  int64_t coefColStride, const PairOperand& b, int64_t steps, int64_t width) const {
    if (native_) {
      bf16::accumulateNative(out, rows, coef.words.data(), coefRowStride, coefColStride,
                             b.words.data(), steps * panel_, panel_, steps, width);
      return;
    }
    widened_(out, rows, coef.widened.data(), coefColStride == 1 ? 2 * coefRowStride : coefRowStride,
             coefColStride, b.widened.data(), 2 * steps * panel_, panel_, 2 * steps, width);
  }

  int64_t panel_;
  PanelPacker<uint32_t> packer_;
  int64_t dim_, dimPairs_;
  bool native_;
  kernels::AccumulateFn<float> widened_;
  BFloat16Columns columns_[kSlots];
  const float* xTile_ = nullptr;
  int64_t rows_ = 0;
  bool xRowsReady_ = false;
  PairOperand xPairs_;       // dot's coefficients: rows x dimPairs
  PairOperand xRows_;        // dY's operand: pairsOf(rows) x dim, panel-major
  PairOperand gPairs_;       // dX's coefficients: rows x pairsOf(kTile)
  PairOperand gTransposed_;  // dY's coefficients, transposed: pairsOf(kTile) x kTile
};

}  // namespace

std::unique_ptr<TileEngine> makeBFloat16Engine(int64_t dim) {
  return std::make_unique<BFloat16Engine>(dim);
}

const char* bfloat16Arithmetic() {
  return bf16::hasNativeDotProducts() ? "avx512-bf16" : "fp32-widened";
}

}  // namespace siglip
