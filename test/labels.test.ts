// positives: 'labels' (several positives per row) against the float64
// reference: raw, async, loss-only, bf16 and tf.grads through the op.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  backendInfo,
  siglipLoss,
  siglipLossAndGrads,
  siglipLossAndGradsAsync,
  siglipLossValue,
  softmaxLossValue,
  SIGLIP_DEFAULT_BIAS,
  SIGLIP_DEFAULT_T_PRIME,
} from '../dist/index';
import type { SiglipOptions } from '../dist/index';
import { BACKENDS, tf, useBackend } from './backends';
import { errorsAgainst, randomLabels, referenceLoss, rng, roundedToBFloat16, unitRows } from './reference';

interface Case {
  name: string;
  n: number;
  m: number;
  dim: number;
  xLabels: (random: () => number) => Int32Array;
  yLabels: (random: () => number) => Int32Array;
  tPrime?: number;
  bias?: number;
  threads?: number;
}

const groups =
  (n: number, count: number, negatives = false) =>
  (random: () => number) =>
    randomLabels(random, n, count, negatives);

const cases: Case[] = [];
// Many duplicates, negatives, N != M, tile edges (tiles are 128) +-1.
for (const n of [1, 127, 128, 129]) {
  for (const m of [1, 129, 200]) {
    cases.push({
      name: 'duplicates',
      n,
      m,
      dim: 17,
      xLabels: groups(n, 5, true),
      yLabels: groups(m, 5, true),
    });
  }
}
cases.push({
  name: 'all unique (a permutation)',
  n: 150,
  m: 150,
  dim: 20,
  xLabels: () => Int32Array.from({ length: 150 }, (_, i) => (i * 37) % 150),
  yLabels: () => Int32Array.from({ length: 150 }, (_, j) => (j * 53) % 150),
});
cases.push({
  name: 'every row of one group',
  n: 90,
  m: 70,
  dim: 12,
  xLabels: () => new Int32Array(90),
  yLabels: () => new Int32Array(70),
});
cases.push({
  name: 'all negative labels',
  n: 60,
  m: 80,
  dim: 9,
  xLabels: () => new Int32Array(60).fill(-1),
  yLabels: () => new Int32Array(80).fill(-1),
});
for (const bias of [-50, 50]) {
  cases.push({
    name: 'extreme logits',
    n: 100,
    m: 90,
    dim: 16,
    tPrime: Math.log(1e3),
    bias,
    xLabels: groups(100, 4),
    yLabels: groups(90, 4),
  });
}
for (const threads of [1, 2, 3, 7]) {
  cases.push({
    name: 'threads',
    n: 140,
    m: 133,
    dim: 21,
    threads,
    xLabels: groups(140, 8),
    yLabels: groups(133, 8),
  });
}

function optionsOf(c: Case, seed: number): SiglipOptions {
  const random = rng(seed);
  return {
    positives: 'labels',
    xLabels: c.xLabels(random),
    yLabels: c.yLabels(random),
    ...(c.threads === undefined ? {} : { threads: c.threads }),
  };
}

describe('labels: raw, async and loss-only against float64', () => {
  cases.forEach((c, i) => {
    test(`${c.name} n=${c.n} m=${c.m} dim=${c.dim} t'=${c.tPrime ?? 'log 10'} b=${c.bias ?? -10} threads=${c.threads ?? 'default'}`, async () => {
      const random = rng(500 + i);
      const x = unitRows(random, c.n, c.dim);
      const y = unitRows(random, c.m, c.dim);
      const tPrime = c.tPrime ?? SIGLIP_DEFAULT_T_PRIME;
      const bias = c.bias ?? SIGLIP_DEFAULT_BIAS;
      const options = optionsOf(c, 900 + i);
      const want = referenceLoss(x, y, c.dim, tPrime, bias, options);
      const sync = siglipLossAndGrads(x, y, c.dim, tPrime, bias, options);
      for (const [name, err] of Object.entries(errorsAgainst(sync, want)))
        assert.ok(err <= 1e-5, `${name} ${err}`);
      const lossOnly = siglipLossValue(x, y, c.dim, tPrime, bias, options);
      assert.ok(
        Math.abs(lossOnly - want.loss) <= 1e-5 * Math.abs(want.loss),
        `loss-only ${lossOnly} vs ${want.loss}`,
      );
      const async = await siglipLossAndGradsAsync(x, y, c.dim, tPrime, bias, options);
      assert.equal(async.loss, sync.loss);
      assert.deepEqual(async.dx, sync.dx);
      assert.deepEqual(async.dy, sync.dy);
    });
  });
});

test('labels i and j give exactly the diagonal result, fp32 and bf16', () => {
  const random = rng(7);
  const x = unitRows(random, 200, 30);
  const y = unitRows(random, 170, 30);
  const labels: SiglipOptions = {
    positives: 'labels',
    xLabels: Int32Array.from({ length: 200 }, (_, i) => i),
    yLabels: Int32Array.from({ length: 170 }, (_, j) => j),
  };
  for (const precision of ['fp32', 'bf16'] as const) {
    const diagonal = siglipLossAndGrads(x, y, 30, 1.5, -6, { precision });
    const withLabels = siglipLossAndGrads(x, y, 30, 1.5, -6, { ...labels, precision });
    assert.equal(withLabels.loss, diagonal.loss);
    assert.equal(withLabels.dTPrime, diagonal.dTPrime);
    assert.equal(withLabels.dBias, diagonal.dBias);
    assert.deepEqual(withLabels.dx, diagonal.dx);
    assert.deepEqual(withLabels.dy, diagonal.dy);
  }
});

test('labels in bf16: fp32-accurate scalars on rounded inputs, G rounding on dX and dY', () => {
  const random = rng(8);
  const x = unitRows(random, 150, 40);
  const y = unitRows(random, 133, 40);
  const options: SiglipOptions = {
    positives: 'labels',
    xLabels: randomLabels(random, 150, 6, true),
    yLabels: randomLabels(random, 133, 6, true),
    precision: 'bf16',
  };
  const got = siglipLossAndGrads(x, y, 40, SIGLIP_DEFAULT_T_PRIME, SIGLIP_DEFAULT_BIAS, options);
  const want = referenceLoss(
    roundedToBFloat16(x),
    roundedToBFloat16(y),
    40,
    SIGLIP_DEFAULT_T_PRIME,
    SIGLIP_DEFAULT_BIAS,
    options,
  );
  const errors = errorsAgainst(got, want);
  assert.ok(errors.loss <= 1e-5 && errors.dBias <= 1e-5 && errors.dTPrime <= 1e-5, JSON.stringify(errors));
  // Many positives per row have nearly equal G, rounded alike: up to half a bf16 ulp.
  assert.ok(errors.dx <= 2 ** -8 && errors.dy <= 2 ** -8, JSON.stringify(errors));
});

for (const backend of BACKENDS) {
  describe(`labels through the op on '${backend.name}'`, { skip: backend.unavailable ?? false }, () => {
    test('tf.grads with Int32Array and int32 Tensor1D labels equals the reference', async () => {
      await useBackend(backend.name);
      const random = rng(9);
      const [n, m, dim] = [70, 90, 24];
      const x = unitRows(random, n, dim);
      const y = unitRows(random, m, dim);
      const xLabels = randomLabels(random, n, 7, true);
      const yLabels = randomLabels(random, m, 7, true);
      const want = referenceLoss(x, y, dim, 1.75, -4, { positives: 'labels', xLabels, yLabels });
      for (const asTensor of [false, true]) {
        const got = tf.tidy(() => {
          const labels = asTensor
            ? { xLabels: tf.tensor1d(xLabels, 'int32'), yLabels: tf.tensor1d(yLabels, 'int32') }
            : { xLabels, yLabels };
          const f = (a: tf.Tensor, b: tf.Tensor, tp: tf.Tensor, bias: tf.Tensor) =>
            siglipLoss(a as tf.Tensor2D, b as tf.Tensor2D, tp as tf.Scalar, bias as tf.Scalar, {
              positives: 'labels',
              ...labels,
            });
          const { value, grads } = tf.valueAndGrads(f)([
            tf.tensor2d(x, [n, dim]),
            tf.tensor2d(y, [m, dim]),
            tf.scalar(1.75),
            tf.scalar(-4),
          ]);
          return {
            loss: value.dataSync()[0] as number,
            dx: grads[0]!.dataSync(),
            dy: grads[1]!.dataSync(),
            dTPrime: grads[2]!.dataSync()[0] as number,
            dBias: grads[3]!.dataSync()[0] as number,
          };
        });
        for (const [name, err] of Object.entries(errorsAgainst(got, want)))
          assert.ok(err <= 1e-5, `${asTensor ? 'tensor' : 'Int32Array'} labels: ${name} ${err}`);
      }
      assert.throws(
        () =>
          siglipLoss(tf.tensor2d(x, [n, dim]), tf.tensor2d(y, [m, dim]), 1, 1, {
            positives: 'labels',
            xLabels: tf.tensor1d(Array.from(xLabels), 'float32') as tf.Tensor1D,
            yLabels,
          }),
        (e: Error) =>
          e instanceof TypeError &&
          /^options.xLabels must be an Int32Array or an int32 Tensor1D/.test(e.message),
      );
    });
  });
}

test("labels and the softmax loss on device 'cuda' without a GPU: 'no usable CUDA device'", (t) => {
  const info = backendInfo();
  if (info.cuda.available || /no CUDA module/.test(info.cuda.error ?? ''))
    return t.skip('a GPU, or no CUDA module');
  const x = new Float32Array(8).fill(0.5);
  const labels: SiglipOptions = {
    positives: 'labels',
    xLabels: new Int32Array(2),
    yLabels: new Int32Array(2),
  };
  assert.throws(() => siglipLossValue(x, x, 4, 1, 1, { ...labels, device: 'cuda' }), /no usable CUDA device/);
  assert.throws(() => softmaxLossValue(x, x, 4, 1, { device: 'cuda' }), /no usable CUDA device/);
});
