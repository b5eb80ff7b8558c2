// The blockwise CLIP softmax loss: raw API against the float64 reference, the
// tfjs op on every backend, and bad input.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import {
  softmaxLoss,
  softmaxLossAndGrads,
  softmaxLossAndGradsAsync,
  softmaxLossValue,
  SOFTMAX_DEFAULT_T_PRIME,
} from '../dist/index';
import { BACKENDS, tf, useBackend } from './backends';
import { referenceSoftmax, relativeError, rng, unitRows } from './reference';

const TOLERANCE = 1e-5;

function check(n: number, dim: number, tPrime: number, threads: number, seed: number): void {
  const random = rng(seed);
  const x = unitRows(random, n, dim);
  const y = unitRows(random, n, dim);
  const got = softmaxLossAndGrads(x, y, dim, tPrime, { threads });
  const want = referenceSoftmax(x, y, dim, tPrime);
  const label = `n=${n} dim=${dim} t'=${tPrime.toFixed(2)} threads=${threads}`;
  assert.ok(
    relativeError([got.loss], [want.loss]) <= TOLERANCE,
    `${label}: loss ${got.loss} vs ${want.loss}`,
  );
  assert.ok(relativeError(got.dx, want.dx) <= TOLERANCE, `${label}: dx ${relativeError(got.dx, want.dx)}`);
  assert.ok(relativeError(got.dy, want.dy) <= TOLERANCE, `${label}: dy ${relativeError(got.dy, want.dy)}`);
  const dtErr =
    Math.abs(got.dTPrime - want.dTPrime) /
    Math.max(Math.abs(want.dTPrime), want.dTPrimeScale, Number.MIN_VALUE);
  assert.ok(dtErr <= TOLERANCE, `${label}: dTPrime ${got.dTPrime} vs ${want.dTPrime}`);
  const lossOnly = softmaxLossValue(x, y, dim, tPrime, { threads });
  assert.ok(relativeError([lossOnly], [want.loss]) <= TOLERANCE, `${label}: loss only ${lossOnly}`);
}

describe('softmax raw API matches the float64 reference', () => {
  let seed = 500;
  for (const n of [1, 2, 13, 127, 128, 129, 200]) {
    for (const dim of [3, 17, 40])
      test(`n=${n} dim=${dim}`, () => check(n, dim, SOFTMAX_DEFAULT_T_PRIME, 2, seed++));
  }
  // t' = log 1e3: logits up to +-1000, a nearly one-hot softmax (the loss is ~exp(-1000) per row)
  for (const tPrime of [0, Math.log(10), Math.log(100), Math.log(1e3)]) {
    test(`extreme logits t'=${tPrime.toFixed(2)}`, () => check(150, 24, tPrime, 3, seed++));
  }
  for (const threads of [1, 3, 7]) test(`threads=${threads}`, () => check(260, 20, 2, threads, seed++));
});

test('softmax async gives the sync result', async () => {
  const random = rng(41);
  const x = unitRows(random, 150, 32);
  const y = unitRows(random, 150, 32);
  const sync = softmaxLossAndGrads(x, y, 32, 2, { threads: 2 });
  const result = await softmaxLossAndGradsAsync(x, y, 32, 2, { threads: 2 });
  assert.equal(result.loss, sync.loss);
  assert.deepEqual(result.dx, sync.dx);
  assert.deepEqual(result.dy, sync.dy);
  assert.equal(result.dTPrime, sync.dTPrime);
  assert.equal('dBias' in result, false);
  await assert.rejects(softmaxLossAndGradsAsync(x, y.subarray(0, 32), 32, 2), RangeError);
});

test('the softmax loss rejects bad input, naming the argument', () => {
  const x = new Float32Array(12);
  const y = new Float32Array(8);
  assert.throws(() => softmaxLossAndGrads(x, y, 4, 1), {
    name: 'RangeError',
    message: /^x and y must have the same number of rows/,
  });
  assert.throws(() => softmaxLossValue(x, x, 4, NaN), {
    name: 'RangeError',
    message: /^tPrime must be finite/,
  });
  assert.throws(() => softmaxLossValue(x, x, 4, 1, { positives: 'none' } as object), {
    name: 'RangeError',
    message: /^options.positives is not an option/,
  });
  assert.throws(() => softmaxLossValue(x, x, 5, 1), { name: 'RangeError', message: /^x.length \(12\)/ });
  assert.throws(() => softmaxLossValue(x, x, 4, 1, { device: 'cuda' }), /cuda/i);
});

for (const backend of BACKENDS) {
  describe(`softmaxLoss op on '${backend.name}'`, { skip: backend.unavailable ?? false }, () => {
    before(() => useBackend(backend.name));

    test('value equals the materialized tfjs CLIP loss; tf.grads equals the raw API', () => {
      const n = 64;
      const dim = 24;
      const random = rng(77);
      const x = unitRows(random, n, dim);
      const y = unitRows(random, n, dim);
      tf.tidy(() => {
        const xt = tf.tensor2d(x, [n, dim]);
        const yt = tf.tensor2d(y, [n, dim]);
        const logits = tf.mul(Math.exp(2), tf.matMul(xt, yt, false, true));
        const eye = tf.eye(n);
        const materialized =
          -(
            (tf.sum(tf.mul(tf.logSoftmax(logits), eye)).dataSync()[0] as number) +
            (tf.sum(tf.mul(tf.logSoftmax(tf.transpose(logits)), eye)).dataSync()[0] as number)
          ) /
          (2 * n);
        const value = softmaxLoss(xt, yt, 2).dataSync()[0] as number;
        assert.ok(Math.abs(value - materialized) <= 1e-5 * materialized, `${value} vs ${materialized}`);

        const grads = tf
          .grads((a: tf.Tensor, b: tf.Tensor, t: tf.Tensor) =>
            softmaxLoss(a as tf.Tensor2D, b as tf.Tensor2D, t as tf.Scalar),
          )([xt, yt, tf.scalar(2)])
          .map((g) => g.dataSync());
        const raw = softmaxLossAndGrads(x, y, dim, 2);
        assert.deepEqual(grads[0], raw.dx);
        assert.deepEqual(grads[1], raw.dy);
        assert.ok(Math.abs((grads[2]![0] as number) - raw.dTPrime) <= 1e-6 * Math.abs(raw.dTPrime));
      });
    });

    test('rejects x and y with different row counts', () => {
      tf.tidy(() => {
        assert.throws(() => softmaxLoss(tf.ones([4, 3]) as tf.Tensor2D, tf.ones([5, 3]) as tf.Tensor2D), {
          name: 'RangeError',
          message: /^x and y must have the same number of rows/,
        });
      });
    });
  });
}
