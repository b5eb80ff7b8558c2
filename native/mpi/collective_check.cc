#include "collective_check.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "stall_deadline.h"

namespace siglip::mpi {
namespace {

const char* const kPositives[] = {"'diagonal'", "'none'", "'labels'"};
const char* const kPrecisions[] = {"the default", "'fp32'", "'bf16'", "'tf32'"};
const char* const kDevices[] = {"'cpu'", "'cuda'"};
const char* const kCalls[] = {"the loss alone (siglipLossValue, or siglipLoss outside a tape)",
                              "the loss and gradients"};

std::string number(double v) {
  char text[64];
  std::snprintf(text, sizeof text, "%.17g", v);
  return text;
}

// "rank 2 has dim 8 but rank 0 has dim 16": the first argument that differs.
std::string difference(const CallSignature& a, const CallSignature& root, int rank) {
  const std::string r = "rank " + std::to_string(rank);
  auto describe = [&](const std::string& what, const std::string& mine, const std::string& theirs) {
    return "options.world: " + r + " has " + what + " " + mine + " but rank 0 has " + theirs +
           " (every rank must pass the same dim, tPrime, bias and options)";
  };
  if (a.call != root.call)
    return "options.world: " + r + " computes " + kCalls[a.call] + " but rank 0 " +
           kCalls[root.call] + " (every rank must make the same call)";
  if (a.dim != root.dim) return describe("dim", std::to_string(a.dim), std::to_string(root.dim));
  if (std::memcmp(&a.tPrime, &root.tPrime, sizeof(double)) != 0)
    return describe("tPrime", number(a.tPrime), number(root.tPrime));
  if (std::memcmp(&a.bias, &root.bias, sizeof(double)) != 0)
    return describe("bias", number(a.bias), number(root.bias));
  if (a.positives != root.positives)
    return describe("options.positives", kPositives[a.positives], kPositives[root.positives]);
  if (a.positiveOffset != root.positiveOffset)
    return describe("options.positiveOffset", std::to_string(a.positiveOffset),
                    std::to_string(root.positiveOffset));
  if (a.precision != root.precision)
    return describe("options.precision", kPrecisions[a.precision], kPrecisions[root.precision]);
  if (a.device != root.device)
    return describe("options.device", kDevices[a.device], kDevices[root.device]);
  return "";
}

}  // namespace

void CallSignature::fail(Status kind, const std::string& why) {
  status = kind;
  std::snprintf(message, sizeof message, "%s", why.c_str());
}

RingLayout checkCollectively(MPI_Comm comm, const CallSignature& mine, bool* ownError) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  std::vector<CallSignature> all(static_cast<size_t>(size));
  allgatherWithDeadline(comm, &mine, sizeof(CallSignature), all.data(),
                        "the call's argument check");
  *ownError = false;
  for (int r = 0; r < size; ++r) {
    if (all[r].status == CallSignature::kOk) continue;
    if (r == rank) {
      *ownError = true;
      throw WorldArgumentError(static_cast<CallSignature::Status>(mine.status), mine.message);
    }
    throw WorldArgumentError(
        CallSignature::kError,
        "options.world: rank " + std::to_string(r) + "'s arguments are invalid: " + all[r].message);
  }
  for (int r = 1; r < size; ++r) {
    const std::string why = difference(all[r], all[0], r);
    if (!why.empty()) throw WorldArgumentError(CallSignature::kRangeError, why);
  }
  RingLayout layout;
  int64_t elements = 0;
  for (const CallSignature& s : all) {
    layout.rows.push_back(s.rows);
    layout.columns.push_back(s.columns);
    elements = std::max(elements, s.columns * s.dim);
  }
  // MPI counts are int: a block of more than 2^31 - 1 floats cannot travel as one message.
  if (elements > INT32_MAX)
    throw WorldArgumentError(CallSignature::kRangeError,
                             "options.world: a rank's y has more than 2^31 - 1 elements, more "
                             "than one MPI message carries");
  return layout;
}

}  // namespace siglip::mpi
