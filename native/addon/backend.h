// What one module computes with. addon.cc is shared by the CPU and the CUDA
// module; each links one implementation of these.
#pragma once

#include <napi.h>

#include "../core/siglip.h"
#include "arguments.h"

namespace siglip::addon {

// Both throw std::invalid_argument for a bad request, std::exception otherwise.
double backendLoss(const Request& request);
double backendLossAndGrads(const Request& request, Gradients& grads);
double backendSoftmaxLoss(const Request& request);
double backendSoftmaxLossAndGrads(const Request& request, Gradients& grads);

// Fills backendInfo()'s object.
void describeBackend(Napi::Object& info);

}  // namespace siglip::addon
