// precision 'bf16' on the CPU: against the float64 reference of the
// bf16-rounded inputs the dot products are exact up to fp32 sums, so the loss
// and the scalar gradients keep fp32 accuracy and dX, dY carry only G's
// rounding; against the unrounded inputs, the documented 1e-2.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  backendInfo,
  siglipLoss,
  siglipLossAndGrads,
  siglipLossValue,
  softmaxLossValue,
} from '../dist/index';
import { tf, useBackend } from './backends';
import { errorsAgainst, referenceLoss, rng, roundedToBFloat16, unitRows } from './reference';

const cases = [
  { n: 1, m: 1, dim: 1 },
  { n: 37, m: 130, dim: 17 },
  { n: 129, m: 100, dim: 100 },
  { n: 200, m: 257, dim: 211, threads: 3 },
];

for (const c of cases) {
  test(`bf16 n=${c.n} m=${c.m} dim=${c.dim}: fp32-accurate on rounded inputs, 1e-2 on exact ones`, () => {
    const random = rng(c.n + c.m + c.dim);
    const x = unitRows(random, c.n, c.dim);
    const y = unitRows(random, c.m, c.dim);
    const options = { precision: 'bf16' as const, threads: c.threads ?? 2 };
    const got = siglipLossAndGrads(x, y, c.dim, Math.log(10), -10, options);
    const rounded = errorsAgainst(
      got,
      referenceLoss(roundedToBFloat16(x), roundedToBFloat16(y), c.dim, Math.log(10), -10),
    );
    for (const name of ['loss', 'dTPrime', 'dBias'] as const)
      assert.ok(rounded[name] <= 1e-5, `${name} ${rounded[name]}`);
    for (const name of ['dx', 'dy'] as const) assert.ok(rounded[name] <= 3e-3, `${name} ${rounded[name]}`);
    const exact = errorsAgainst(got, referenceLoss(x, y, c.dim, Math.log(10), -10));
    for (const [name, err] of Object.entries(exact)) assert.ok(err <= 1e-2, `${name} ${err} (exact inputs)`);
    const lossOnly = siglipLossValue(x, y, c.dim, Math.log(10), -10, options);
    assert.ok(Math.abs(lossOnly - got.loss) <= 1e-6 * got.loss, `loss-only ${lossOnly} vs ${got.loss}`);
  });
}

test('bf16 differs from fp32 (the option is not ignored) and backendInfo says how it runs', () => {
  const random = rng(9);
  const x = unitRows(random, 64, 48);
  const y = unitRows(random, 64, 48);
  const fp32 = siglipLossAndGrads(x, y, 48, 2, -5);
  const bf16 = siglipLossAndGrads(x, y, 48, 2, -5, { precision: 'bf16' });
  assert.notEqual(bf16.loss, fp32.loss);
  assert.ok(Math.abs(bf16.loss - fp32.loss) < 1e-2 * fp32.loss);
  assert.match(backendInfo().bf16, /^(avx512-bf16|fp32-widened)$/);
  assert.throws(() => softmaxLossValue(x, y, 48, 2, { precision: 'bf16' } as object), /precision/);
});

test("siglipLoss with precision 'bf16' under tf.grad", async () => {
  await useBackend('cpu');
  const random = rng(10);
  const xs = unitRows(random, 40, 24);
  const ys = unitRows(random, 50, 24);
  const want = siglipLossAndGrads(xs, ys, 24, Math.log(10), -10, { precision: 'bf16' });
  const [dx, dy] = tf.tidy(() =>
    tf.grads((x: tf.Tensor, y: tf.Tensor) =>
      siglipLoss(x as tf.Tensor2D, y as tf.Tensor2D, Math.log(10), -10, { precision: 'bf16' }),
    )([tf.tensor2d(xs, [40, 24]), tf.tensor2d(ys, [50, 24])]),
  ) as [tf.Tensor, tf.Tensor];
  assert.deepEqual(dx.dataSync(), want.dx);
  assert.deepEqual(dy.dataSync(), want.dy);
  tf.dispose([dx, dy]);
});
