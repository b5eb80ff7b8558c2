// The fp32 engine through OpenBLAS, single-threaded inside our workers (the
// ring schedule owns the parallelism). Built with -DSIGLIP_BLAS=ON; the
// built-in kernels are the default (see the engine table in the README).
#include <cblas.h>

#include <algorithm>
#include <mutex>
#include <vector>

#include "tile_engine.h"

extern "C" void openblas_set_num_threads(int threads);

namespace siglip {
namespace {

class OpenBlasEngine final : public TileEngine {
 public:
  explicit OpenBlasEngine(int64_t dim) : dim_(dim), yTransposed_(dim * kTile) {
    static std::once_flag once;
    std::call_once(once, [] { openblas_set_num_threads(1); });
  }

  int columnSlots() const override { return 1; }

  void setColumns(int, const float* yTile, int64_t cols) override {
    yTile_ = yTile;
    cols_ = cols;
    for (int64_t k = 0; k < dim_; ++k) {
      float* line = yTransposed_.data() + k * kTile;
      for (int64_t c = 0; c < cols; ++c) line[c] = yTile[c * dim_ + k];
      std::fill(line + cols, line + kTile, 0.0f);
    }
  }

  void setRows(const float* xTile, int64_t rows) override {
    xTile_ = xTile;
    rows_ = rows;
  }

  void dot(float* s, int) override {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows_, kTile, dim_, 1.0f, xTile_, dim_,
                yTransposed_.data(), kTile, 0.0f, s, kTile);
  }

  void accumulateRowGrads(float* dx, const float* g, int) override {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows_, dim_, cols_, 1.0f, g, kTile,
                yTile_, dim_, 1.0f, dx, dim_);
  }

  void accumulateColumnGrads(float* dy, const float* g, int) override {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, cols_, dim_, rows_, 1.0f, g, kTile, xTile_,
                dim_, 1.0f, dy, dim_);
  }

 private:
  int64_t dim_, cols_ = 0, rows_ = 0;
  const float* yTile_ = nullptr;
  const float* xTile_ = nullptr;
  std::vector<float> yTransposed_;  // dim x kTile
};

}  // namespace

std::unique_ptr<TileEngine> makeFloat32Engine(int64_t dim) {
  return std::make_unique<OpenBlasEngine>(dim);
}

}  // namespace siglip
