// The native boundary under hostile use: buffers detached, transferred,
// shrunk or collected while an async call runs; aborts; many calls in
// flight; calls from worker threads. Nothing may crash, and results stay right.
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';

import {
  siglipLossAndGrads,
  siglipLossAndGradsAsync,
  softmaxLossAndGrads,
  softmaxLossAndGradsAsync,
} from '../dist/index';
import { rng, unitRows } from './reference';

const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

function pair(seed: number, n: number, dim: number): { x: Float32Array; y: Float32Array } {
  const random = rng(seed);
  return { x: unitRows(random, n, dim), y: unitRows(random, n, dim) };
}

type Vandal = (a: Float32Array) => void;
const vandals: [string, Vandal][] = [
  [
    'structuredClone transfer',
    (a) => void structuredClone(a.buffer, { transfer: [a.buffer as ArrayBuffer] }),
  ],
  ['overwritten with NaN', (a) => a.fill(NaN)],
];
const transfer = (ArrayBuffer.prototype as { transfer?: (this: ArrayBuffer) => ArrayBuffer }).transfer;
if (typeof transfer === 'function') {
  vandals.push(['ArrayBuffer.prototype.transfer', (a) => void transfer.call(a.buffer as ArrayBuffer)]);
}

for (const [name, vandalize] of vandals) {
  test(`async call survives its inputs being ${name} and collected`, async () => {
    const { x, y } = pair(1, 1024, 256);
    const want = siglipLossAndGrads(x, y, 256, 1, -5, { threads: 2 });
    const wantSoftmax = softmaxLossAndGrads(x, y, 256, 1, { threads: 2 });
    const pending = siglipLossAndGradsAsync(x, y, 256, 1, -5, { threads: 2 });
    const pendingSoftmax = softmaxLossAndGradsAsync(x.slice(), y.slice(), 256, 1, { threads: 2 });
    vandalize(x);
    vandalize(y);
    gc();
    const got = await pending;
    assert.equal(got.loss, want.loss);
    assert.deepEqual(got.dx, want.dx);
    assert.deepEqual(got.dy, want.dy);
    assert.equal((await pendingSoftmax).loss, wantSoftmax.loss);
  });
}

test('async call survives a resizable buffer shrunk to nothing', async () => {
  const { x, y } = pair(2, 512, 128);
  const want = siglipLossAndGrads(x, y, 128, 1, -5);
  const buffer = new (
    ArrayBuffer as unknown as new (n: number, o: object) => ArrayBuffer & { resize(n: number): void }
  )(x.byteLength, { maxByteLength: 2 * x.byteLength });
  const resizable = new Float32Array(buffer);
  resizable.set(x);
  const pending = siglipLossAndGradsAsync(resizable, y, 128, 1, -5);
  buffer.resize(0);
  gc();
  assert.equal((await pending).loss, want.loss);
});

test('async call survives its buffer being transferred to a worker thread', async () => {
  const { x, y } = pair(3, 512, 128);
  const want = siglipLossAndGrads(x, y, 128, 1, -5);
  const worker = new Worker(
    'require("node:worker_threads").parentPort.once("message", () => process.exit(0))',
    {
      eval: true,
    },
  );
  const pending = siglipLossAndGradsAsync(x, y, 128, 1, -5);
  worker.postMessage(x.buffer, [x.buffer as ArrayBuffer]);
  assert.equal(x.length, 0); // detached here
  assert.equal((await pending).loss, want.loss);
  await new Promise((resolve) => worker.once('exit', resolve));
});

test('SharedArrayBuffer inputs are read in place and give the same result', async () => {
  const { x, y } = pair(4, 300, 64);
  const shared = new Float32Array(new SharedArrayBuffer(x.byteLength));
  shared.set(x);
  const want = siglipLossAndGrads(x, y, 64, 1, -5);
  const got = await siglipLossAndGradsAsync(shared, y, 64, 1, -5);
  assert.equal(got.loss, want.loss);
  assert.deepEqual(got.dx, want.dx);
});

for (const threads of [1, 2]) {
  test(`an abort stops a long pass within a second (threads ${threads}) and rejects with AbortError`, async () => {
    const { x, y } = pair(5, 4096, 768);
    for (const loss of ['sigmoid', 'softmax'] as const) {
      const controller = new AbortController();
      const pending =
        loss === 'sigmoid'
          ? siglipLossAndGradsAsync(x, y, 768, 1, -5, { threads, signal: controller.signal })
          : softmaxLossAndGradsAsync(x, y, 768, 1, { threads, signal: controller.signal });
      await new Promise((resolve) => setTimeout(resolve, 150));
      const abortedAt = performance.now();
      controller.abort(new Error('enough'));
      await assert.rejects(pending, (e: Error & { code?: string; cause?: unknown }) => {
        const latency = performance.now() - abortedAt;
        assert.equal(e.name, 'AbortError');
        assert.equal(e.code, 'ABORT_ERR');
        assert.equal((e.cause as Error).message, 'enough');
        assert.ok(latency < 1000, `${loss}: stopped ${latency.toFixed(0)} ms after the abort`);
        return true;
      });
      assert.equal(getEventListeners(controller.signal, 'abort').length, 0, 'listener removed');
    }
  });
}

test('a signal aborted before the call rejects at once; a finished call leaves no listener', async () => {
  const { x, y } = pair(6, 64, 8);
  await assert.rejects(siglipLossAndGradsAsync(x, y, 8, 1, -5, { signal: AbortSignal.abort() }), {
    name: 'AbortError',
  });
  const controller = new AbortController();
  const got = await siglipLossAndGradsAsync(x, y, 8, 1, -5, { signal: controller.signal });
  assert.equal(got.loss, siglipLossAndGrads(x, y, 8, 1, -5).loss);
  assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  controller.abort(); // after settling: nothing happens
});

function threadCount(): number {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  return Number(/^Threads:\s+(\d+)/m.exec(status)?.[1]);
}

test('64 async calls of both losses in flight equal a serial run; threads stay bounded', async (t) => {
  if (!fs.existsSync('/proc/self/status')) return t.skip('no /proc here');
  const inputs = Array.from({ length: 64 }, (_, i) => pair(100 + i, 100 + 7 * i, 32));
  const serial = inputs.map(({ x, y }, i) =>
    i % 2 ? softmaxLossAndGrads(x, y, 32, 1).loss : siglipLossAndGrads(x, y, 32, 1, -5).loss,
  );
  const before = threadCount();
  const pending = inputs.map(({ x, y }, i) =>
    i % 2 ? softmaxLossAndGradsAsync(x, y, 32, 1) : siglipLossAndGradsAsync(x, y, 32, 1, -5),
  );
  let most = before;
  const sampler = setInterval(() => (most = Math.max(most, threadCount())), 1);
  const results = await Promise.all(pending);
  clearInterval(sampler);
  assert.deepEqual(
    results.map((r) => r.loss),
    serial,
  );
  // libuv's pool (UV_THREADPOOL_SIZE, 4 by default) runs the calls; each adds
  // (threads - 1) ring workers while it runs.
  const pool = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
  const workers = pool * (os.availableParallelism() - 1);
  assert.ok(most - before <= pool + workers, `threads ${before} -> at most ${most}`);
});

const dist = path.join(__dirname, '..', 'dist', 'index.js');

function inWorker<T>(code: string, data: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const siglip = require(${JSON.stringify(dist)});
       parentPort.postMessage((() => { ${code} })());`,
      { eval: true, workerData: data },
    );
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

test('worker threads calling the sync API and the tfjs op agree with the main thread', async () => {
  const { x, y } = pair(7, 300, 40);
  const want = siglipLossAndGrads(x, y, 40, 1, -5);
  const raw = await Promise.all(
    Array.from({ length: 4 }, () =>
      inWorker<{ loss: number; dx: Float32Array }>(
        'return siglip.siglipLossAndGrads(workerData.x, workerData.y, 40, 1, -5);',
        { x, y },
      ),
    ),
  );
  for (const r of raw) {
    assert.equal(r.loss, want.loss);
    assert.deepEqual(r.dx, want.dx);
  }
  const op = await Promise.all(
    Array.from({ length: 3 }, () =>
      inWorker<Float32Array>(
        `const tf = require('@tensorflow/tfjs-core'); require('@tensorflow/tfjs-backend-cpu');
         tf.setBackend('cpu');
         const xt = tf.tensor2d(workerData.x, [300, 40]), yt = tf.tensor2d(workerData.y, [300, 40]);
         return tf.grad((a) => siglip.siglipLoss(a, yt, 1, -5))(xt).dataSync();`,
        { x, y },
      ),
    ),
  );
  for (const dx of op) assert.deepEqual(dx, want.dx);
});
