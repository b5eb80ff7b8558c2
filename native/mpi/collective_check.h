// Checks a call's arguments across the ranks before any block moves: every
// rank learns whether some rank's arguments were invalid or differ from rank
// 0's, and throws a clear error naming that rank and argument, instead of a
// ring that would hang or compute garbage.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "rank_ring.h"

namespace siglip::mpi {

// What must agree across the ranks, and this rank's shapes. Plain bytes,
// gathered as such (the ranks run the same build).
struct CallSignature {
  enum Status : int32_t { kOk = 0, kTypeError = 1, kRangeError = 2, kError = 3 };
  int32_t status = kOk;    // this rank's own arguments
  char message[256] = {};  // why not, when not kOk
  int32_t call = 0;        // which entry point (loss only, loss and gradients)
  int32_t positives = 0;   // PositivePairs::Kind
  int32_t precision = 0;
  int32_t device = 0;
  int64_t rows = 0, columns = 0, dim = 0;
  int64_t positiveOffset = 0;
  double tPrime = 0, bias = 0;

  void fail(Status kind, const std::string& why);
};

// An error of another rank's arguments, or a mismatch between ranks.
struct WorldArgumentError : std::runtime_error {
  CallSignature::Status kind;
  WorldArgumentError(CallSignature::Status k, const std::string& what)
      : std::runtime_error(what), kind(k) {}
};

// Gathers every rank's signature (collective on comm). Returns the layout when
// all agree; throws WorldArgumentError otherwise, on every rank. A rank whose
// own arguments failed gets `ownError` = true in the error instead (it
// rethrows its own, more precise error).
RingLayout checkCollectively(MPI_Comm comm, const CallSignature& mine, bool* ownError);

}  // namespace siglip::mpi
