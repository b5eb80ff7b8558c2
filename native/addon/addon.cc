// N-API entry points: lossAndGrads (sync), lossAndGradsAsync (Promise, runs on
// the libuv pool, abortable), loss (loss only), the softmax loss's three
// counterparts and backendInfo. Sync calls read their inputs in place; async
// calls own copies (OwnedInputs).
// The same file makes the CPU module and the CUDA module; backend.h is what
// differs between them.
#include <napi.h>

#include <atomic>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <vector>

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

// A synchronous call cannot be aborted: its thread is the one that would.
CallArguments readSyncArguments(const Napi::CallbackInfo& info, Loss loss) {
  CallArguments args = readCallArguments(info, loss);
  if (!args.signal.IsEmpty())
    throw Napi::TypeError::New(
        info.Env(), "options.signal is read by the async calls only (the *Async functions)");
  return args;
}

template <Loss kLoss>
Napi::Value LossAndGrads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CallArguments args = readSyncArguments(info, kLoss);
  GradientArrays arrays = allocateGradients(env, args.request.inputs);
  Gradients grads = gradientsInto(arrays);
  const double loss = guarded(env, [&] { return runWithGrads<kLoss>(args.request, grads); });
  return lossResult<kLoss>(env, loss, arrays, grads);
}

template <Loss kLoss>
Napi::Value LossOnly(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CallArguments args = readSyncArguments(info, kLoss);
  const double loss = guarded(env, [&] {
    return kLoss == Loss::kSigmoid ? backendLoss(args.request) : backendSoftmaxLoss(args.request);
  });
  return Napi::Number::New(env, loss);
}

// What an async call reads, owned by the call: the caller may detach,
// transfer or shrink its buffers, or let them be collected, while the pass
// runs on another thread. Arrays over a SharedArrayBuffer cannot be detached
// or shrunk and stay alive through the worker's references: read in place.
struct OwnedInputs {
  std::vector<float> x, y;
  std::vector<int32_t> xLabels, yLabels;

  template <typename T, typename Array>
  static const T* own(std::vector<T>& copy, const Array& array, const T* data, bool always) {
    if (!always && !array.ArrayBuffer().IsArrayBuffer()) return data;  // SharedArrayBuffer
    copy.assign(data, data + array.ElementLength());
    return copy.data();
  }

  OwnedInputs(const CallArguments& args, Request& request) {
    LossInputs& in = request.inputs;
    in.x = own(x, args.x, in.x, false);
    in.y = own(y, args.y, in.y, false);
    if (in.positives.kind != PositivePairs::Kind::kLabels) return;
    in.positives.rowLabels = own(xLabels, args.xLabels, in.positives.rowLabels, true);
    in.positives.columnLabels = own(yLabels, args.yLabels, in.positives.columnLabels, true);
  }
};

// The rejection of an aborted call, as Node's own APIs make it.
Napi::Value abortError(Napi::Env env, Napi::Value reason) {
  Napi::Error error = Napi::Error::New(env, "The operation was aborted");
  error.Set("name", "AbortError");
  error.Set("code", "ABORT_ERR");
  if (!reason.IsUndefined()) error.Set("cause", reason);
  return error.Value();
}

// options.signal's 'abort' event sets the flag that the pass polls; the
// listener is removed when the call settles, so a long-lived signal keeps none.
class AbortListener {
 public:
  AbortListener(Napi::Env env, Napi::Object signal) : flag_(std::make_shared<std::atomic<bool>>()) {
    signal_ = Napi::Persistent(signal);
    std::shared_ptr<std::atomic<bool>> flag = flag_;
    listener_ = Napi::Persistent(Napi::Function::New(
        env, [flag](const Napi::CallbackInfo&) { flag->store(true); }, "onAbort"));
    Napi::Object once = Napi::Object::New(env);
    once.Set("once", true);
    call("addEventListener", {Napi::String::New(env, "abort"), listener_.Value(), once});
  }
  const std::atomic<bool>* flag() const { return flag_.get(); }
  Napi::Value reason() const {
    try {
      return signal_.Value().Get("reason");
    } catch (const Napi::Error&) {  // a throwing getter: no cause, not an uncaught error
      return signal_.Env().Undefined();
    }
  }
  // When the call settles. A signal whose methods were replaced meanwhile must
  // not turn the settling into an uncaught exception: its errors are dropped.
  void remove() {
    try {
      call("removeEventListener", {Napi::String::New(signal_.Env(), "abort"), listener_.Value()});
    } catch (const Napi::Error&) {
    }
  }

 private:
  void call(const char* method, std::initializer_list<napi_value> args) {
    Napi::Object signal = signal_.Value();
    Napi::Value function = signal.Get(method);
    if (function.IsFunction()) function.As<Napi::Function>().Call(signal, args);
  }
  std::shared_ptr<std::atomic<bool>> flag_;
  Napi::ObjectReference signal_;
  Napi::FunctionReference listener_;
};

// Owns copies of the inputs (OwnedInputs) and holds the preallocated outputs,
// which no JavaScript can reach before the promise settles.
template <Loss kLoss>
class LossAndGradsWorker : public Napi::AsyncWorker {
 public:
  LossAndGradsWorker(Napi::Env env, const CallArguments& args, const GradientArrays& arrays)
      : Napi::AsyncWorker(env, "siglipLossAndGrads"),
        deferred_(Napi::Promise::Deferred::New(env)),
        request_(args.request),
        inputs_(args, request_),
        grads_(gradientsInto(arrays)) {
    keepAlive_ = Napi::Persistent(Napi::Array::New(env, 4));
    keepAlive_.Value().Set(0u, args.x);  // for SharedArrayBuffer inputs, read in place
    keepAlive_.Value().Set(1u, args.y);
    keepAlive_.Value().Set(2u, arrays.dx);
    keepAlive_.Value().Set(3u, arrays.dy);
    if (!args.signal.IsEmpty()) {
      abort_.emplace(env, args.signal);
      request_.options.cancel = abort_->flag();
    }
  }

  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override {
    try {
      loss_ = runWithGrads<kLoss>(request_, grads_);
    } catch (const Cancelled& e) {
      cancelled_ = true;
      SetError(e.what());
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (abort_) abort_->remove();
    Napi::Array kept = keepAlive_.Value();
    GradientArrays arrays{kept.Get(2u).As<Napi::Float32Array>(),
                          kept.Get(3u).As<Napi::Float32Array>()};
    deferred_.Resolve(lossResult<kLoss>(env, loss_, arrays, grads_));
  }

  void OnError(const Napi::Error& error) override {
    if (abort_) abort_->remove();
    deferred_.Reject(cancelled_ && abort_ ? abortError(Env(), abort_->reason()) : error.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::Reference<Napi::Array> keepAlive_;
  Request request_;
  OwnedInputs inputs_;  // request_'s pointers are into these
  Gradients grads_;
  std::optional<AbortListener> abort_;
  bool cancelled_ = false;
  double loss_ = 0;
};

template <Loss kLoss>
Napi::Value LossAndGradsAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CallArguments args = readCallArguments(info, kLoss);
  if (!args.signal.IsEmpty() && args.signal.Get("aborted").ToBoolean()) {
    auto deferred = Napi::Promise::Deferred::New(env);
    deferred.Reject(abortError(env, args.signal.Get("reason")));
    return deferred.Promise();
  }
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
