// The CUDA module's backend: host arrays through siglip_cuda_run_host.
#include <stdexcept>
#include <string>

#include "../cuda/cuda_problem.h"
#include "backend.h"

namespace siglip::addon {
namespace {

SiglipCudaProblem problemOf(const Request& request) {
  if (request.precision == RequestedPrecision::kFloat32)
    throw std::invalid_argument(
        "options.precision 'fp32' is CPU-only: device 'cuda' computes in 'tf32' or 'bf16'");
  return cudaProblemOf(request.inputs, request.precision == RequestedPrecision::kBFloat16);
}

// First of every call: without a GPU each request, whatever it asks, gets this.
void requireDevice() {
  const std::string problem = noUsableCudaDevice();
  if (!problem.empty()) throw std::runtime_error(problem);
}

// The pass is not cut by an abort (RunOptions::cancel): it is checked before
// and after it, so an aborted call still rejects.
void checkCancelled(const Request& request) {
  if (request.options.cancel != nullptr && request.options.cancel->load()) throw Cancelled();
}

// grads null: loss only.
double run(const Request& request, Gradients* grads) {
  requireDevice();
  const SiglipCudaProblem p = problemOf(request);
  checkCancelled(request);
  SiglipCudaScalars out{};
  const int status =
      siglip_cuda_run_host(&p, request.inputs.x, request.inputs.y, grads ? grads->dx : nullptr,
                           grads ? grads->dy : nullptr, &out);
  if (status == 1) throw std::invalid_argument(siglip_cuda_last_error());
  if (status != 0) throw std::runtime_error(siglip_cuda_last_error());
  checkCancelled(request);
  if (grads != nullptr) {
    grads->dTPrime = out.dTPrime;
    grads->dBias = out.dBias;
  }
  return out.loss;
}

}  // namespace

double backendLoss(const Request& request) { return run(request, nullptr); }

double backendLossAndGrads(const Request& request, Gradients& grads) {
  return run(request, &grads);
}

double backendSoftmaxLoss(const Request&) {
  requireDevice();
  throw std::invalid_argument("the softmax loss runs on device 'cpu' only (no CUDA kernel yet)");
}

double backendSoftmaxLossAndGrads(const Request& request, Gradients&) {
  return backendSoftmaxLoss(request);
}

void describeBackend(Napi::Object& info) {
  info.Set("device", "cuda");
  info.Set("engine", "chunked");
  const int count = siglip_cuda_device_count();
  info.Set("available", count > 0);
  if (count <= 0) {
    info.Set("error", count < 0 ? siglip_cuda_last_error() : "no CUDA device is present");
    return;
  }
  char name[256] = {0};
  int multiprocessors = 0;
  size_t memoryBytes = 0;
  if (siglip_cuda_device_info(name, sizeof name, &multiprocessors, &memoryBytes) == 0) {
    info.Set("name", name);
    info.Set("multiprocessors", multiprocessors);
    info.Set("memoryBytes", static_cast<double>(memoryBytes));
  }
  Napi::Object gemm = Napi::Object::New(info.Env());
  gemm.Set("bf16", siglip_cuda_gemm(SIGLIP_CUDA_BF16));
  gemm.Set("tf32", siglip_cuda_gemm(SIGLIP_CUDA_TF32));
  info.Set("gemm", gemm);
}

}  // namespace siglip::addon
