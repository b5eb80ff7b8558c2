/* The machine's fp32 multiply-add peak: independent FMA chains in registers on
 * every core, no memory traffic. Together with the SGEMM ceiling it says how
 * much room a GEMM-shaped kernel has left on this machine.
 * Usage: [SIGLIP_ISA=set] fma-peak THREADS -> prints the GFLOP/s of all
 * threads together. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef float Vec16 __attribute__((vector_size(64)));
typedef float Vec8 __attribute__((vector_size(32)));

enum { kIterations = 40000000, kChains = 12 };

static double seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* Twelve independent chains (in registers) hide the FMA latency; returns the
 * flops done. */
#define FMA_LOOP(Vec, lanes)                                                      \
  Vec a = {0}, b = {0};                                                           \
  a += 0.5f;                                                                      \
  b += 0.999f;                                                                    \
  Vec c0 = a, c1 = a + 1, c2 = a + 2, c3 = a + 3, c4 = a + 4, c5 = a + 5;         \
  Vec c6 = a + 6, c7 = a + 7, c8 = a + 8, c9 = a + 9, c10 = a + 10, c11 = a + 11; \
  for (long i = 0; i < kIterations; ++i) {                                        \
    c0 = c0 * b + a, c1 = c1 * b + a, c2 = c2 * b + a, c3 = c3 * b + a;           \
    c4 = c4 * b + a, c5 = c5 * b + a, c6 = c6 * b + a, c7 = c7 * b + a;           \
    c8 = c8 * b + a, c9 = c9 * b + a, c10 = c10 * b + a, c11 = c11 * b + a;       \
  }                                                                               \
  Vec sum = c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11;          \
  if (sum[0] == 12345.0f) puts("");                                               \
  return 2.0 * kIterations * kChains * (lanes);

__attribute__((target("avx512f,fma"))) static double loop512(void) { FMA_LOOP(Vec16, 16) }
__attribute__((target("avx2,fma"))) static double loop256(void) { FMA_LOOP(Vec8, 8) }

/* SIGLIP_ISA=x86-64-v3 (or lower) measures the AVX2 peak on an AVX-512 CPU,
 * the ceiling of the kernels that setting selects. */
static int use512(void) {
  const char* isa = getenv("SIGLIP_ISA");
  return __builtin_cpu_supports("avx512f") && (!isa || !*isa || strcmp(isa, "x86-64-v4") == 0);
}

static void* worker(void* flops) {
  *(double*)flops = use512() ? loop512() : loop256();
  return NULL;
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const int threads = atoi(argv[1]);
  __builtin_cpu_init();
  if (threads < 1 || !__builtin_cpu_supports("fma")) return 1;
  pthread_t* ids = malloc(sizeof(pthread_t) * threads);
  double* flops = calloc(threads, sizeof(double));
  const double start = seconds();
  for (int t = 0; t < threads; ++t) pthread_create(&ids[t], NULL, worker, &flops[t]);
  double total = 0;
  for (int t = 0; t < threads; ++t) {
    pthread_join(ids[t], NULL);
    total += flops[t];
  }
  printf("%.1f\n", total / (seconds() - start) / 1e9);
  free(ids);
  free(flops);
  return 0;
}
