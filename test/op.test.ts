// siglipLoss as a tfjs op, on every backend: gradients through tf.grad(s)
// equal the raw API, training loops work, nothing leaks.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { getHeapStatistics } from 'node:v8';

import { siglipLoss, siglipLossAndGrads, siglipLossValue } from '../dist/index';
import { BACKENDS, tf, useBackend } from './backends';
import { errorsAgainst, referenceLoss, rng, unitRows } from './reference';

const N = 70;
const M = 90;
const D = 24;

function inputs(seed: number): { x: Float32Array; y: Float32Array } {
  const random = rng(seed);
  return { x: unitRows(random, N, D), y: unitRows(random, M, D) };
}

for (const backend of BACKENDS) {
  describe(`backend '${backend.name}'`, { skip: backend.unavailable ?? false }, () => {
    before(() => useBackend(backend.name));
    after(() => tf.disposeVariables());

    test('forward without a tape runs the loss-only pass', () => {
      const { x, y } = inputs(1);
      const loss = tf.tidy(() => siglipLoss(tf.tensor2d(x, [N, D]), tf.tensor2d(y, [M, D])).dataSync()[0]);
      const want = siglipLossValue(x, y, D, Math.log(10), -10);
      assert.ok(Math.abs((loss as number) - want) <= 1e-6 * want, `${loss} vs ${want}`);
    });

    test('tf.grads through the op equals the raw API and the reference', () => {
      const { x, y } = inputs(2);
      const options = { positiveOffset: 3 };
      const grads = tf.tidy(() => {
        const f = (a: tf.Tensor, b: tf.Tensor, tp: tf.Tensor, bias: tf.Tensor) =>
          siglipLoss(a as tf.Tensor2D, b as tf.Tensor2D, tp as tf.Scalar, bias as tf.Scalar, options);
        return tf
          .grads(f)([tf.tensor2d(x, [N, D]), tf.tensor2d(y, [M, D]), tf.scalar(1.75), tf.scalar(-4)])
          .map((g) => g.dataSync());
      });
      const raw = siglipLossAndGrads(x, y, D, 1.75, -4, options);
      assert.deepEqual(grads[0], raw.dx);
      assert.deepEqual(grads[1], raw.dy);
      assert.ok(Math.abs((grads[2]![0] as number) - raw.dTPrime) <= 1e-6 * Math.abs(raw.dTPrime));
      assert.ok(Math.abs((grads[3]![0] as number) - raw.dBias) <= 1e-6 * Math.abs(raw.dBias));
      const want = referenceLoss(x, y, D, 1.75, -4, options);
      const got = {
        loss: raw.loss,
        dx: grads[0]!,
        dy: grads[1]!,
        dTPrime: grads[2]![0] as number,
        dBias: grads[3]![0] as number,
      };
      for (const [name, err] of Object.entries(errorsAgainst(got, want)))
        assert.ok(err <= 1e-5, `${name} ${err}`);
    });

    test('the upstream gradient scales the result (chain rule through other ops)', () => {
      const { x, y } = inputs(3);
      const [once, scaled] = tf.tidy(() => {
        const xt = tf.tensor2d(x, [N, D]);
        const yt = tf.tensor2d(y, [M, D]);
        const g1 = tf.grad((a: tf.Tensor) => siglipLoss(a as tf.Tensor2D, yt))(xt);
        const g3 = tf.grad((a: tf.Tensor) => tf.mul(siglipLoss(a as tf.Tensor2D, yt), 3))(xt);
        return [g1.dataSync(), g3.dataSync()];
      });
      once!.forEach((v, i) =>
        assert.ok(Math.abs(3 * v - (scaled![i] as number)) <= 1e-6 * Math.abs(3 * v) + 1e-12),
      );
    });

    test('tf.valueAndGrads and tf.variableGrads', () => {
      const { x, y } = inputs(4);
      tf.tidy(() => {
        const xt = tf.tensor2d(x, [N, D]);
        const yt = tf.tensor2d(y, [M, D]);
        const { value, grads } = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) =>
          siglipLoss(a as tf.Tensor2D, b as tf.Tensor2D),
        )([xt, yt]);
        const raw = siglipLossAndGrads(x, y, D, Math.log(10), -10);
        assert.ok(Math.abs((value.dataSync()[0] as number) - raw.loss) <= 1e-6 * raw.loss);
        assert.deepEqual(grads[1]!.dataSync(), raw.dy);

        const tPrime = tf.variable(tf.scalar(Math.log(10)), true, `tp-${backend.name}`);
        const bias = tf.variable(tf.scalar(-10), true, `b-${backend.name}`);
        const vg = tf.variableGrads(() => siglipLoss(xt, yt, tPrime, bias), [tPrime, bias]);
        assert.ok(
          Math.abs((vg.grads[tPrime.name]!.dataSync()[0] as number) - raw.dTPrime) <=
            1e-6 * Math.abs(raw.dTPrime),
        );
        assert.ok(
          Math.abs((vg.grads[bias.name]!.dataSync()[0] as number) - raw.dBias) <= 1e-6 * Math.abs(raw.dBias),
        );
      });
    });

    test("optimizer.minimize with learnable t' and b lowers the loss", () => {
      const random = rng(6);
      const x = tf.variable(tf.tensor2d(unitRows(random, 32, 16), [32, 16]), true, `x-${backend.name}`);
      const y = tf.variable(tf.tensor2d(unitRows(random, 32, 16), [32, 16]), true, `y-${backend.name}`);
      const tPrime = tf.variable(tf.scalar(Math.log(10)), true, `tp2-${backend.name}`);
      const bias = tf.variable(tf.scalar(-10), true, `b2-${backend.name}`);
      const optimizer = tf.train.adam(0.05);
      const lossAt = (): number => tf.tidy(() => siglipLoss(x, y, tPrime, bias).dataSync()[0] as number);
      const first = lossAt();
      for (let step = 0; step < 30; step++) {
        optimizer.minimize(() => siglipLoss(x, y, tPrime, bias), false)?.dispose();
      }
      const last = lossAt();
      assert.ok(last < 0.5 * first, `loss ${first} -> ${last}`);
      assert.notEqual(bias.dataSync()[0], -10, 'the bias was trained');
      optimizer.dispose();
    });

    test('thousands of calls inside tf.tidy leak no tensors and no memory', async () => {
      // Rows enough that a leak of each call's gradients (2 x 256 x 32 floats) stands far above
      // the measurement's noise (up to 38 MiB between runs, Node 26 on wasm).
      const rows = 256;
      const dim = 32;
      const random = rng(7);
      const xt = tf.tensor2d(unitRows(random, rows, dim), [rows, dim]);
      const yt = tf.tensor2d(unitRows(random, rows, dim), [rows, dim]);
      const step = (): void =>
        tf.tidy(() => {
          siglipLoss(xt, yt, 1, -5);
          tf.grads((a: tf.Tensor, b: tf.Tensor) => siglipLoss(a as tf.Tensor2D, b as tf.Tensor2D, 1, -5))([
            xt,
            yt,
          ]);
        });
      // Not the RSS: V8 grows its heap in steps of 16-64 MiB for thousands of calls (to 150 MiB
      // on Node 24 for 9 MiB in use), and frees ArrayBuffers' memory only once a collection is
      // swept. So, after collections: the JS heap in use, and the resident memory outside V8's
      // heap (the RSS less the heap's resident pages).
      const settled = async (): Promise<{ heap: number; outsideHeap: number }> => {
        for (let i = 0; i < 3; i++) {
          global.gc!();
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        const heap = getHeapStatistics();
        return {
          heap: heap.used_heap_size,
          outsideHeap: process.memoryUsage().rss - heap.total_physical_size,
        };
      };
      assert.equal(typeof global.gc, 'function', 'npm test runs node with --expose-gc');
      for (let i = 0; i < 1000; i++) step(); // TensorFlow's allocator grows during the first ~1000 calls
      const tensors = tf.memory().numTensors;
      const before = await settled();
      const calls = 3000;
      for (let i = 0; i < calls; i++) step();
      const after = await settled();
      assert.equal(tf.memory().numTensors, tensors);
      const MiB = 2 ** 20;
      const heapGrowth = (after.heap - before.heap) / MiB;
      assert.ok(heapGrowth < 2, `the JS heap in use grew ${heapGrowth.toFixed(1)} MiB over ${calls} calls`);
      // Keeping each call's gradient buffers (64 KiB) would add 188 MiB here; without a leak it
      // grew by up to 38 MiB (Node 26, wasm), so the bound sits between.
      const nativeGrowth = (after.outsideHeap - before.outsideHeap) / MiB;
      assert.ok(
        nativeGrowth < 64,
        `memory outside the JS heap grew ${nativeGrowth.toFixed(1)} MiB over ${calls} calls`,
      );
      tf.dispose([xt, yt]);
    });

    test('bad tensors are rejected with errors naming the argument', () => {
      tf.tidy(() => {
        const x = tf.ones([4, 3]) as tf.Tensor2D;
        const cases: [() => unknown, ErrorConstructor, RegExp][] = [
          [() => siglipLoss(tf.ones([4]) as unknown as tf.Tensor2D, x), RangeError, /^x must be rank 2/],
          [
            () => siglipLoss(x, tf.ones([2, 3, 1]) as unknown as tf.Tensor2D),
            RangeError,
            /^y must be rank 2/,
          ],
          [
            () => siglipLoss(tf.ones([4, 3], 'int32') as tf.Tensor2D, x),
            TypeError,
            /^x must have dtype float32/,
          ],
          [() => siglipLoss(x, tf.ones([4, 2]) as tf.Tensor2D), RangeError, /same dim/],
          [() => siglipLoss(x, tf.zeros([0, 3]) as tf.Tensor2D), RangeError, /^y must not be empty/],
          [() => siglipLoss(x, x, tf.ones([2])), RangeError, /^tPrime must be a scalar/],
          [() => siglipLoss(x, x, NaN), RangeError, /^tPrime must be finite/],
          [() => siglipLoss(x, x, 1, Infinity), RangeError, /^bias must be finite/],
          [
            () => siglipLoss(x, x, 1, 'a' as unknown as number),
            TypeError,
            /^bias must be a number or a tf.Scalar/,
          ],
          [() => siglipLoss([[1]] as unknown as tf.Tensor2D, x), TypeError, /^x must be a tf.Tensor2D/],
          [() => siglipLoss(x, x, 1, 1, { threads: 0 }), RangeError, /^options.threads/],
          [() => siglipLoss(x, x, 1, 1, { positives: 'all' as 'none' }), RangeError, /^options.positives/],
          [
            () => siglipLoss(x, x, 1, 1, { treads: 2 } as object),
            RangeError,
            /^options.treads is not an option/,
          ],
        ];
        for (const [call, type, message] of cases)
          assert.throws(call, (e: Error) => e instanceof type && message.test(e.message));
        const disposed = tf.ones([4, 3]) as tf.Tensor2D;
        disposed.dispose();
        assert.throws(() => siglipLoss(disposed, x), /^TypeError: x is disposed/);
      });
    });
  });
}
