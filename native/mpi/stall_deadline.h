// A cut link raises no error in Open MPI without ULFM: a transfer just never completes, and
// TCP gives up only after ~15 minutes. So every wait of the ring and of the world's
// collectives tests its requests against a deadline and, past it, ends the whole job with a
// message that says which rank stopped hearing from which.
#pragma once

#include <mpi.h>

#include <chrono>
#include <string>
#include <vector>

namespace siglip::mpi {

// The waits' and the ring's timings: seconds of the steady clock since `start`.
using Clock = std::chrono::steady_clock;
inline double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Seconds a rank waits for transfers that make no progress before it ends the job: the
// world's setting (initWorld({ stallTimeout }) or SIGLIP_MPI_STALL_TIMEOUT), 120 by default.
double stallTimeoutSeconds();
void setStallTimeoutSeconds(double seconds);

// The other end of one request of a wait, for the message.
struct Peer {
  int rank = -1;  // -1: some rank of a collective
  bool receiving = true;
};

// Waits for `requests` (sleeping between tests rather than spinning a core), at least
// `minimumSeconds` and at least the stall timeout.
// Past the deadline it prints "rank R stopped hearing from rank P ..." (the requests still
// pending, with `peers[i]` for requests[i], or the collective `what`); past twice the
// deadline, unless MPI has ended the job by then, it calls MPI_Abort.
void waitWithDeadline(MPI_Comm comm, std::vector<MPI_Request>& requests,
                      const std::vector<Peer>& peers, const char* what, double minimumSeconds = 0);

// Past its deadline a rank tells every other rank which rank it waits on (a stall note) and
// listens for theirs for `graceSeconds`, still testing its requests: a rank that waits on a
// rank that is itself waiting then names the chain ("rank 1 stopped hearing from rank 0 (rank
// 0 is itself waiting on rank 2)"), so that even the first message points at the fault rather
// than at a healthy neighbour. Returns who stopped hearing from whom, or "" where the requests
// completed meanwhile (the others are then told so).
std::string describeStall(MPI_Comm comm, std::vector<MPI_Request>& requests,
                          const std::vector<Peer>& peers, double graceSeconds);

// MPI_Allgather of `bytes` bytes from every rank into `all` (rank order), as point-to-point
// messages so that a stall names the ranks that stayed silent.
void allgatherWithDeadline(MPI_Comm comm, const void* mine, int bytes, void* all, const char* what,
                           double minimumSeconds = 0);

}  // namespace siglip::mpi
