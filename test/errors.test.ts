// Bad input to the raw API: a TypeError or RangeError naming the argument.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  siglipLossAndGrads,
  siglipLossAndGradsAsync,
  siglipLossValue,
  softmaxLossAndGrads,
} from '../dist/index';

const x = new Float32Array(12).fill(0.5);
const y = new Float32Array(8).fill(0.25);

type Args = Parameters<typeof siglipLossAndGrads>;

const cases: [string, Args, ErrorConstructor, RegExp][] = [
  [
    'x not a Float32Array',
    [[1, 2] as unknown as Float32Array, y, 4, 1, 1],
    TypeError,
    /^x must be a Float32Array/,
  ],
  [
    'x Float64Array',
    [new Float64Array(12) as unknown as Float32Array, y, 4, 1, 1],
    TypeError,
    /^x must be a Float32Array/,
  ],
  ['y missing', [x, undefined as unknown as Float32Array, 4, 1, 1], TypeError, /^y must be a Float32Array/],
  ['empty x', [new Float32Array(0), y, 4, 1, 1], RangeError, /^x must not be empty/],
  ['dim zero', [x, y, 0, 1, 1], RangeError, /^dim must be a positive integer/],
  ['dim fractional', [x, y, 2.5, 1, 1], RangeError, /^dim must be an integer/],
  ['dim string', [x, y, '4' as unknown as number, 1, 1], TypeError, /^dim must be a number/],
  ['x length not a multiple', [x, y, 5, 1, 1], RangeError, /^x.length \(12\) is not a multiple of dim \(5\)/],
  ['y length not a multiple', [x, y, 3, 1, 1], RangeError, /^y.length \(8\) is not a multiple of dim \(3\)/],
  ['tPrime NaN', [x, y, 4, NaN, 1], RangeError, /^tPrime must be finite/],
  ['tPrime huge', [x, y, 4, 100, 1], RangeError, /^tPrime must be at most/],
  ['bias infinite', [x, y, 4, 1, -Infinity], RangeError, /^bias must be finite/],
  ['bias missing', [x, y, 4, 1, undefined as unknown as number], TypeError, /^bias must be a number/],
  ['options not object', [x, y, 4, 1, 1, 3 as unknown as object], TypeError, /^options must be an object/],
  [
    'unknown option',
    [x, y, 4, 1, 1, { thread: 2 } as object],
    RangeError,
    /^options.thread is not an option/,
  ],
  ['bad positives', [x, y, 4, 1, 1, { positives: 'diag' as 'none' }], RangeError, /^options.positives/],
  [
    'offset fractional',
    [x, y, 4, 1, 1, { positiveOffset: 0.5 }],
    RangeError,
    /^options.positiveOffset must be an integer/,
  ],
  [
    'threads zero',
    [x, y, 4, 1, 1, { threads: 0 }],
    RangeError,
    /^options.threads must be an integer in \[1, 1024\]/,
  ],
  ['bad device', [x, y, 4, 1, 1, { device: 'gpu' as 'cpu' }], RangeError, /^options.device must be/],
  [
    'bad precision',
    [x, y, 4, 1, 1, { precision: 'fp16' as 'bf16' }],
    RangeError,
    /^options.precision must be/,
  ],
  ['threads huge', [x, y, 4, 1, 1, { threads: 5000 }], RangeError, /^options.threads/],
  [
    'short xLabels',
    [x, y, 4, 1, 1, { positives: 'labels', xLabels: new Int32Array(2), yLabels: new Int32Array(2) }],
    RangeError,
    /^options.xLabels must have one label per row of x \(3\), got 2/,
  ],
  [
    'long yLabels',
    [x, y, 4, 1, 1, { positives: 'labels', xLabels: new Int32Array(3), yLabels: new Int32Array(3) }],
    RangeError,
    /^options.yLabels must have one label per row of y \(2\), got 3/,
  ],
  [
    'xLabels not Int32Array',
    [
      x,
      y,
      4,
      1,
      1,
      { positives: 'labels', xLabels: [0, 1, 2] as unknown as Int32Array, yLabels: new Int32Array(2) },
    ],
    TypeError,
    /^options.xLabels must be an Int32Array/,
  ],
  [
    'yLabels Uint32Array',
    [
      x,
      y,
      4,
      1,
      1,
      {
        positives: 'labels',
        xLabels: new Int32Array(3),
        yLabels: new Uint32Array(2) as unknown as Int32Array,
      },
    ],
    TypeError,
    /^options.yLabels must be an Int32Array/,
  ],
  [
    'labels missing',
    [x, y, 4, 1, 1, { positives: 'labels', xLabels: new Int32Array(3) }],
    TypeError,
    /^options.yLabels must be an Int32Array with positives: 'labels'/,
  ],
  [
    'labels without positives: labels',
    [x, y, 4, 1, 1, { xLabels: new Int32Array(3), yLabels: new Int32Array(2) }],
    RangeError,
    /^options.xLabels is only read with positives: 'labels'/,
  ],
  [
    'signal not an AbortSignal',
    [x, y, 4, 1, 1, { signal: {} as AbortSignal }],
    TypeError,
    /^options.signal must be an AbortSignal/,
  ],
];

for (const [name, args, type, message] of cases) {
  test(`rejects ${name}`, async () => {
    const matches = (e: Error): boolean => e instanceof type && message.test(e.message);
    assert.throws(() => siglipLossAndGrads(...args), matches);
    assert.throws(() => siglipLossValue(...args), matches);
    await assert.rejects(siglipLossAndGradsAsync(...args), matches);
  });
}

test('softmax rejects labels, naming the option', () => {
  const labels = { xLabels: new Int32Array(2), yLabels: new Int32Array(2) } as object;
  assert.throws(
    () => softmaxLossAndGrads(y, y, 4, 1, labels),
    (e: Error) => e instanceof RangeError && /^options.xLabels is not an option/.test(e.message),
  );
});

test('a sync call rejects options.signal: it cannot be aborted', () => {
  assert.throws(
    () => siglipLossAndGrads(x, y, 4, 1, 1, { signal: new AbortController().signal }),
    (e: Error) => e instanceof TypeError && /^options.signal is read by the async calls only/.test(e.message),
  );
});

test('rejects a detached buffer', () => {
  const detached = new Float32Array(12);
  structuredClone(detached.buffer, { transfer: [detached.buffer] });
  assert.throws(
    () => siglipLossAndGrads(detached, y, 4, 1, 1),
    /^TypeError: x is backed by a detached ArrayBuffer/,
  );
});

test('a subarray view is read at its offset', () => {
  const big = new Float32Array(16).fill(9);
  big.set(x, 4);
  const view = big.subarray(4, 16);
  assert.equal(siglipLossValue(view, y, 4, 1, 1), siglipLossValue(x, y, 4, 1, 1));
});
