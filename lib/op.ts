// siglipLoss as a differentiable tfjs op. Under a gradient tape the forward
// runs the fused pass once and saves dX, dY, dt', db; the backward only scales
// them by the upstream gradient. Without a tape it runs the loss-only pass.
import type * as tfjs from '@tensorflow/tfjs-core';
import type { GradSaveFunc, Scalar, Tensor, Tensor2D } from '@tensorflow/tfjs-core';

import { nativeAddon } from './native';
import { SIGLIP_DEFAULT_BIAS, SIGLIP_DEFAULT_T_PRIME, checkOptionNames } from './options';
import type { SiglipOptions } from './options';

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

/**
 * The SigLIP pairwise sigmoid loss of image embeddings x [N, D] and text
 * embeddings y [M, D]: (1/N) sum_ij softplus(-z_ij (exp(t') x_i.y_j + b)).
 * Differentiable with respect to x, y, tPrime and bias.
 */
export function siglipLoss(
  x: Tensor2D,
  y: Tensor2D,
  tPrime: Scalar | number = SIGLIP_DEFAULT_T_PRIME,
  bias: Scalar | number = SIGLIP_DEFAULT_BIAS,
  options: SiglipOptions = {},
): Scalar {
  checkMatrix(x, 'x');
  checkMatrix(y, 'y');
  if (x.shape[1] !== y.shape[1]) {
    throw new RangeError(
      `x and y must have the same dim (columns), got x [${x.shape.join(', ')}] and y [${y.shape.join(', ')}]`,
    );
  }
  checkOptionNames(options);
  const dim = x.shape[1];
  const tPrimeTensor = toScalar(tPrime, 'tPrime');
  const biasTensor = toScalar(bias, 'bias');
  const withGradients = gradientTapeActive();
  const core = tf();

  const op = core.customGrad((...args: (Tensor | GradSaveFunc)[]) => {
    const [xs, ys, tp, b, save] = args as [Tensor2D, Tensor2D, Tensor, Tensor, GradSaveFunc];
    const tPrimeValue = floatData(tp)[0] as number;
    const biasValue = floatData(b)[0] as number;
    if (!withGradients) {
      const loss = nativeAddon(options.device).loss(
        floatData(xs),
        floatData(ys),
        dim,
        tPrimeValue,
        biasValue,
        options,
      );
      return {
        value: core.scalar(loss),
        gradFunc: () => {
          throw new Error('siglipLoss: gradient requested outside the tape that recorded it');
        },
      };
    }
    const r = nativeAddon(options.device).lossAndGrads(
      floatData(xs),
      floatData(ys),
      dim,
      tPrimeValue,
      biasValue,
      options,
    );
    save([
      core.tensor2d(r.dx, xs.shape),
      core.tensor2d(r.dy, ys.shape),
      core.fill(tp.shape, r.dTPrime),
      core.fill(b.shape, r.dBias),
    ]);
    return {
      value: core.scalar(r.loss),
      gradFunc: (upstream: Scalar, saved: Tensor[]) => saved.map((g) => core.mul(g, upstream)),
    };
  });
  return op(x, y, tPrimeTensor, biasTensor) as Scalar;
}
