// N-API entry points: lossAndGrads (sync), lossAndGradsAsync (Promise, runs on
// the libuv pool), loss (loss only), the softmax loss's three counterparts and
// backendInfo. Inputs are read in place.
// The same file makes the CPU module and the CUDA module; backend.h is what
// differs between them.
#include <napi.h>

#include <exception>
#include <stdexcept>

#include "arguments.h"
#include "backend.h"

namespace siglip::addon {
namespace {

struct GradientArrays {
  Napi::Float32Array dx;
  Napi::Float32Array dy;
};

GradientArrays allocateGradients(Napi::Env env, const LossInputs& in) {
  return {Napi::Float32Array::New(env, static_cast<size_t>(in.n * in.dim)),
          Napi::Float32Array::New(env, static_cast<size_t>(in.m * in.dim))};
}

Napi::Object resultObject(Napi::Env env, double loss, const GradientArrays& arrays,
                          const Gradients& grads) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("loss", loss);
  result.Set("dx", arrays.dx);
  result.Set("dy", arrays.dy);
  result.Set("dTPrime", grads.dTPrime);
  result.Set("dBias", grads.dBias);
  return result;
}

Gradients gradientsInto(GradientArrays arrays) {
  Gradients grads;
  grads.dx = arrays.dx.Data();
  grads.dy = arrays.dy.Data();
  return grads;
}

// Core errors after validation are internal (std::invalid_argument) or
// allocation failures; both surface as JavaScript errors, never a crash.
template <typename Compute>
auto guarded(Napi::Env env, Compute&& compute) -> decltype(compute()) {
  try {
    return compute();
  } catch (const std::invalid_argument& e) {
    throw Napi::RangeError::New(env, e.what());
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
}

template <Loss kLoss>
double runWithGrads(const Request& request, Gradients& grads) {
  return kLoss == Loss::kSigmoid ? backendLossAndGrads(request, grads)
                                 : backendSoftmaxLossAndGrads(request, grads);
}

template <Loss kLoss>
Napi::Object lossResult(Napi::Env env, double loss, const GradientArrays& arrays,
                        const Gradients& grads) {
  Napi::Object result = resultObject(env, loss, arrays, grads);
  if (kLoss == Loss::kSoftmax) result.Delete("dBias");  // this loss has no bias
  return result;
}

template <Loss kLoss>
Napi::Value LossAndGrads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CallArguments args = readCallArguments(info, kLoss);
  GradientArrays arrays = allocateGradients(env, args.request.inputs);
  Gradients grads = gradientsInto(arrays);
  const double loss = guarded(env, [&] { return runWithGrads<kLoss>(args.request, grads); });
  return lossResult<kLoss>(env, loss, arrays, grads);
}

template <Loss kLoss>
Napi::Value LossOnly(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CallArguments args = readCallArguments(info, kLoss);
  const double loss = guarded(env, [&] {
    return kLoss == Loss::kSigmoid ? backendLoss(args.request) : backendSoftmaxLoss(args.request);
  });
  return Napi::Number::New(env, loss);
}

// Holds references to the inputs and the preallocated outputs for the
// duration of the work, so the garbage collector cannot free them.
template <Loss kLoss>
class LossAndGradsWorker : public Napi::AsyncWorker {
 public:
  LossAndGradsWorker(Napi::Env env, const CallArguments& args, const GradientArrays& arrays)
      : Napi::AsyncWorker(env, "siglipLossAndGrads"),
        deferred_(Napi::Promise::Deferred::New(env)),
        request_(args.request),
        grads_(gradientsInto(arrays)) {
    keepAlive_ = Napi::Persistent(Napi::Array::New(env, 4));
    keepAlive_.Value().Set(0u, args.x);
    keepAlive_.Value().Set(1u, args.y);
    keepAlive_.Value().Set(2u, arrays.dx);
    keepAlive_.Value().Set(3u, arrays.dy);
  }

  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override {
    try {
      loss_ = runWithGrads<kLoss>(request_, grads_);
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Array kept = keepAlive_.Value();
    GradientArrays arrays{kept.Get(2u).As<Napi::Float32Array>(),
                          kept.Get(3u).As<Napi::Float32Array>()};
    deferred_.Resolve(lossResult<kLoss>(env, loss_, arrays, grads_));
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::Reference<Napi::Array> keepAlive_;
  Request request_;  // its pointers stay valid: keepAlive_ holds the arrays
  Gradients grads_;
  double loss_ = 0;
};

template <Loss kLoss>
Napi::Value LossAndGradsAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CallArguments args = readCallArguments(info, kLoss);
  GradientArrays arrays = allocateGradients(env, args.request.inputs);
  auto* worker = new LossAndGradsWorker<kLoss>(env, args, arrays);  // deletes itself
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

Napi::Value BackendInfo(const Napi::CallbackInfo& info) {
  Napi::Object result = Napi::Object::New(info.Env());
  guarded(info.Env(), [&] { describeBackend(result); });  // e.g. a bad SIGLIP_ISA
  return result;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("lossAndGrads",
              Napi::Function::New(env, LossAndGrads<Loss::kSigmoid>, "lossAndGrads"));
  exports.Set("lossAndGradsAsync",
              Napi::Function::New(env, LossAndGradsAsync<Loss::kSigmoid>, "lossAndGradsAsync"));
  exports.Set(
      "softmaxLossAndGradsAsync",
      Napi::Function::New(env, LossAndGradsAsync<Loss::kSoftmax>, "softmaxLossAndGradsAsync"));
  exports.Set("loss", Napi::Function::New(env, LossOnly<Loss::kSigmoid>, "loss"));
  exports.Set("softmaxLossAndGrads",
              Napi::Function::New(env, LossAndGrads<Loss::kSoftmax>, "softmaxLossAndGrads"));
  exports.Set("softmaxLoss", Napi::Function::New(env, LossOnly<Loss::kSoftmax>, "softmaxLoss"));
  exports.Set("backendInfo", Napi::Function::New(env, BackendInfo, "backendInfo"));
  return exports;
}

}  // namespace
}  // namespace siglip::addon

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return siglip::addon::Init(env, exports);
}
NODE_API_MODULE(siglip, InitModule)
