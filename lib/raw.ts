// The raw API: Float32Arrays in, Float32Arrays out. Needs no tfjs.
import { describeBackends, nativeAddon, softmaxDevice } from './native';
import type { CpuInfo, CudaInfo, SiglipLossAndGrads, SoftmaxLossAndGrads } from './native';
import { checkOptionNames, checkSoftmaxOptionNames } from './options';
import type { SiglipOptions, SoftmaxOptions } from './options';
import { withWorld } from './world';

export type { CpuInfo, CudaInfo, SiglipLossAndGrads, SoftmaxLossAndGrads } from './native';
export {
  SIGLIP_DEFAULT_BIAS,
  SIGLIP_DEFAULT_T_PRIME,
  SOFTMAX_DEFAULT_T_PRIME,
  type Device,
  type PositivesKind,
  type Precision,
  type SiglipOptions,
  type SoftmaxOptions,
  type AbortSignalLike,
  type WorldHandle,
} from './options';

/** backendInfo(): the CPU engine and the CUDA device, if any. */
export type BackendInfo = CpuInfo & {
  /** Whether the CUDA module loaded and a device can run the pass; if not, why. */
  cuda: CudaInfo;
};

/** Argument errors of an async call become a rejected promise, as its callers expect. */
function rejectingSyncErrors<T>(start: () => Promise<T>): Promise<T> {
  try {
    return start();
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Loss and all four gradients in one blockwise pass. x is [N x dim] and y is
 * [M x dim], row-major; they are read in place, never copied.
 */
export function siglipLossAndGrads(
  x: Float32Array,
  y: Float32Array,
  dim: number,
  tPrime: number,
  bias: number,
  options?: SiglipOptions,
): SiglipLossAndGrads {
  if (options?.world !== undefined) {
    return withWorld(
      options,
      () => checkOptionNames(options),
      (addon) => addon.lossAndGrads(x, y, dim, tPrime, bias, options),
    );
  }
  checkOptionNames(options);
  return nativeAddon(options?.device).lossAndGrads(x, y, dim, tPrime, bias, options);
}

/**
 * As siglipLossAndGrads, computed off the event loop. The call copies x, y and
 * the labels before it returns, so the caller may reuse, transfer or detach its
 * buffers at once; arrays over a SharedArrayBuffer (which cannot be detached)
 * are read in place, without the copy. `options.signal` aborts it.
 */
export function siglipLossAndGradsAsync(
  x: Float32Array,
  y: Float32Array,
  dim: number,
  tPrime: number,
  bias: number,
  options?: SiglipOptions,
): Promise<SiglipLossAndGrads> {
  return rejectingSyncErrors(() => {
    if (options?.world !== undefined) {
      return withWorld(
        options,
        () => checkOptionNames(options),
        (addon) => addon.lossAndGradsAsync(x, y, dim, tPrime, bias, options),
      );
    }
    checkOptionNames(options);
    return nativeAddon(options?.device).lossAndGradsAsync(x, y, dim, tPrime, bias, options);
  });
}

/** The loss alone (evaluation): no gradient buffers. */
export function siglipLossValue(
  x: Float32Array,
  y: Float32Array,
  dim: number,
  tPrime: number,
  bias: number,
  options?: SiglipOptions,
): number {
  if (options?.world !== undefined) {
    return withWorld(
      options,
      () => checkOptionNames(options),
      (addon) => addon.loss(x, y, dim, tPrime, bias, options).loss,
    );
  }
  checkOptionNames(options);
  return nativeAddon(options?.device).loss(x, y, dim, tPrime, bias, options);
}

/**
 * The CLIP softmax contrastive loss and the gradients with respect to x, y and
 * t', blockwise: a forward pass keeps the 2N log-sum-exp statistics, a second
 * pass recomputes each tile for the gradients. x and y are [N x dim].
 */
export function softmaxLossAndGrads(
  x: Float32Array,
  y: Float32Array,
  dim: number,
  tPrime: number,
  options?: SoftmaxOptions,
): SoftmaxLossAndGrads {
  checkSoftmaxOptionNames(options);
  return nativeAddon(softmaxDevice(options)).softmaxLossAndGrads(x, y, dim, tPrime, options);
}

/** As softmaxLossAndGrads, off the event loop (inputs copied as in siglipLossAndGradsAsync; abortable). */
export function softmaxLossAndGradsAsync(
  x: Float32Array,
  y: Float32Array,
  dim: number,
  tPrime: number,
  options?: SoftmaxOptions,
): Promise<SoftmaxLossAndGrads> {
  return rejectingSyncErrors(() => {
    checkSoftmaxOptionNames(options);
    return nativeAddon(softmaxDevice(options)).softmaxLossAndGradsAsync(x, y, dim, tPrime, options);
  });
}

/** The softmax loss alone: one pass. */
export function softmaxLossValue(
  x: Float32Array,
  y: Float32Array,
  dim: number,
  tPrime: number,
  options?: SoftmaxOptions,
): number {
  checkSoftmaxOptionNames(options);
  return nativeAddon(softmaxDevice(options)).softmaxLoss(x, y, dim, tPrime, options);
}

/** What this build computes with: the CPU engine, and whether a CUDA device is usable. */
export function backendInfo(): BackendInfo {
  return describeBackends();
}
