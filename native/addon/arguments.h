// Reading and validating the JavaScript arguments of the entry points. Every
// failure throws a TypeError or RangeError that names the argument.
#pragma once

#include <napi.h>

#include "../core/siglip.h"

namespace siglip::addon {

struct CallArguments {
  LossInputs inputs;
  RunOptions options;
  Napi::Float32Array x;  // kept to hold the buffers alive for async calls
  Napi::Float32Array y;
};

// (x, y, dim, tPrime, bias, options?)
CallArguments readCallArguments(const Napi::CallbackInfo& info);

}  // namespace siglip::addon
