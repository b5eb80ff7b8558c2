#include <stdexcept>

#include "../core/backend_info.h"
#include "../core/softmax.h"
#include "backend.h"

namespace siglip::addon {
namespace {
void requireFloat32(const Request& request) {
  if (request.precision == Precision::kBFloat16 || request.precision == Precision::kTFloat32)
    throw std::invalid_argument(
        "options.precision 'bf16' and 'tf32' need device 'cuda': the CPU computes in fp32");
}

SoftmaxInputs softmaxInputs(const Request& request) {
  requireFloat32(request);
  const LossInputs& in = request.inputs;
  return {in.x, in.y, in.n, in.dim, in.tPrime};
}
}  // namespace

double backendLoss(const Request& request) {
  requireFloat32(request);
  return computeLoss(request.inputs, request.options);
}

double backendLossAndGrads(const Request& request, Gradients& grads) {
  requireFloat32(request);
  return computeLossAndGrads(request.inputs, grads, request.options);
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
}

}  // namespace siglip::addon
