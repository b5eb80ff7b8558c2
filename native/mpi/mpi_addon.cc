// N-API layer of the MPI module (build/Release/mpi/siglip_mpi.node): init and
// finalize, the ring calls (sync and async) over this rank's rows, and the
// gradient all-reduce and weight broadcast of data-parallel training. The
// ring itself is rank_ring.cc; the arguments are read by the addon's parser.
#include <mpi.h>
#include <napi.h>

#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "../addon/arguments.h"
#include "block_backend.h"
#include "call_order.h"
#include "collective_check.h"
#include "rank_ring.h"
#include "stall_deadline.h"

namespace siglip::mpi {
namespace {

using addon::CallArguments;
using addon::Loss;
using addon::readCallArguments;
using addon::Request;
using addon::RequestedPrecision;

struct World {
  bool initialized = false;
  bool finalized = false;
  int rank = 0, size = 1;
  MPI_Comm ring = MPI_COMM_NULL;     // the loss calls (any thread, in ticket order)
  MPI_Comm tensors = MPI_COMM_NULL;  // gradients and weights (the JS thread)
  CallOrder order;
  RingBuffers ringBuffers;  // used by the call holding its turn of `order`
};

World& world() {
  static World w;
  return w;
}

void requireOpen(Napi::Env env) {
  if (!world().initialized || world().finalized)
    throw Napi::Error::New(env,
                           world().finalized ? "the MPI world is closed" : "initWorld() first");
}

void finalizeWorld() {
  World& w = world();
  if (!w.initialized || w.finalized) return;
  w.finalized = true;
  MPI_Comm_free(&w.ring);
  MPI_Comm_free(&w.tensors);
  MPI_Finalize();
  w.ringBuffers = {};
}

Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  World& w = world();
  if (w.finalized)
    throw Napi::Error::New(env, "MPI was finalized in this process and cannot start again");
  if (!w.initialized) {
    // MULTIPLE: blocks' transfers are driven by a helper thread, async calls
    // run on the libuv pool, and gradients are reduced on the JS thread.
    int provided = 0, already = 0;
    MPI_Initialized(&already);
    if (already)
      MPI_Query_thread(&provided);
    else
      MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided);
    if (provided < MPI_THREAD_MULTIPLE) {
      if (!already) MPI_Finalize();
      throw Napi::Error::New(
          env, "this MPI does not grant MPI_THREAD_MULTIPLE, which siglip-loss/mpi needs");
    }
    MPI_Comm_dup(MPI_COMM_WORLD, &w.ring);
    MPI_Comm_dup(MPI_COMM_WORLD, &w.tensors);
    MPI_Comm_rank(w.ring, &w.rank);
    MPI_Comm_size(w.ring, &w.size);
    w.initialized = true;
    env.AddCleanupHook([] { finalizeWorld(); });
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("rank", w.rank);
  result.Set("size", w.size);
  char version[MPI_MAX_LIBRARY_VERSION_STRING] = {0};
  int length = 0;
  MPI_Get_library_version(version, &length);
  result.Set("library", std::string(version, strnlen(version, sizeof version)));
  return result;
}

Napi::Value Finalize(const Napi::CallbackInfo& info) {
  if (!world().order.idle())
    throw Napi::Error::New(info.Env(), "world.close(): a loss call is still in flight");
  finalizeWorld();
  return info.Env().Undefined();
}

// A rank that exits with an error ends the job: MPI_Finalize would wait for
// ranks that are waiting for this one.
Napi::Value Abort(const Napi::CallbackInfo& info) {
  const int code = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 1;
  if (world().initialized && !world().finalized) MPI_Abort(MPI_COMM_WORLD, code == 0 ? 1 : code);
  return info.Env().Undefined();
}

enum Call : int32_t { kLossOnly = 0, kLossAndGrads = 1 };

// One rank's call, read and checked locally; its own failure (if any) is kept
// to be rethrown after every rank has heard of it.
struct PreparedCall {
  CallSignature signature;
  Request request;
  BlockDevice device = BlockDevice::kCpu;
  std::vector<float> x, y;  // copies: async calls must not see later writes
  std::vector<int32_t> xLabels, yLabels;
  const float* xData = nullptr;
  const float* yData = nullptr;
  std::unique_ptr<Napi::ObjectReference> ownError;
};

BlockDevice readDevice(Napi::Env env, Napi::Value options) {
  Napi::Value device =
      options.IsObject() ? options.As<Napi::Object>().Get("device") : env.Undefined();
  const std::string name = device.IsString() ? device.As<Napi::String>().Utf8Value() : "";
  if (device.IsUndefined() || name == "cpu") return BlockDevice::kCpu;
  if (name == "cuda") return BlockDevice::kCuda;
  if (name == "auto") return cudaUnavailable().empty() ? BlockDevice::kCuda : BlockDevice::kCpu;
  throw Napi::RangeError::New(env, "options.device must be 'cpu', 'cuda' or 'auto'");
}

// Device, precision and the device's availability, as a single-process call checks them.
void checkDevice(Napi::Env env, const PreparedCall& call) {
  const RequestedPrecision p = call.request.precision;
  if (call.device == BlockDevice::kCpu && p == RequestedPrecision::kTFloat32)
    throw Napi::RangeError::New(
        env, "options.precision 'tf32' needs device 'cuda': the CPU has 'fp32' and 'bf16'");
  if (call.device == BlockDevice::kCuda) {
    if (p == RequestedPrecision::kFloat32)
      throw Napi::RangeError::New(
          env, "options.precision 'fp32' is CPU-only: device 'cuda' computes in 'tf32' or 'bf16'");
    if (call.request.inputs.positives.kind == PositivePairs::Kind::kLabels)
      throw Napi::RangeError::New(env, "options.positives 'labels' runs on device 'cpu' only");
    const std::string why = cudaUnavailable();
    if (!why.empty()) throw Napi::Error::New(env, why);
  }
}

std::unique_ptr<PreparedCall> prepare(const Napi::CallbackInfo& info, Call kind, bool copy) {
  auto call = std::make_unique<PreparedCall>();
  CallSignature& s = call->signature;
  s.call = kind;
  try {
    CallArguments args = readCallArguments(info, Loss::kSigmoid);
    if (!args.signal.IsEmpty())
      throw Napi::TypeError::New(info.Env(),
                                 "options.signal cannot stop a call across ranks (options.world): "
                                 "the other ranks would wait for this one");
    call->request = args.request;
    call->device = readDevice(info.Env(), info[5]);
    checkDevice(info.Env(), *call);
    const LossInputs& in = call->request.inputs;
    if (copy) {
      call->x.assign(in.x, in.x + in.n * in.dim);
      call->y.assign(in.y, in.y + in.m * in.dim);
      call->xData = call->x.data();
      call->yData = call->y.data();
      PositivePairs& positives = call->request.inputs.positives;
      if (positives.kind == PositivePairs::Kind::kLabels) {
        call->xLabels.assign(positives.rowLabels, positives.rowLabels + in.n);
        call->yLabels.assign(positives.columnLabels, positives.columnLabels + in.m);
        positives.rowLabels = call->xLabels.data();
        positives.columnLabels = call->yLabels.data();
      }
    } else {
      call->xData = in.x;
      call->yData = in.y;
    }
    s.rows = in.n;
    s.columns = in.m;
    s.dim = in.dim;
    s.tPrime = in.tPrime;
    s.bias = in.bias;
    s.positives = static_cast<int32_t>(in.positives.kind);
    s.positiveOffset = in.positives.offset;
    s.precision = static_cast<int32_t>(call->request.precision);
    s.device = static_cast<int32_t>(call->device);
  } catch (const Napi::Error& e) {
    s.fail(CallSignature::kError, e.Message());
    call->ownError = std::make_unique<Napi::ObjectReference>(Napi::Persistent(e.Value()));
  }
  return call;
}

// The collective check and the ring; throws WorldArgumentError or what a
// block throws. dx, dy null: loss only.
RingResult runCall(const PreparedCall& call, float* dx, float* dy) {
  bool ownError = false;
  const RingLayout layout = checkCollectively(world().ring, call.signature, &ownError);
  const LossInputs& in = call.request.inputs;
  RankInputs rank;
  rank.x = call.xData;
  rank.y = call.yData;
  rank.xLabels = in.positives.rowLabels;
  rank.yLabels = in.positives.columnLabels;
  rank.dim = in.dim;
  rank.tPrime = in.tPrime;
  rank.bias = in.bias;
  rank.positives = in.positives.kind;
  rank.positiveOffset = in.positives.offset;
  RunOptions options = call.request.options;
  options.precision = call.request.precision == RequestedPrecision::kBFloat16 ? Precision::kBFloat16
                                                                              : Precision::kFloat32;
  const bool bf16 = call.request.precision == RequestedPrecision::kBFloat16;
  const BlockFn block = call.device == BlockDevice::kCuda
                            ? BlockFn([bf16](const LossInputs& b, float* bdx, float* bdy) {
                                return cudaBlock(b, bf16, bdx, bdy);
                              })
                            : BlockFn([options](const LossInputs& b, float* bdx, float* bdy) {
                                return cpuBlock(b, options, bdx, bdy);
                              });
  return runRankRing(world().ring, rank, layout, dx, dy, block, world().ringBuffers);
}

// A failed check as the JavaScript error every rank throws.
[[noreturn]] void throwWorldError(Napi::Env env, const PreparedCall& call,
                                  const WorldArgumentError& e) {
  if (call.ownError) throw Napi::Error(env, call.ownError->Value());
  if (e.kind == CallSignature::kRangeError) throw Napi::RangeError::New(env, e.what());
  throw Napi::Error::New(env, e.what());
}

Napi::Object resultObject(Napi::Env env, const RingResult& r, Napi::Value dx, Napi::Value dy) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("loss", r.loss);
  if (!dx.IsUndefined()) {
    result.Set("dx", dx);
    result.Set("dy", dy);
    result.Set("dTPrime", r.dTPrime);
    result.Set("dBias", r.dBias);
    result.Set("rankDTPrime", r.rankDTPrime);
    result.Set("rankDBias", r.rankDBias);
  }
  Napi::Object ring = Napi::Object::New(env);
  ring.Set("computeSeconds", r.computeSeconds);
  ring.Set("wallSeconds", r.wallSeconds);
  ring.Set("bytesSent", static_cast<double>(r.bytesSent));
  result.Set("ring", ring);
  return result;
}

struct OutputArrays {
  Napi::Float32Array dx, dy;
};

OutputArrays outputsFor(Napi::Env env, const PreparedCall& call) {
  const LossInputs& in = call.request.inputs;
  // A rank with bad arguments never computes: empty arrays stand in.
  const bool ok = !call.ownError;
  return {Napi::Float32Array::New(env, ok ? static_cast<size_t>(in.n * in.dim) : 0),
          Napi::Float32Array::New(env, ok ? static_cast<size_t>(in.m * in.dim) : 0)};
}

Napi::Value SyncCall(const Napi::CallbackInfo& info, Call kind) {
  Napi::Env env = info.Env();
  requireOpen(env);
  std::unique_ptr<PreparedCall> call = prepare(info, kind, false);
  CallOrder::Turn turn(world().order, world().order.take());
  OutputArrays out = outputsFor(env, *call);
  try {
    const RingResult r = kind == kLossAndGrads ? runCall(*call, out.dx.Data(), out.dy.Data())
                                               : runCall(*call, nullptr, nullptr);
    return kind == kLossAndGrads ? resultObject(env, r, out.dx, out.dy)
                                 : resultObject(env, r, env.Undefined(), env.Undefined());
  } catch (const WorldArgumentError& e) {
    throwWorldError(env, *call, e);
  }
}

Napi::Value LossAndGrads(const Napi::CallbackInfo& info) { return SyncCall(info, kLossAndGrads); }
Napi::Value Loss(const Napi::CallbackInfo& info) { return SyncCall(info, kLossOnly); }

// The check and the ring off the event loop; the ticket is taken at the call.
class RingWorker : public Napi::AsyncWorker {
 public:
  RingWorker(Napi::Env env, std::unique_ptr<PreparedCall> call)
      : Napi::AsyncWorker(env, "siglipWorldLossAndGrads"),
        deferred_(Napi::Promise::Deferred::New(env)),
        call_(std::move(call)),
        ticket_(world().order.take()) {
    OutputArrays out = outputsFor(env, *call_);
    dx_ = Napi::Persistent(out.dx);
    dy_ = Napi::Persistent(out.dy);
    dxData_ = out.dx.Data();  // Execute runs off the JS thread: no handles there
    dyData_ = out.dy.Data();
  }

  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override {
    CallOrder::Turn turn(world().order, ticket_);
    try {
      result_ = runCall(*call_, dxData_, dyData_);
    } catch (const WorldArgumentError& e) {
      failure_ = std::make_unique<WorldArgumentError>(e);
    } catch (const std::exception& e) {
      failure_ = std::make_unique<WorldArgumentError>(CallSignature::kError, e.what());
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (failure_ == nullptr) {
      deferred_.Resolve(resultObject(env, result_, dx_.Value(), dy_.Value()));
      return;
    }
    try {
      throwWorldError(env, *call_, *failure_);
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::unique_ptr<PreparedCall> call_;
  uint64_t ticket_;
  Napi::Reference<Napi::Float32Array> dx_, dy_;
  float* dxData_ = nullptr;
  float* dyData_ = nullptr;
  RingResult result_;
  std::unique_ptr<WorldArgumentError> failure_;
};

Napi::Value LossAndGradsAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireOpen(env);
  auto* worker = new RingWorker(env, prepare(info, kLossAndGrads, true));  // deletes itself
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

// A call that failed in JavaScript before reaching here (e.g. an unknown
// option) still takes part in the check, so the other ranks fail too.
Napi::Value FailCall(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireOpen(env);
  PreparedCall call;
  call.signature.fail(CallSignature::kError, info[0].ToString().Utf8Value());
  CallOrder::Turn turn(world().order, world().order.take());
  try {
    bool ownError = false;
    checkCollectively(world().ring, call.signature, &ownError);
  } catch (const WorldArgumentError&) {
    // this rank throws its own error in JavaScript
  }
  return env.Undefined();
}

Napi::Float32Array readValues(Napi::Env env, Napi::Value value, const char* name) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(env, std::string(name) + " must be a Float32Array");
  return value.As<Napi::Float32Array>();
}

// Every rank must hand over as many values: else a clear error on every rank.
void checkSameLength(Napi::Env env, size_t length, const char* what) {
  const auto mine = static_cast<int64_t>(length);
  std::vector<int64_t> all(static_cast<size_t>(world().size));
  allgatherWithDeadline(world().tensors, &mine, sizeof mine, all.data(), what);
  for (int r = 1; r < world().size; ++r)
    if (all[r] != all[0])
      throw Napi::RangeError::New(env, std::string(what) + ": rank " + std::to_string(r) + " has " +
                                           std::to_string(all[r]) + " values but rank 0 has " +
                                           std::to_string(all[0]));
  if (mine > INT32_MAX)
    throw Napi::RangeError::New(env, std::string(what) + ": more than 2^31 - 1 values");
}

// Sums a Float32Array over the ranks, in place. Reduced to rank 0 and
// broadcast from there, so that every rank gets the same bits and the
// replicas' weights never drift apart.
Napi::Value AllReduceSum(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireOpen(env);
  Napi::Float32Array values = readValues(env, info[0], "gradients");
  checkSameLength(env, values.ElementLength(), "allReduceGradients");
  const int count = static_cast<int>(values.ElementLength());
  float* data = values.Data();
  std::vector<MPI_Request> request(1);
  if (world().rank == 0)
    MPI_Ireduce(MPI_IN_PLACE, data, count, MPI_FLOAT, MPI_SUM, 0, world().tensors, request.data());
  else
    MPI_Ireduce(data, nullptr, count, MPI_FLOAT, MPI_SUM, 0, world().tensors, request.data());
  waitWithDeadline(world().tensors, request, {}, "allReduceGradients");
  MPI_Ibcast(data, count, MPI_FLOAT, 0, world().tensors, request.data());
  waitWithDeadline(world().tensors, request, {}, "allReduceGradients");
  return values;
}

Napi::Value Broadcast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireOpen(env);
  Napi::Float32Array values = readValues(env, info[0], "variables");
  const int root = info[1].As<Napi::Number>().Int32Value();  // checked in JavaScript
  checkSameLength(env, values.ElementLength(), "broadcastVariables");
  std::vector<MPI_Request> request(1);
  MPI_Ibcast(values.Data(), static_cast<int>(values.ElementLength()), MPI_FLOAT, root,
             world().tensors, request.data());
  waitWithDeadline(world().tensors, request, {}, "broadcastVariables");
  return values;
}

// initWorld({ stallTimeout }): seconds (checked in JavaScript).
Napi::Value SetStallTimeout(const Napi::CallbackInfo& info) {
  setStallTimeoutSeconds(info[0].As<Napi::Number>().DoubleValue());
  return info.Env().Undefined();
}

Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  exports.Set("setStallTimeout", Napi::Function::New(env, SetStallTimeout, "setStallTimeout"));
  exports.Set("init", Napi::Function::New(env, Init, "init"));
  exports.Set("finalize", Napi::Function::New(env, Finalize, "finalize"));
  exports.Set("abort", Napi::Function::New(env, Abort, "abort"));
  exports.Set("lossAndGrads", Napi::Function::New(env, LossAndGrads, "lossAndGrads"));
  exports.Set("lossAndGradsAsync",
              Napi::Function::New(env, LossAndGradsAsync, "lossAndGradsAsync"));
  exports.Set("loss", Napi::Function::New(env, Loss, "loss"));
  exports.Set("failCall", Napi::Function::New(env, FailCall, "failCall"));
  exports.Set("allReduceSum", Napi::Function::New(env, AllReduceSum, "allReduceSum"));
  exports.Set("broadcast", Napi::Function::New(env, Broadcast, "broadcast"));
  return exports;
}

}  // namespace
}  // namespace siglip::mpi

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  return siglip::mpi::InitModule(env, exports);
}
NODE_API_MODULE(siglip_mpi, Init)
