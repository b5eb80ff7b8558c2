// Stall notes under mpirun (no Node): past its deadline a rank names the rank it waits on
// and, where that rank waits on another in turn, the chain, so the message points at the
// fault and not at a healthy neighbour; a wait that completes during the notes' grace is no
// stall. Rank 0 waits on rank 2, which sends nothing; rank 1 waits on rank 0.
// Run: mpirun -np 3 --oversubscribe ./siglip_stall_note_test
#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "../mpi/stall_deadline.h"

namespace {

int failed = 0;

void expectSaid(const std::string& said, const std::string& want, int rank) {
  if (said == want) return;
  ++failed;
  std::fprintf(stderr, "rank %d FAILED: said \"%s\", want \"%s\"\n", rank, said.c_str(),
               want.c_str());
}

// Receives nothing from `from` until cancelled, then describes the stall.
std::string stalledOn(MPI_Comm comm, int from, double graceSeconds) {
  constexpr int kNeverSent = 7;
  int buffer = 0;
  std::vector<MPI_Request> requests(1);
  MPI_Irecv(&buffer, 1, MPI_INT, from, kNeverSent, comm, &requests[0]);
  const std::string said = siglip::mpi::describeStall(comm, requests, {{from, true}}, graceSeconds);
  MPI_Cancel(&requests[0]);
  MPI_Wait(&requests[0], MPI_STATUS_IGNORE);
  return said;
}

}  // namespace

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (size < 3) {
    if (rank == 0) std::fprintf(stderr, "stall notes: needs 3 ranks or more\n");
    MPI_Finalize();
    return 1;
  }
  MPI_Comm comm;
  MPI_Comm_dup(MPI_COMM_WORLD, &comm);

  // The chain: rank 1 hears of rank 0's wait on rank 2 within the grace.
  if (rank == 0) expectSaid(stalledOn(comm, 2, 1.0), "rank 0 stopped hearing from rank 2", rank);
  if (rank == 1)
    expectSaid(stalledOn(comm, 0, 1.0),
               "rank 1 stopped hearing from rank 0 (rank 0 is itself waiting on rank 2)", rank);
  MPI_Barrier(comm);

  // A transfer that completes during the grace: no stall, said at once.
  constexpr int kLate = 8;
  if (rank == 0) {
    int late = 0;
    std::vector<MPI_Request> requests(1);
    MPI_Irecv(&late, 1, MPI_INT, 1, kLate, comm, &requests[0]);
    const auto started = std::chrono::steady_clock::now();
    expectSaid(siglip::mpi::describeStall(comm, requests, {{1, true}}, 10.0), "", rank);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (seconds > 5 || late != 42) {
      ++failed;
      std::fprintf(stderr, "rank 0 FAILED: the late transfer took %.1f s, got %d\n", seconds, late);
    }
  }
  if (rank == 1) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const int late = 42;
    MPI_Send(&late, 1, MPI_INT, 0, kLate, comm);
  }
  MPI_Barrier(comm);

  // The notes left unread (to the other ranks, which never stalled) go with the communicator.
  MPI_Comm_free(&comm);
  int anyFailed = 0;
  MPI_Allreduce(&failed, &anyFailed, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0) std::printf("stall notes on %d ranks: %s\n", size, anyFailed ? "FAILED" : "ok");
  MPI_Finalize();
  return anyFailed == 0 ? 0 : 1;
}
