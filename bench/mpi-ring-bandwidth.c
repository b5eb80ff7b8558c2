// The communication of the ring without its compute (bench/mpi-hosts.js): per step every rank
// sends two blocks of B x D floats (a Y block and an accumulator) to the next rank and
// receives two from the previous one, W - 1 steps, nonblocking as in native/mpi/rank_ring.cc.
// Rank 0 prints one JSON line: the bytes each rank sent per step, the seconds of the median of
// `rounds` rings, and the bus bandwidth (bytes a rank sends per second while all send).
// Usage: mpirun ... mpi-ring-bandwidth ROWS DIM ROUNDS
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static int compareDoubles(const void* a, const void* b) {
  const double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (argc != 4) {
    if (rank == 0) fprintf(stderr, "usage: mpi-ring-bandwidth ROWS DIM ROUNDS\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  const long floats = atol(argv[1]) * atol(argv[2]);
  const int rounds = atoi(argv[3]);
  const int next = (rank + 1) % size, prev = (rank + size - 1) % size;
  float* buffers = calloc((size_t)(4 * floats), sizeof(float));  // send Y, A; receive Y, A
  double* seconds = calloc((size_t)rounds, sizeof(double));
  for (int round = 0; round < rounds; ++round) {
    MPI_Barrier(MPI_COMM_WORLD);
    const double started = MPI_Wtime();
    for (int step = 0; step + 1 < size; ++step) {
      MPI_Request requests[4];
      for (int k = 0; k < 2; ++k) {
        MPI_Irecv(buffers + (2 + k) * floats, (int)floats, MPI_FLOAT, prev, k, MPI_COMM_WORLD,
                  &requests[k]);
        MPI_Isend(buffers + k * floats, (int)floats, MPI_FLOAT, next, k, MPI_COMM_WORLD,
                  &requests[2 + k]);
      }
      MPI_Waitall(4, requests, MPI_STATUSES_IGNORE);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    seconds[round] = MPI_Wtime() - started;
  }
  qsort(seconds, (size_t)rounds, sizeof(double), compareDoubles);
  const double median = seconds[rounds / 2];
  const double bytesPerStep = 2.0 * (double)floats * sizeof(float);
  if (rank == 0) {
    printf(
        "{\"ranks\": %d, \"bytesPerRankPerStep\": %.0f, \"steps\": %d, \"medianSeconds\": %.6f, "
        "\"busBytesPerSecond\": %.1f}\n",
        size, bytesPerStep, size - 1, median, bytesPerStep * (size - 1) / median);
  }
  free(buffers);
  free(seconds);
  MPI_Finalize();
  return 0;
}
