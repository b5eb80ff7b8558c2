#include "stall_deadline.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

namespace siglip::mpi {
namespace {

double initialTimeout() {
  const char* text = std::getenv("SIGLIP_MPI_STALL_TIMEOUT");
  if (text != nullptr) {
    char* end = nullptr;
    const double seconds = std::strtod(text, &end);
    if (end != text && seconds > 0) return seconds;
  }
  return 120;
}

std::atomic<double> timeoutSeconds{initialTimeout()};

// Which of the requests are still pending, by their peers: "rank 0 (receiving)" ...
std::string pendingPeers(std::vector<MPI_Request>& requests, const std::vector<Peer>& peers,
                         int self) {
  std::string list;
  for (size_t i = 0; i < requests.size(); ++i) {
    int done = 0;
    MPI_Test(&requests[i], &done, MPI_STATUS_IGNORE);
    if (done || i >= peers.size() || peers[i].rank < 0) continue;
    const std::string entry = peers[i].receiving
                                  ? "rank " + std::to_string(self) + " stopped hearing from rank " +
                                        std::to_string(peers[i].rank)
                                  : "rank " + std::to_string(peers[i].rank) +
                                        " stopped taking data from rank " + std::to_string(self);
    if (list.find(entry) == std::string::npos) list += (list.empty() ? "" : "; ") + entry;
  }
  return list;
}

}  // namespace

double stallTimeoutSeconds() { return timeoutSeconds.load(); }
void setStallTimeoutSeconds(double seconds) { timeoutSeconds.store(seconds); }

void waitWithDeadline(MPI_Comm comm, std::vector<MPI_Request>& requests,
                      const std::vector<Peer>& peers, const char* what, double minimumSeconds) {
  using Clock = std::chrono::steady_clock;
  const auto started = Clock::now();
  const double limit = std::max(minimumSeconds, stallTimeoutSeconds());
  int complete = requests.empty() ? 1 : 0;
  bool reported = false;
  while (!complete) {
    MPI_Testall(static_cast<int>(requests.size()), requests.data(), &complete, MPI_STATUSES_IGNORE);
    if (complete) break;
    std::this_thread::sleep_for(std::chrono::microseconds(100));
    const double waited = std::chrono::duration<double>(Clock::now() - started).count();
    if (!reported && waited > limit) {
      // Said at once, but the job is ended only after as long again: where the whole host is
      // cut off, MPI_Abort would make mpirun wait for that host's daemon (its control
      // connection has data in flight, so TCP's keepalive never fires), while Open MPI,
      // given a keepalive, ends the job itself without it (docs/distributed.md).
      int rank = 0;
      MPI_Comm_rank(comm, &rank);
      std::string who = pendingPeers(requests, peers, rank);
      if (who.empty())
        who = "rank " + std::to_string(rank) + " stopped hearing from the other ranks";
      std::fprintf(stderr,
                   "siglip-loss: %s (%s) for %.0f s: a link or a rank is down; the MPI job ends "
                   "(the deadline is initWorld's stallTimeout or SIGLIP_MPI_STALL_TIMEOUT)\n",
                   who.c_str(), what, waited);
      std::fflush(stderr);
      reported = true;
    }
    if (waited > 2 * limit) MPI_Abort(comm, 1);
  }
}

void allgatherWithDeadline(MPI_Comm comm, const void* mine, int bytes, void* all, const char* what,
                           double minimumSeconds) {
  constexpr int kTagGather = 100;  // apart from the ring's tags
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  auto* out = static_cast<char*>(all);
  std::memcpy(out + static_cast<size_t>(rank) * bytes, mine, static_cast<size_t>(bytes));
  std::vector<MPI_Request> requests;
  std::vector<Peer> peers;
  for (int peer = 0; peer < size; ++peer) {
    if (peer == rank) continue;
    requests.resize(requests.size() + 2);
    MPI_Irecv(out + static_cast<size_t>(peer) * bytes, bytes, MPI_BYTE, peer, kTagGather, comm,
              &requests.end()[-2]);
    MPI_Isend(mine, bytes, MPI_BYTE, peer, kTagGather, comm, &requests.end()[-1]);
    peers.push_back({peer, true});
    peers.push_back({peer, false});
  }
  waitWithDeadline(comm, requests, peers, what, minimumSeconds);
}

}  // namespace siglip::mpi
