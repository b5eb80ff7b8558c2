/* C interface of the CUDA implementation: used by the Node module and, through
 * ctypes, by the device check (bench/gpu). Plain C so that any host can call it. */
#ifndef SIGLIP_CUDA_H_
#define SIGLIP_CUDA_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { SIGLIP_CUDA_BF16 = 0, SIGLIP_CUDA_TF32 = 1 };
enum { SIGLIP_CUDA_POSITIVES_DIAGONAL = 0, SIGLIP_CUDA_POSITIVES_NONE = 1 };

typedef struct {
  int64_t n, m, dim;
  double tPrime, bias;
  int positives; /* SIGLIP_CUDA_POSITIVES_* */
  int64_t positiveOffset;
  int precision; /* SIGLIP_CUDA_BF16 or SIGLIP_CUDA_TF32 */
} SiglipCudaProblem;

typedef struct {
  double loss, dTPrime, dBias;
  size_t workspaceBytes; /* device memory used beyond inputs and gradients */
} SiglipCudaScalars;

/* Number of CUDA devices; -1 when the runtime reports an error (no driver, no
 * device: see siglip_cuda_last_error). Never crashes without a GPU. */
int siglip_cuda_device_count(void);

/* The current device's name, multiprocessor count and memory; 0 on success. */
int siglip_cuda_device_info(char* name, int nameLength, int* multiprocessors, size_t* memoryBytes);

/* x [n x dim], y [m x dim], dx, dy in device memory; dx = dy = NULL: loss only.
 * Returns 0 on success, else an error code with a message in siglip_cuda_last_error. */
int siglip_cuda_run_device(const SiglipCudaProblem* problem, const float* x, const float* y,
                           float* dx, float* dy, SiglipCudaScalars* out);

/* The same with host arrays, copied to and from the device. */
int siglip_cuda_run_host(const SiglipCudaProblem* problem, const float* x, const float* y,
                         float* dx, float* dy, SiglipCudaScalars* out);

/* Which tensor-core GEMM a pass of this precision uses on the current device:
 * "wgmma" (sm_90a, bf16) or "wmma". */
const char* siglip_cuda_gemm(int precision);

/* The message of this thread's last failure. */
const char* siglip_cuda_last_error(void);

/* Frees the cached device workspace. */
void siglip_cuda_release(void);

#ifdef __cplusplus
}
#endif

#endif /* SIGLIP_CUDA_H_ */
