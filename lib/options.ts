/**
 * What options.world takes: the World of initWorld() ('siglip-loss/mpi'). Declared here without
 * tfjs types, so that the raw API's types need no tfjs.
 */
export interface WorldHandle {
  /** This process's rank, 0 to size - 1. */
  readonly rank: number;
  /** Number of ranks. */
  readonly size: number;
}

/**
 * What options.signal takes: an AbortSignal (declared structurally, so that the types need
 * neither the DOM library nor @types/node).
 */
export interface AbortSignalLike {
  /** Whether it was aborted already: the call then rejects at once. */
  readonly aborted: boolean;
  /** Why it was aborted: the AbortError's `cause`. */
  readonly reason?: unknown;
  /** The call listens for 'abort' while it runs. */
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  /** The call removes its listener when it settles. */
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** Which (row, column) pairs are positives. */
export type PositivesKind = 'diagonal' | 'none' | 'labels';
/** Where the pass runs. 'auto': CUDA when a device is present, else the CPU. */
export type Device = 'cpu' | 'cuda' | 'auto';
/**
 * Arithmetic of the tile products. CPU: 'fp32' (default) or 'bf16'. CUDA: tensor cores in
 * 'tf32' (default) or 'bf16'.
 */
export type Precision = 'fp32' | 'bf16' | 'tf32';

/** Options of the SigLIP loss (`siglipLoss` and the raw `siglipLoss*` functions). */
export interface SiglipOptions {
  /**
   * 'diagonal' (default): row i's positive is column i + positiveOffset when that
   * column exists, else row i has none. 'none': every pair is a negative (a chunk
   * of another device's texts). 'labels': pair (i, j) is positive iff
   * `xLabels[i] >= 0 && xLabels[i] === yLabels[j]` — any number of positives per
   * row (duplicate captions, several images of one class); a negative label
   * matches nothing. The normalization stays 1/N.
   */
  positives?: PositivesKind;
  /**
   * With positives: 'labels', one group label per row of x (length N). The raw API takes an
   * Int32Array; the tfjs op also an int32 Tensor1D. Labels get no gradient.
   */
  xLabels?: Int32Array;
  /** With positives: 'labels', one group label per row of y (length M). */
  yLabels?: Int32Array;
  /**
   * Async calls only: an AbortSignal that stops the pass (checked per block of tiles, well
   * within a second) and rejects the promise with an AbortError (`name` 'AbortError', `cause`
   * the signal's reason). Sync calls reject it with a TypeError.
   */
  signal?: AbortSignalLike;
  /** Offset k of the diagonal, any integer (default 0). */
  positiveOffset?: number;
  /** Worker threads of the CPU pass (default: hardware concurrency). */
  threads?: number;
  /** 'cpu' (default), 'cuda' or 'auto'. */
  device?: Device;
  /**
   * 'bf16': x, y and the gradient tile G are rounded to bf16, products accumulate in fp32, the
   * loss and scalar gradients in double (relative error about 1e-3 against float64). On the CPU
   * it uses AVX-512 BF16 dot products where the CPU has them (`backendInfo().bf16`), about
   * 1.8x fp32's speed on the AMD Zen machines measured; elsewhere the fp32 kernels compute the
   * same sums, bit for bit, at fp32's speed ('fp32-widened').
   * CPU: 'fp32' (default) or 'bf16'. CUDA: 'tf32' (default) or 'bf16'.
   */
  precision?: Precision;
  /**
   * The ranks of an MPI job (initWorld() of 'siglip-loss/mpi'): x and y are this rank's rows of the
   * global batch (in rank order), positives and positiveOffset refer to global indices, the loss
   * is normalized by the global N. The raw calls return the global loss, dTPrime and dBias (the
   * same bits on every rank) and this rank's rows of dX and dY. Every rank must make the same
   * calls in the same order. See docs/distributed.md.
   */
  world?: WorldHandle;
}

/** Options of the softmax (CLIP) loss: it runs on the CPU. */
export interface SoftmaxOptions {
  /** Worker threads (default: hardware concurrency). */
  threads?: number;
  /** Async calls only: stops the pass and rejects with an AbortError (as in SiglipOptions). */
  signal?: AbortSignalLike;
  /** 'cpu' (default); 'auto' also runs on the CPU (no CUDA kernel yet); 'cuda' is an error. */
  device?: Device;
}

/** CLIP's initialisation of the log-scale: t = 1 / 0.07. */
export const SOFTMAX_DEFAULT_T_PRIME = Math.log(1 / 0.07);

/** The paper's initialisation: t' = log 10 (t = 10) and b = -10. */
export const SIGLIP_DEFAULT_T_PRIME = Math.log(10);
/** The paper's initialisation of the bias: b = -10. */
export const SIGLIP_DEFAULT_BIAS = -10;

const KNOWN_OPTIONS: ReadonlySet<string> = new Set([
  'positives',
  'positiveOffset',
  'threads',
  'device',
  'precision',
  'xLabels',
  'yLabels',
  'signal',
  'world',
]);

const SOFTMAX_OPTIONS: ReadonlySet<string> = new Set(['threads', 'device', 'signal']);

function checkNames(options: unknown, known: ReadonlySet<string>): void {
  if (options === undefined || options === null) return;
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError('options must be an object');
  }
  for (const key of Object.keys(options)) {
    if (!known.has(key)) {
      throw new RangeError(`options.${key} is not an option (known: ${[...known].join(', ')})`);
    }
  }
}

/** Rejects unknown option names (a typo would otherwise be ignored silently). */
export function checkOptionNames(options: unknown): void {
  checkNames(options, KNOWN_OPTIONS);
}

export function checkSoftmaxOptionNames(options: unknown): void {
  checkNames(options, SOFTMAX_OPTIONS);
}
