// siglipLoss and softmaxLoss as differentiable tfjs ops over the native passes.
import type * as tfjs from '@tensorflow/tfjs-core';
import type { GradSaveFunc, Scalar, Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs-core';

import { nativeAddon, softmaxDevice } from './native';
import type { NativeAddon } from './native';
import {
  SIGLIP_DEFAULT_BIAS,
  SIGLIP_DEFAULT_T_PRIME,
  SOFTMAX_DEFAULT_T_PRIME,
  checkOptionNames,
  checkSoftmaxOptionNames,
} from './options';
import type { SiglipOptions, SoftmaxOptions } from './options';
import { siglipLossAndGrads, siglipLossValue } from './raw';
import { restoreUtilForTfjsNode } from './tfjs-node-compat';
import { checkedOnEveryRank } from './world';

// Before any tfjs-node op runs: its kernels need a util function that Node >= 23 lacks.
restoreUtilForTfjsNode();

let tfCore: typeof tfjs | undefined;

/** tfjs-core is loaded only by the op, so the raw API works without it. */
function tf(): typeof tfjs {
  if (tfCore === undefined) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    tfCore = require('@tensorflow/tfjs-core') as typeof tfjs;
  }
  return tfCore;
}

function isTensor(value: unknown): value is Tensor {
  return value instanceof tf().Tensor;
}

function checkMatrix(value: unknown, name: string): asserts value is Tensor2D {
  if (!isTensor(value)) throw new TypeError(`${name} must be a tf.Tensor2D`);
  if (value.isDisposed) throw new TypeError(`${name} is disposed`);
  if (value.rank !== 2) {
    throw new RangeError(`${name} must be rank 2 ([rows, dim]), got shape [${value.shape.join(', ')}]`);
  }
  if (value.dtype !== 'float32') {
    throw new TypeError(`${name} must have dtype float32, got ${value.dtype}`);
  }
  if (value.size === 0) throw new RangeError(`${name} must not be empty`);
}

/** A number becomes a scalar in the current scope, as tfjs ops do. */
function toScalar(value: Scalar | number, name: string): Tensor {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`${name} must be finite`);
    return tf().scalar(value);
  }
  if (!isTensor(value)) throw new TypeError(`${name} must be a number or a tf.Scalar`);
  if (value.isDisposed) throw new TypeError(`${name} is disposed`);
  if (value.size !== 1) {
    throw new RangeError(`${name} must be a scalar, got shape [${value.shape.join(', ')}]`);
  }
  if (value.dtype !== 'float32') {
    throw new TypeError(`${name} must have dtype float32, got ${value.dtype}`);
  }
  return value;
}

function floatData(t: Tensor): Float32Array {
  return t.dataSync() as Float32Array;
}

/** tf.grad and friends raise the engine's gradient depth while they record. */
function gradientTapeActive(): boolean {
  return tf().engine().state.gradientDepth > 0;
}

/** What a native loss computes from the inputs' values. */
interface NativeLoss {
  lossOnly(x: Float32Array, y: Float32Array, scalars: number[]): number;
  lossAndGrads(
    x: Float32Array,
    y: Float32Array,
    scalars: number[],
  ): { loss: number; dx: Float32Array; dy: Float32Array; scalarGrads: number[] };
}

/** x, y: [rows, dim] float32 tensors with the same dim. */
function checkPair(x: unknown, y: unknown): asserts x is Tensor2D {
  checkMatrix(x, 'x');
  checkMatrix(y, 'y');
  if (x.shape[1] !== y.shape[1]) {
    throw new RangeError(
      `x and y must have the same dim (columns), got x [${x.shape.join(', ')}] and y [${y.shape.join(', ')}]`,
    );
  }
}

/**
 * A native loss of (x, y, ...scalars) as a tfjs op. Under a gradient tape the
 * forward runs the fused loss+gradients pass once and saves the gradients; the
 * backward only scales them by the upstream gradient. Without a tape it runs
 * the loss-only pass.
 */
function nativeLossOp(name: string, x: Tensor2D, y: Tensor2D, scalars: Tensor[], loss: NativeLoss): Scalar {
  const withGradients = gradientTapeActive();
  const core = tf();
  const op = core.customGrad((...args: (Tensor | GradSaveFunc)[]) => {
    const save = args[args.length - 1] as GradSaveFunc;
    const [xs, ys, ...rest] = args.slice(0, -1) as Tensor[];
    const xData = floatData(xs as Tensor);
    const yData = floatData(ys as Tensor);
    const values = rest.map((t) => floatData(t)[0] as number);
    if (!withGradients) {
      return {
        value: core.scalar(loss.lossOnly(xData, yData, values)),
        gradFunc: () => {
          throw new Error(`${name}: gradient requested outside the tape that recorded it`);
        },
      };
    }
    const r = loss.lossAndGrads(xData, yData, values);
    save([
      core.tensor(r.dx, (xs as Tensor).shape),
      core.tensor(r.dy, (ys as Tensor).shape),
      ...rest.map((t, i) => core.fill(t.shape, r.scalarGrads[i] as number)),
    ]);
    return {
      value: core.scalar(r.loss),
      gradFunc: (upstream: Scalar, saved: Tensor[]) => saved.map((g) => core.mul(g, upstream)),
    };
  });
  return op(x, y, ...scalars) as Scalar;
}

/** The op's options: those of the raw API, with labels also as int32 tensors. */
export interface SiglipOpOptions extends Omit<SiglipOptions, 'xLabels' | 'yLabels'> {
  /** With positives: 'labels': an Int32Array or an int32 Tensor1D of N labels (no gradient). */
  xLabels?: Int32Array | Tensor1D;
  /** With positives: 'labels': an Int32Array or an int32 Tensor1D of M labels (no gradient). */
  yLabels?: Int32Array | Tensor1D;
}

/** Labels given as a tensor become the Int32Array the native pass reads. */
function labelData(value: Int32Array | Tensor1D | undefined, name: string): Int32Array | undefined {
  if (value === undefined || !isTensor(value)) return value;
  if (value.isDisposed) throw new TypeError(`${name} is disposed`);
  if (value.rank !== 1 || value.dtype !== 'int32') {
    throw new TypeError(
      `${name} must be an Int32Array or an int32 Tensor1D, got ${value.dtype} [${value.shape.join(', ')}]`,
    );
  }
  return value.dataSync() as Int32Array;
}

function nativeOptions(options: SiglipOpOptions): SiglipOptions {
  if (options.xLabels === undefined && options.yLabels === undefined) return options as SiglipOptions;
  return {
    ...options,
    xLabels: labelData(options.xLabels, 'options.xLabels'),
    yLabels: labelData(options.yLabels, 'options.yLabels'),
  } as SiglipOptions;
}

/**
 * The SigLIP pairwise sigmoid loss of image embeddings x [N, D] and text
 * embeddings y [M, D]: (1/N) sum_ij softplus(-z_ij (exp(t') x_i.y_j + b)).
 * Differentiable with respect to x, y, tPrime and bias. With positives: 'labels',
 * any pair whose labels match is a positive (SiglipOpOptions).
 */
export function siglipLoss(
  x: Tensor2D,
  y: Tensor2D,
  tPrime: Scalar | number = SIGLIP_DEFAULT_T_PRIME,
  bias: Scalar | number = SIGLIP_DEFAULT_BIAS,
  opOptions: SiglipOpOptions = {},
): Scalar {
  const prepare = (): { options: SiglipOptions; scalars: Tensor[] } => {
    checkPair(x, y);
    checkOptionNames(opOptions);
    return {
      options: nativeOptions(opOptions),
      scalars: [toScalar(tPrime, 'tPrime'), toScalar(bias, 'bias')],
    };
  };
  // With a world, a rank whose arguments fail here makes every rank fail (no hang).
  const world = (opOptions as { world?: unknown } | null | undefined)?.world;
  const { options, scalars } = world === undefined ? prepare() : checkedOnEveryRank(world, prepare);
  const dim = x.shape[1];
  if (options.world !== undefined) {
    // Each rank's t' and b gradients are its rows' shares: summed over the
    // ranks (world.allReduceGradients) they are the global batch's gradients,
    // as the towers' are, while the loss value is the global loss.
    return nativeLossOp('siglipLoss', x, y, scalars, {
      lossOnly: (xs, ys, [tp, b]) => siglipLossValue(xs, ys, dim, tp as number, b as number, options),
      lossAndGrads: (xs, ys, [tp, b]) => {
        const r = siglipLossAndGrads(xs, ys, dim, tp as number, b as number, options);
        return { ...r, scalarGrads: [r.rankDTPrime as number, r.rankDBias as number] };
      },
    });
  }
  const addon = (): NativeAddon => nativeAddon(options.device);
  return nativeLossOp('siglipLoss', x, y, scalars, {
    lossOnly: (xs, ys, [tp, b]) => addon().loss(xs, ys, dim, tp as number, b as number, options),
    lossAndGrads: (xs, ys, [tp, b]) => {
      const r = addon().lossAndGrads(xs, ys, dim, tp as number, b as number, options);
      return { ...r, scalarGrads: [r.dTPrime, r.dBias] };
    },
  });
}

/**
 * The CLIP softmax contrastive loss of x [N, D] and y [N, D] with the pairs
 * (x_i, y_i) as positives: (CE over rows + CE over columns) / 2 of the logits
 * exp(t') x y^T, computed blockwise (never N x N). Differentiable with respect
 * to x, y and tPrime.
 */
export function softmaxLoss(
  x: Tensor2D,
  y: Tensor2D,
  tPrime: Scalar | number = SOFTMAX_DEFAULT_T_PRIME,
  options: SoftmaxOptions = {},
): Scalar {
  checkPair(x, y);
  if (x.shape[0] !== y.shape[0]) {
    throw new RangeError(
      `x and y must have the same number of rows (pairs), got x [${x.shape.join(', ')}] and y [${y.shape.join(', ')}]`,
    );
  }
  checkSoftmaxOptionNames(options);
  const dim = x.shape[1];
  const addon = (): NativeAddon => nativeAddon(softmaxDevice(options));
  return nativeLossOp('softmaxLoss', x, y, [toScalar(tPrime, 'tPrime')], {
    lossOnly: (xs, ys, [tp]) => addon().softmaxLoss(xs, ys, dim, tp as number, options),
    lossAndGrads: (xs, ys, [tp]) => {
      const r = addon().softmaxLossAndGrads(xs, ys, dim, tp as number, options);
      return { ...r, scalarGrads: [r.dTPrime] };
    },
  });
}
