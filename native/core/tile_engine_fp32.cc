// The built-in fp32 engine: tile_kernel.h over floats, through the kernels
// for this CPU's instruction set (tile_kernels.h).
#include <algorithm>
#include <vector>

#include "panel_packer.h"
#include "tile_engine.h"
#include "tile_kernel.h"
#include "tile_kernels.h"

namespace siglip {
namespace {

// A packed right-hand operand as the kernels read it (tile_kernels.h).
struct Layout {
  const float* data;
  int64_t panelStride, rowStride;
};

// One column tile (kTile rows of y), packed.
struct Float32Columns {
  int64_t cols = 0;
  std::vector<float> transposed;  // dot's operand: dim x kTile
  std::vector<float> rows;        // dX's operand: cols x dim
};

// Two column slots: X tiles and dX rows are streamed half as often; measured
// 2-3 % faster than one slot at N = 8192 and slower with four (bench/engine-bench.cc).
class Float32Engine final : public TileEngine {
 public:
  static constexpr int kSlots = 2;

  explicit Float32Engine(int64_t dim)
      : dim_(dim),
        accumulate_(kernels::forThisCpu().float32),
        packer_(kernels::forThisCpu().panel),
        xRows_(kTile * packer_.wholePanels(dim)),
        transposeG_(kernel::panelStaysInL1(packer_.panel() * sizeof(float))) {
    if (transposeG_) gTransposed_.resize(kTile * kTile);
    for (auto& c : columns_) {
      c.transposed.resize(dim * packer_.wholePanels(kTile));
      c.rows.resize(kTile * packer_.wholePanels(dim));
    }
  }

  int columnSlots() const override { return kSlots; }

  void setColumns(int slot, const float* yTile, int64_t cols) override {
    Float32Columns& c = columns_[slot];
    c.cols = cols;
    packer_.packTransposed(c.transposed.data(), yTile, dim_, cols, kTile);
    packer_.pack(c.rows.data(), yTile, dim_, cols, dim_, packer_.wholePanels(dim_));
  }

  void setRows(const float* xTile, int64_t rows) override {
    xTile_ = xTile;
    rows_ = rows;
    xRowsReady_ = false;
  }

  void dot(float* s, int slot) override {
    std::fill(s, s + rows_ * kTile, 0.0f);
    accumulate(s, rows_, xTile_, dim_, 1, packed(columns_[slot].transposed.data(), dim_), dim_,
               kTile);
  }

  void accumulateRowGrads(float* dx, const float* g, int slot) override {
    const Float32Columns& c = columns_[slot];
    accumulate(dx, rows_, g, kTile, 1, packed(c.rows.data(), c.cols), c.cols, dim_);
  }

  void accumulateColumnGrads(float* dy, const float* g, int slot) override {
    // dY's operand is the row tile, packed like Y's rows once it is needed
    // (never by the loss-only pass): in place, each step of a block would
    // start a new row of x.
    if (!xRowsReady_) {
      packer_.pack(xRows_.data(), xTile_, dim_, rows_, dim_, packer_.wholePanels(dim_));
      xRowsReady_ = true;
    }
    const int64_t cols = columns_[slot].cols;
    const Layout xRows = packed(xRows_.data(), rows_);
    if (!transposeG_) {
      // The kernel packs this column strip of G per row block itself.
      accumulate(dy, cols, g, 1, kTile, xRows, rows_, dim_);
      return;
    }
    // Where a panel stays in L1, rows of coefficients stream past it, as in
    // dX: G's columns as rows.
    transposeBlocked(gTransposed_.data(), kTile, g, kTile, rows_, cols);
    accumulate(dy, cols, gTransposed_.data(), kTile, 1, xRows, rows_, dim_);
  }

 private:
  Layout packed(const float* data, int64_t steps) const {
    return {data, steps * packer_.panel(), packer_.panel()};
  }

  void accumulate(float* out, int64_t rows, const float* coef, int64_t coefRowStride,
                  int64_t coefColStride, Layout b, int64_t steps, int64_t width) const {
    accumulate_(out, rows, coef, coefRowStride, coefColStride, b.data, b.panelStride, b.rowStride,
                steps, width);
  }

  int64_t dim_;
  kernels::AccumulateFn<float> accumulate_;
  PanelPacker<float> packer_;
  Float32Columns columns_[kSlots];
  const float* xTile_ = nullptr;
  int64_t rows_ = 0;
  std::vector<float> xRows_;  // dY's operand: rows x dim
  bool transposeG_;           // dY reads G^T: where panels stay in L1 (tile_kernel.h)
  std::vector<float> gTransposed_;
  bool xRowsReady_ = false;
};

}  // namespace

std::unique_ptr<TileEngine> makeFloat32Engine(int64_t dim) {
  return std::make_unique<Float32Engine>(dim);
}

}  // namespace siglip
