// libFuzzer target over the core's entry points: shapes, offsets, options,
// labels, blocks of a larger batch and non-finite values, decoded from the
// fuzzer's bytes. Bad input must throw std::invalid_argument; anything else
// must return a finite or NaN result, never crash (ASan + UBSan watch).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

#include "../core/siglip.h"
#include "../core/softmax.h"

namespace {

// Reads the input front to back; past its end every read is 0.
class Bytes {
 public:
  Bytes(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t next() { return at_ < size_ ? data_[at_++] : 0; }
  // Mostly ordinary values, sometimes the ones that break arithmetic.
  float value() {
    const uint8_t b = next();
    switch (b) {
      case 255:
        return std::numeric_limits<float>::quiet_NaN();
      case 254:
        return std::numeric_limits<float>::infinity();
      case 253:
        return -std::numeric_limits<float>::infinity();
      case 252:
        return std::numeric_limits<float>::max();
      case 251:
        return std::numeric_limits<float>::denorm_min();
      default:
        return (float(b) - 125.0f) / 64.0f;
    }
  }
  double scalar() {
    const uint8_t b = next();
    if (b == 255) return std::numeric_limits<double>::quiet_NaN();
    if (b == 254) return std::numeric_limits<double>::infinity();
    return (double(b) - 128.0) / 4.0;  // tPrime up to 32: some past kMaxLogitScale
  }

 private:
  const uint8_t* data_;
  size_t size_, at_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Bytes in(data, size);
  const int64_t n = 1 + in.next() % 160, m = 1 + in.next() % 160, dim = 1 + in.next() % 40;
  const uint8_t mode = in.next();
  siglip::RunOptions options;
  options.threads = 1 + mode % 3;
  options.precision = (mode & 8) ? siglip::Precision::kBFloat16 : siglip::Precision::kFloat32;
  std::vector<float> x(n * dim), y(m * dim);
  for (float& v : x) v = in.value();
  for (float& v : y) v = in.value();
  std::vector<int32_t> xLabels(n), yLabels(m);
  for (int32_t& l : xLabels) l = int32_t(in.next() % 8) - 2;
  for (int32_t& l : yLabels) l = int32_t(in.next() % 8) - 2;

  siglip::LossInputs loss{x.data(), y.data(), n, m, dim, in.scalar(), in.scalar(), {}};
  const uint8_t kind = in.next();
  loss.positives.kind = static_cast<siglip::PositivePairs::Kind>(kind % 3);
  loss.positives.offset = int64_t(int8_t(in.next())) * 3;
  loss.positives.rowLabels = xLabels.data();
  loss.positives.columnLabels = yLabels.data();
  if (kind & 16) loss.normalizer = double(in.next());  // a block of a larger batch
  std::vector<float> dx(n * dim, 7.0f), dy(m * dim, 7.0f);
  siglip::Gradients grads{dx.data(), dy.data()};
  grads.accumulate = (kind & 32) != 0;
  const int64_t pairs = std::min(n, m);  // the softmax loss pairs x_i with y_i
  double result = 0;
  try {
    switch ((mode >> 4) % 4) {
      case 0:
        result = siglip::computeLoss(loss, options);
        break;
      case 1:
        result = siglip::computeLossAndGrads(loss, grads, options);
        break;
      case 2:
        result = siglip::computeSoftmaxLoss({x.data(), y.data(), pairs, dim, loss.tPrime}, options);
        break;
      default:
        result = siglip::computeSoftmaxLossAndGrads({x.data(), y.data(), pairs, dim, loss.tPrime},
                                                    grads, options);
    }
  } catch (const std::invalid_argument&) {
    return 0;  // a clear error is a valid answer to bad input
  }
  // Finite or NaN; +-inf only from infinite inputs.
  if (std::isinf(result)) {
    bool infiniteInput = false;
    for (float v : x) infiniteInput = infiniteInput || std::isinf(v) || std::fabs(v) > 1e30f;
    for (float v : y) infiniteInput = infiniteInput || std::isinf(v) || std::fabs(v) > 1e30f;
    if (!infiniteInput) __builtin_trap();
  }
  return 0;
}
