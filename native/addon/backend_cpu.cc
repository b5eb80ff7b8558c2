#include <stdexcept>

#include "../core/backend_info.h"
#include "../core/softmax.h"
#include "backend.h"

namespace siglip::addon {
namespace {
// The core's options with options.precision: 'fp32' (default) or 'bf16'.
RunOptions sigmoidOptions(const Request& request) {
  if (request.precision == RequestedPrecision::kTFloat32)
    throw std::invalid_argument(
        "options.precision 'tf32' needs device 'cuda': the CPU has 'fp32' and 'bf16'");
  RunOptions options = request.options;
  options.precision = request.precision == RequestedPrecision::kBFloat16 ? Precision::kBFloat16
                                                                         : Precision::kFloat32;
  return options;
}

SoftmaxInputs softmaxInputs(const Request& request) {
  if (request.precision == RequestedPrecision::kBFloat16 ||
      request.precision == RequestedPrecision::kTFloat32)
    throw std::invalid_argument("options.precision: the softmax loss computes in 'fp32' only");
  const LossInputs& in = request.inputs;
  return {in.x, in.y, in.n, in.dim, in.tPrime};
}
}  // namespace

double backendLoss(const Request& request) {
  return computeLoss(request.inputs, sigmoidOptions(request));
}

double backendLossAndGrads(const Request& request, Gradients& grads) {
  return computeLossAndGrads(request.inputs, grads, sigmoidOptions(request));
}

double backendSoftmaxLoss(const Request& request) {
  return computeSoftmaxLoss(softmaxInputs(request), request.options);
}

double backendSoftmaxLossAndGrads(const Request& request, Gradients& grads) {
  return computeSoftmaxLossAndGrads(softmaxInputs(request), grads, request.options);
}

void describeBackend(Napi::Object& info) {
  const BackendInfo b = backendInfo();
  info.Set("device", "cpu");
  info.Set("engine", b.engine);
  info.Set("isa", b.isa);
  info.Set("threads", b.threads);
  info.Set("bf16", b.bf16);
}

}  // namespace siglip::addon
