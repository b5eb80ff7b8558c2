// Copies of right-hand operands as the tile kernels read them (tile_kernels.h):
// panels of `panel` columns, each panel `steps` rows one after another, zero
// past the valid columns. The fp32 engine packs floats, the bf16 engine pair
// words.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace siglip {

// dst (cols x rows, row stride dstStride) = the transpose of src (rows x
// cols, row stride srcStride), in 8 x 8 blocks: a column of src, a tile row
// apart at each step, would touch a new line per element.
template <typename Elem>
void transposeBlocked(Elem* dst, int64_t dstStride, const Elem* src, int64_t srcStride,
                      int64_t rows, int64_t cols) {
  constexpr int64_t kBlock = 8;
  for (int64_t i0 = 0; i0 < rows; i0 += kBlock)
    for (int64_t j0 = 0; j0 < cols; j0 += kBlock)
      for (int64_t i = i0; i < std::min(i0 + kBlock, rows); ++i)
        for (int64_t j = j0; j < std::min(j0 + kBlock, cols); ++j)
          dst[j * dstStride + i] = src[i * srcStride + j];
}

template <typename Elem>
class PanelPacker {
 public:
  explicit PanelPacker(int64_t panel) : panel_(panel) {}

  int64_t panel() const { return panel_; }
  // width rounded up to whole panels: the width of a packed operand.
  int64_t wholePanels(int64_t width) const { return (width + panel_ - 1) / panel_ * panel_; }

  // src is steps x valid (row stride `stride`); dst is `width` columns.
  void pack(Elem* dst, const Elem* src, int64_t stride, int64_t steps, int64_t valid,
            int64_t width) const {
    for (int64_t p0 = 0; p0 < width; p0 += panel_) {
      const int64_t copied = std::clamp<int64_t>(valid - p0, 0, panel_);
      for (int64_t k = 0; k < steps; ++k) {
        Elem* line = dst + p0 * steps + k * panel_;
        std::memcpy(line, src + k * stride + p0, sizeof(Elem) * copied);
        std::fill(line + copied, line + panel_, Elem{});
      }
    }
  }

  // The same for the transpose of src (valid rows of length steps).
  void packTransposed(Elem* dst, const Elem* src, int64_t steps, int64_t valid,
                      int64_t width) const {
    for (int64_t p0 = 0; p0 < width; p0 += panel_) {
      const int64_t copied = std::clamp<int64_t>(valid - p0, 0, panel_);
      for (int64_t k = 0; k < steps; ++k) {
        Elem* line = dst + p0 * steps + k * panel_;
        for (int64_t c = 0; c < copied; ++c) line[c] = src[(p0 + c) * steps + k];
        std::fill(line + copied, line + panel_, Elem{});
      }
    }
  }

 private:
  int64_t panel_;
};

}  // namespace siglip
