// A cut link raises no error in Open MPI without ULFM: a transfer just never completes, and
// TCP gives up only after ~15 minutes. So every wait of the ring and of the world's
// collectives tests its requests against a deadline and, past it, ends the whole job with a
// message that says which rank stopped hearing from which.
#pragma once

#include <mpi.h>

#include <vector>

namespace siglip::mpi {

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

// MPI_Allgather of `bytes` bytes from every rank into `all` (rank order), as point-to-point
// messages so that a stall names the ranks that stayed silent.
void allgatherWithDeadline(MPI_Comm comm, const void* mine, int bytes, void* all, const char* what,
                           double minimumSeconds = 0);

}  // namespace siglip::mpi
