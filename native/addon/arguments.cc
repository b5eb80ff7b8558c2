#include "arguments.h"

#include <cmath>
#include <initializer_list>
#include <string>
#include <utility>

namespace siglip::addon {
namespace {

constexpr double kMaxSafeInteger = 9007199254740991.0;

[[noreturn]] void throwType(Napi::Env env, const std::string& message) {
  throw Napi::TypeError::New(env, message);
}
[[noreturn]] void throwRange(Napi::Env env, const std::string& message) {
  throw Napi::RangeError::New(env, message);
}

Napi::Float32Array readMatrix(Napi::Env env, Napi::Value value, const char* name) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throwType(env, std::string(name) + " must be a Float32Array");
  auto array = value.As<Napi::Float32Array>();
  if (array.ArrayBuffer().IsDetached())
    throwType(env, std::string(name) + " is backed by a detached ArrayBuffer");
  if (array.ElementLength() == 0) throwRange(env, std::string(name) + " must not be empty");
  return array;
}

// options.xLabels / yLabels: an Int32Array of one label per row.
Napi::Int32Array readLabels(Napi::Env env, Napi::Value value, const char* name, int64_t rows,
                            const char* rowsOf) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throwType(env, std::string(name) + " must be an Int32Array");
  auto array = value.As<Napi::Int32Array>();
  if (static_cast<int64_t>(array.ElementLength()) != rows)
    throwRange(env, std::string(name) + " must have one label per row of " + rowsOf + " (" +
                        std::to_string(rows) + "), got " + std::to_string(array.ElementLength()));
  return array;
}

double readFinite(Napi::Env env, Napi::Value value, const char* name) {
  if (!value.IsNumber()) throwType(env, std::string(name) + " must be a number");
  const double v = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(v)) throwRange(env, std::string(name) + " must be finite");
  return v;
}

double readInteger(Napi::Env env, Napi::Value value, const char* name) {
  const double v = readFinite(env, value, name);
  if (v != std::trunc(v) || std::fabs(v) > kMaxSafeInteger)
    throwRange(env, std::string(name) + " must be an integer");
  return v;
}

// One of a few named values: a string option, or a RangeError with `message`.
template <typename Value>
Value readChoice(Napi::Env env, Napi::Value value, const char* message,
                 std::initializer_list<std::pair<const char*, Value>> choices) {
  const std::string name = value.IsString() ? value.As<Napi::String>().Utf8Value() : "";
  for (const auto& [choice, result] : choices)
    if (name == choice) return result;
  throwRange(env, message);
}

// xLabels and yLabels go with positives: 'labels', and only with it.
void readPositiveLabels(Napi::Env env, Napi::Object options, CallArguments& args) {
  PositivePairs& positives = args.request.inputs.positives;
  const bool labels = positives.kind == PositivePairs::Kind::kLabels;
  for (const char* name : {"xLabels", "yLabels"}) {
    const bool given = !options.Get(name).IsUndefined();
    if (labels && !given)
      throwType(env,
                std::string("options.") + name + " must be an Int32Array with positives: 'labels'");
    if (!labels && given)
      throwRange(env, std::string("options.") + name + " is only read with positives: 'labels'");
  }
  if (!labels) return;
  args.xLabels =
      readLabels(env, options.Get("xLabels"), "options.xLabels", args.request.inputs.n, "x");
  args.yLabels =
      readLabels(env, options.Get("yLabels"), "options.yLabels", args.request.inputs.m, "y");
  positives.rowLabels = args.xLabels.Data();
  positives.columnLabels = args.yLabels.Data();
}

// options.signal: anything with `aborted` and the two listener methods, as
// AbortSignal has.
void readSignal(Napi::Env env, Napi::Object options, CallArguments& args) {
  Napi::Value value = options.Get("signal");
  if (value.IsUndefined()) return;
  const auto signal = value.As<Napi::Object>();
  if (!value.IsObject() || !signal.Get("addEventListener").IsFunction() ||
      !signal.Get("removeEventListener").IsFunction() || !signal.Get("aborted").IsBoolean())
    throwType(env, "options.signal must be an AbortSignal");
  args.signal = signal;
}

void readOptions(Napi::Env env, Napi::Value value, CallArguments& args) {
  if (value.IsUndefined() || value.IsNull()) return;
  if (!value.IsObject() || value.IsArray() || value.IsFunction())
    throwType(env, "options must be an object");
  auto options = value.As<Napi::Object>();

  Napi::Value positives = options.Get("positives");
  if (!positives.IsUndefined()) {
    args.request.inputs.positives.kind = readChoice<PositivePairs::Kind>(
        env, positives, "options.positives must be 'diagonal', 'none' or 'labels'",
        {{"diagonal", PositivePairs::Kind::kDiagonal},
         {"none", PositivePairs::Kind::kNone},
         {"labels", PositivePairs::Kind::kLabels}});
  }
  readPositiveLabels(env, options, args);
  Napi::Value offset = options.Get("positiveOffset");
  if (!offset.IsUndefined())
    args.request.inputs.positives.offset =
        static_cast<int64_t>(readInteger(env, offset, "options.positiveOffset"));
  Napi::Value precision = options.Get("precision");
  if (!precision.IsUndefined()) {
    args.request.precision = readChoice<RequestedPrecision>(
        env, precision, "options.precision must be 'fp32', 'bf16' or 'tf32'",
        {{"fp32", RequestedPrecision::kFloat32},
         {"bf16", RequestedPrecision::kBFloat16},
         {"tf32", RequestedPrecision::kTFloat32}});
  }
  Napi::Value threads = options.Get("threads");
  if (!threads.IsUndefined()) {
    const double t = readInteger(env, threads, "options.threads");
    if (t < 1 || t > 1024) throwRange(env, "options.threads must be an integer in [1, 1024]");
    args.request.options.threads = static_cast<int>(t);
  }
  readSignal(env, options, args);
}

}  // namespace

CallArguments readCallArguments(const Napi::CallbackInfo& info, Loss loss) {
  Napi::Env env = info.Env();
  CallArguments args;
  args.x = readMatrix(env, info[0], "x");
  args.y = readMatrix(env, info[1], "y");
  const double dim = readInteger(env, info[2], "dim");
  if (dim < 1) throwRange(env, "dim must be a positive integer");
  const auto d = static_cast<int64_t>(dim);
  const auto xLength = static_cast<int64_t>(args.x.ElementLength());
  const auto yLength = static_cast<int64_t>(args.y.ElementLength());
  if (xLength % d != 0)
    throwRange(env, "x.length (" + std::to_string(xLength) + ") is not a multiple of dim (" +
                        std::to_string(d) + ")");
  if (yLength % d != 0)
    throwRange(env, "y.length (" + std::to_string(yLength) + ") is not a multiple of dim (" +
                        std::to_string(d) + ")");
  args.request.inputs.x = args.x.Data();
  args.request.inputs.y = args.y.Data();
  args.request.inputs.n = xLength / d;
  args.request.inputs.m = yLength / d;
  args.request.inputs.dim = d;
  args.request.inputs.tPrime = readFinite(env, info[3], "tPrime");
  if (std::exp(args.request.inputs.tPrime) > kMaxLogitScale) throwRange(env, kLogitScaleError);
  if (loss == Loss::kSigmoid) {
    args.request.inputs.bias = readFinite(env, info[4], "bias");
    readOptions(env, info[5], args);
  } else {
    if (args.request.inputs.n != args.request.inputs.m)
      throwRange(env,
                 "x and y must have the same number of rows: the softmax loss pairs x_i with y_i");
    readOptions(env, info[4], args);
    if (args.request.inputs.positives.kind == PositivePairs::Kind::kLabels)
      throwRange(env,
                 "options.positives 'labels' is for the sigmoid loss: the softmax loss pairs x_i "
                 "with y_i");
  }
  return args;
}

}  // namespace siglip::addon
