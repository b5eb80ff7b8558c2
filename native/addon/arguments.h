// Reading and validating the JavaScript arguments of the entry points. Every
// failure throws a TypeError or RangeError that names the argument.
#pragma once

#include <napi.h>

#include "../core/siglip.h"

namespace siglip::addon {

enum class RequestedPrecision { kDefault, kFloat32, kBFloat16, kTFloat32 };

// What the computation needs: plain data, safe to use off the JS thread.
struct Request {
  LossInputs inputs;
  RunOptions options;
  RequestedPrecision precision = RequestedPrecision::kDefault;  // options.precision
};

struct CallArguments {
  Request request;
  Napi::Float32Array x;  // the arrays behind request.inputs.x and .y
  Napi::Float32Array y;
  Napi::Int32Array xLabels;  // behind request.inputs.positives' labels, if any
  Napi::Int32Array yLabels;
  Napi::Object signal;  // options.signal (an AbortSignal), if any
};

enum class Loss { kSigmoid, kSoftmax };

// Sigmoid: (x, y, dim, tPrime, bias, options?); softmax: (x, y, dim, tPrime, options?).
CallArguments readCallArguments(const Napi::CallbackInfo& info, Loss loss);

}  // namespace siglip::addon
