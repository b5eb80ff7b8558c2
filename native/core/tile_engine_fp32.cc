// The built-in fp32 engine: tile_kernel.h over floats, through the kernels
// for this CPU's instruction set (tile_kernels.h).
#include <algorithm>
#include <cstring>
#include <vector>

#include "tile_engine.h"
#include "tile_kernel.h"
#include "tile_kernels.h"

namespace siglip {
namespace {

using kernel::kPanel;
using Operand = kernel::Operand<float>;

// Row-major steps x width: one panel every kPanel floats.
Operand rowMajor(const float* data, int64_t width) { return {data, kPanel, width}; }
// Packed: panels of `steps` rows of kPanel floats, one after another.
Operand panelMajor(const float* data, int64_t steps) { return {data, steps * kPanel, kPanel}; }

// Panel-major copy of src (steps x valid, row stride `stride`), zero beyond
// `valid` up to `width` columns.
void packPanels(float* dst, const float* src, int64_t stride, int64_t steps, int64_t valid,
                int64_t width) {
  for (int64_t p0 = 0; p0 < width; p0 += kPanel) {
    const int64_t copied = std::clamp<int64_t>(valid - p0, 0, kPanel);
    for (int64_t k = 0; k < steps; ++k) {
      float* line = dst + p0 * steps + k * kPanel;
      std::memcpy(line, src + k * stride + p0, sizeof(float) * copied);
      std::fill(line + copied, line + kPanel, 0.0f);
    }
  }
}

// The same for the transpose of src (valid rows of length steps).
void packPanelsTransposed(float* dst, const float* src, int64_t steps, int64_t valid,
                          int64_t width) {
  for (int64_t p0 = 0; p0 < width; p0 += kPanel) {
    const int64_t copied = std::clamp<int64_t>(valid - p0, 0, kPanel);
    for (int64_t k = 0; k < steps; ++k) {
      float* line = dst + p0 * steps + k * kPanel;
      for (int64_t c = 0; c < copied; ++c) line[c] = src[(p0 + c) * steps + k];
      std::fill(line + copied, line + kPanel, 0.0f);
    }
  }
}

int64_t wholePanels(int64_t width) { return (width + kPanel - 1) / kPanel * kPanel; }

// One column tile (kTile rows of y), packed.
struct Float32Columns {
  int64_t cols = 0;
  std::vector<float> transposed;  // dot's operand: dim x kTile, panel-major
  std::vector<float> rows;        // dX's operand: cols x dim, panel-major
};

// Two column slots: X tiles and dX rows are streamed half as often; measured
// 2-3 % faster than one slot at N = 8192 and slower with four (bench/engine-bench.cc).
class Float32Engine final : public TileEngine {
 public:
  static constexpr int kSlots = 2;

  explicit Float32Engine(int64_t dim) : dim_(dim), accumulate_(kernels::forThisCpu().float32) {
    for (auto& c : columns_) {
      c.transposed.resize(dim * kTile);
      c.rows.resize(kTile * wholePanels(dim));
    }
  }

  int columnSlots() const override { return kSlots; }

  void setColumns(int slot, const float* yTile, int64_t cols) override {
    Float32Columns& c = columns_[slot];
    c.cols = cols;
    packPanelsTransposed(c.transposed.data(), yTile, dim_, cols, kTile);
    packPanels(c.rows.data(), yTile, dim_, cols, dim_, wholePanels(dim_));
  }

  void setRows(const float* xTile, int64_t rows) override {
    xTile_ = xTile;
    rows_ = rows;
  }

  void dot(float* s, int slot) override {
    std::fill(s, s + rows_ * kTile, 0.0f);
    accumulate(s, rows_, xTile_, dim_, 1, panelMajor(columns_[slot].transposed.data(), dim_), dim_,
               kTile);
  }

  void accumulateRowGrads(float* dx, const float* g, int slot) override {
    const Float32Columns& c = columns_[slot];
    accumulate(dx, rows_, g, kTile, 1, panelMajor(c.rows.data(), c.cols), c.cols, dim_);
  }

  void accumulateColumnGrads(float* dy, const float* g, int slot) override {
    accumulate(dy, columns_[slot].cols, g, 1, kTile, rowMajor(xTile_, dim_), rows_, dim_);
  }

 private:
  void accumulate(float* out, int64_t rows, const float* coef, int64_t coefRowStride,
                  int64_t coefColStride, Operand b, int64_t steps, int64_t width) const {
    accumulate_(out, rows, coef, coefRowStride, coefColStride, b.data, b.panelStride, b.rowStride,
                steps, width);
  }

  int64_t dim_;
  kernels::AccumulateFn<float> accumulate_;
  Float32Columns columns_[kSlots];
  const float* xTile_ = nullptr;
  int64_t rows_ = 0;
};

}  // namespace

std::unique_ptr<TileEngine> makeFloat32Engine(int64_t dim) {
  return std::make_unique<Float32Engine>(dim);
}

}  // namespace siglip
