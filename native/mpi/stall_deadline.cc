#include "stall_deadline.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <set>
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

constexpr int kTagStallNote = 101;  // apart from the ring's tags and the gather's
// A stall note is the rank its sender waits on, or one of these.
constexpr int kWaitingOnSomeRank = -1;  // a collective's wait
constexpr int kHeardAgain = -2;         // the sender's stall is over

// Sends a stall note to every other rank without waiting for it: a cut link may never take
// it. The values live as long as the process, since a freed send may still read its buffer.
void sendStallNote(MPI_Comm comm, int note) {
  static std::mutex mutex;
  static std::deque<int> sent;
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  std::lock_guard<std::mutex> lock(mutex);
  sent.push_back(note);
  for (int peer = 0; peer < size; ++peer) {
    if (peer == rank) continue;
    MPI_Request request = MPI_REQUEST_NULL;
    MPI_Isend(&sent.back(), 1, MPI_INT, peer, kTagStallNote, comm, &request);
    MPI_Request_free(&request);
  }
}

// Takes the stall notes that have arrived into `waitingOn` (rank -> the rank it waits on).
void readStallNotes(MPI_Comm comm, std::map<int, int>& waitingOn) {
  for (;;) {
    int arrived = 0;
    MPI_Message message = MPI_MESSAGE_NULL;
    MPI_Status status;
    MPI_Improbe(MPI_ANY_SOURCE, kTagStallNote, comm, &arrived, &message, &status);
    if (!arrived) return;
    int note = 0;
    MPI_Mrecv(&note, 1, MPI_INT, &message, MPI_STATUS_IGNORE);
    if (note == kHeardAgain)
      waitingOn.erase(status.MPI_SOURCE);
    else
      waitingOn[status.MPI_SOURCE] = note;
  }
}

// The indices of the requests still pending (testing them completes the others).
std::vector<size_t> stillPending(std::vector<MPI_Request>& requests) {
  std::vector<size_t> pending;
  for (size_t i = 0; i < requests.size(); ++i) {
    int done = 0;
    MPI_Test(&requests[i], &done, MPI_STATUS_IGNORE);
    if (!done) pending.push_back(i);
  }
  return pending;
}

// The rank of the first request still pending: the one this rank's note names.
int firstPendingPeer(std::vector<MPI_Request>& requests, const std::vector<Peer>& peers) {
  const std::vector<size_t> pending = stillPending(requests);
  return pending.empty() || pending[0] >= peers.size() ? kWaitingOnSomeRank
                                                       : peers[pending[0]].rank;
}

// " (rank 0 is itself waiting on rank 2, which waits on rank 3)": the ranks that `peer` waits
// on in turn by their notes, up to one that sent none (the fault is there) or a loop.
std::string waitChain(int peer, const std::map<int, int>& waitingOn, int self) {
  std::string chain;
  std::set<int> seen{self, peer};
  for (int at = peer;;) {
    const auto note = waitingOn.find(at);
    if (note == waitingOn.end()) break;
    const int next = note->second;
    chain += chain.empty() ? " (rank " + std::to_string(peer) + " is itself waiting on "
                           : ", which waits on ";
    chain += next < 0 ? "the other ranks" : "rank " + std::to_string(next);
    if (next < 0 || !seen.insert(next).second) break;
    at = next;
  }
  return chain.empty() ? chain : chain + ")";
}

// Which of the requests are still pending, by their peers: "rank 1 stopped hearing from rank
// 0 (rank 0 is itself waiting on rank 2); rank 2 stopped taking data from rank 1" ...
std::string pendingPeers(std::vector<MPI_Request>& requests, const std::vector<Peer>& peers,
                         int self, const std::map<int, int>& waitingOn) {
  std::string list;
  for (const size_t i : stillPending(requests)) {
    if (i >= peers.size() || peers[i].rank < 0) continue;
    const std::string me = "rank " + std::to_string(self);
    const std::string peer = "rank " + std::to_string(peers[i].rank);
    const std::string entry = (peers[i].receiving ? me + " stopped hearing from " + peer
                                                  : peer + " stopped taking data from " + me) +
                              waitChain(peers[i].rank, waitingOn, self);
    if (list.find(entry) == std::string::npos) list += (list.empty() ? "" : "; ") + entry;
  }
  return list;
}

}  // namespace

double stallTimeoutSeconds() { return timeoutSeconds.load(); }
void setStallTimeoutSeconds(double seconds) { timeoutSeconds.store(seconds); }

std::string describeStall(MPI_Comm comm, std::vector<MPI_Request>& requests,
                          const std::vector<Peer>& peers, double graceSeconds) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  sendStallNote(comm, firstPendingPeer(requests, peers));
  std::map<int, int> waitingOn;
  const auto started = Clock::now();
  do {
    int complete = 0;
    MPI_Testall(static_cast<int>(requests.size()), requests.data(), &complete, MPI_STATUSES_IGNORE);
    if (complete) {
      sendStallNote(comm, kHeardAgain);
      return "";
    }
    readStallNotes(comm, waitingOn);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  } while (secondsSince(started) < graceSeconds);
  const std::string who = pendingPeers(requests, peers, rank, waitingOn);
  return who.empty() ? "rank " + std::to_string(rank) + " stopped hearing from the other ranks"
                     : who;
}

void waitWithDeadline(MPI_Comm comm, std::vector<MPI_Request>& requests,
                      const std::vector<Peer>& peers, const char* what, double minimumSeconds) {
  const auto started = Clock::now();
  const double limit = std::max(minimumSeconds, stallTimeoutSeconds());
  int complete = requests.empty() ? 1 : 0;
  bool reported = false;
  while (!complete) {
    MPI_Testall(static_cast<int>(requests.size()), requests.data(), &complete, MPI_STATUSES_IGNORE);
    if (complete) break;
    std::this_thread::sleep_for(std::chrono::microseconds(100));
    const double waited = secondsSince(started);
    if (!reported && waited > limit) {
      // Said after a quarter of the deadline more, in which the ranks compare notes, but the
      // job is ended only at twice the deadline: where the whole host is cut off, MPI_Abort
      // would make mpirun wait for that host's daemon (its control connection has data in
      // flight, so TCP's keepalive never fires), while Open MPI, given a keepalive, ends the
      // job itself without it (docs/distributed.md).
      const std::string who = describeStall(comm, requests, peers, limit / 4);
      if (who.empty()) break;  // it completed after all
      std::fprintf(stderr,
                   "siglip-loss: %s (%s) for %.0f s: a link or a rank is down; the MPI job ends "
                   "(the deadline is initWorld's stallTimeout or SIGLIP_MPI_STALL_TIMEOUT)\n",
                   who.c_str(), what, secondsSince(started));
      std::fflush(stderr);
      reported = true;
    }
    if (waited > 2 * limit) MPI_Abort(comm, 1);
  }
  if (reported) sendStallNote(comm, kHeardAgain);
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
