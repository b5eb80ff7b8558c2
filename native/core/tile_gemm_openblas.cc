// Tile products through OpenBLAS, single-threaded inside our workers (the
// ring schedule owns the parallelism). Built with -DSIGLIP_BLAS=ON; the
// built-in kernels are the default (see the engine table in the README).
#include <cblas.h>

#include <mutex>

#include "tile_gemm.h"

extern "C" void openblas_set_num_threads(int threads);

namespace siglip {
namespace {
void singleThreaded() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}
}  // namespace

void tileDot(float* s, const float* a, int64_t rows, const float* bPacked, int64_t dim,
             int64_t width) {
  singleThreaded();
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, width, dim, 1.0f, a, dim, bPacked,
              width, 0.0f, s, width);
}

void tileAccumulate(float* out, int64_t rows, const float* coef, int64_t coefRowStride,
                    int64_t coefColStride, const float* b, int64_t depth, int64_t dim) {
  singleThreaded();
  // coef is G (row-major, ld = coefRowStride) or G^T viewed through G (ld = coefColStride).
  const bool transposed = coefRowStride == 1 && coefColStride != 1;
  cblas_sgemm(CblasRowMajor, transposed ? CblasTrans : CblasNoTrans, CblasNoTrans, rows, dim, depth,
              1.0f, coef, transposed ? coefColStride : coefRowStride, b, dim, 1.0f, out, dim);
}

}  // namespace siglip
