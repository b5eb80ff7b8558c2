/* The machine's SGEMM rate through OpenBLAS (all cores), the ceiling the
 * throughput benchmark compares against in the same run. Built and run by
 * bench/ceiling.js when libopenblas is installed.
 * Usage: sgemm-ceiling N D REPEATS -> prints the best GFLOP/s of C = A B^T. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  const int n = atoi(argv[1]), d = atoi(argv[2]), repeats = atoi(argv[3]);
  float* a = malloc(sizeof(float) * (size_t)n * d);
  float* c = malloc(sizeof(float) * (size_t)n * n);
  if (a == NULL || c == NULL) return 1;
  for (size_t i = 0; i < (size_t)n * d; ++i) a[i] = (float)((i * 2654435761u) % 1000) / 1000.0f;
  double best = 0;
  for (int r = 0; r < repeats; ++r) {
    const double t = seconds();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, d, 1.0f, a, d, a, d, 0.0f, c, n);
    const double rate = 2.0 * n * n * d / (seconds() - t) / 1e9;
    if (rate > best) best = rate;
  }
  printf("%.1f\n", best);
  free(a);
  free(c);
  return 0;
}
