// A property test of the addon's argument parsing: random types and values
// for every argument and option of every entry point. Each call must throw a
// TypeError or RangeError, or give a number (finite or NaN) — never crash,
// never another error. Seeded, so a failure reproduces.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as siglip from '../dist/index';
import { rng } from './reference';

const random = rng(20261202);
const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)] as T;

function anyValue(depth = 0): unknown {
  const float32 = (n: number) =>
    Float32Array.from({ length: n }, () => pick([0, 1, -2.5, NaN, Infinity, 1e38, 5e-45]));
  const shared = new Float32Array(new SharedArrayBuffer(4 * 8)).fill(0.5);
  const detached = new Float32Array(8);
  structuredClone(detached.buffer, { transfer: [detached.buffer] });
  return pick<() => unknown>([
    () => undefined,
    () => null,
    () => pick([0, 1, 2, 3, 4, 8, -1, 0.5, NaN, Infinity, -Infinity, 2 ** 53, 1e300, -0]),
    () => pick(['', 'diagonal', 'none', 'labels', 'fp32', 'bf16', 'tf32', 'cpu', 'cuda', 'auto', 'x']),
    () => pick([true, false]),
    () => 10n,
    () => Symbol('s'),
    () => () => 1,
    () => float32(pick([0, 1, 2, 4, 6, 8, 12, 16])),
    () => shared,
    () => detached,
    () => new Float32Array(new ArrayBuffer(64), 4, 8),
    () => Int32Array.from({ length: pick([0, 1, 2, 3, 4, 8]) }, () => pick([-3, -1, 0, 1, 2, 2 ** 31 - 1])),
    () => new Float64Array(8),
    () => new Uint8Array(8),
    () => [1, 2, 3],
    () => new AbortController().signal,
    () => AbortSignal.abort(),
    () => ({ aborted: false, addEventListener: 1 }),
    () => (depth < 2 ? anyOptions(depth + 1) : {}),
  ])();
}

const OPTION_NAMES = [
  'positives',
  'positiveOffset',
  'threads',
  'device',
  'precision',
  'xLabels',
  'yLabels',
  'signal',
];

function anyOptions(depth = 0): unknown {
  if (random() < 0.1) return anyValue(depth + 1);
  const options: Record<string, unknown> = {};
  for (const name of OPTION_NAMES) if (random() < 0.15) options[name] = anyValue(depth + 1);
  if (random() < 0.05) options.unknownOption = 1;
  return options;
}

function acceptable(result: unknown): boolean {
  if (typeof result === 'number') return true;
  const r = result as { loss?: unknown; dx?: unknown };
  return typeof r?.loss === 'number' && r.dx instanceof Float32Array;
}

function isArgumentError(error: unknown): boolean {
  if (error instanceof TypeError || error instanceof RangeError) return true;
  // An aborted signal, or device 'cuda' where no GPU is: clear errors too.
  return (error as Error)?.name === 'AbortError' || /cuda/i.test((error as Error)?.message);
}

// A valid call, perturbed: most calls then get past the first argument.
function anyArguments(): unknown[] {
  const dim = pick([1, 2, 4]);
  const args: unknown[] = [
    new Float32Array(4).fill(0.25),
    new Float32Array(4).fill(0.5),
    dim,
    Math.log(10),
    -10,
    anyOptions(),
  ];
  const changes = random() < 0.4 ? 0 : 1 + Math.floor(random() * 2);
  for (let c = 0; c < changes; c++) args[Math.floor(random() * args.length)] = anyValue();
  if (random() < 0.1) args.length = Math.floor(random() * args.length);
  return args;
}

type Entry = (...args: unknown[]) => unknown;
const entries: [string, Entry, boolean][] = [
  ['siglipLossAndGrads', siglip.siglipLossAndGrads as Entry, false],
  ['siglipLossValue', siglip.siglipLossValue as Entry, false],
  ['siglipLossAndGradsAsync', siglip.siglipLossAndGradsAsync as Entry, true],
  [
    'softmaxLossAndGrads',
    ((x, y, dim, tp, _b, o) =>
      siglip.softmaxLossAndGrads(x as never, y as never, dim as never, tp as never, o as never)) as Entry,
    false,
  ],
  [
    'softmaxLossValue',
    ((x, y, dim, tp, _b, o) =>
      siglip.softmaxLossValue(x as never, y as never, dim as never, tp as never, o as never)) as Entry,
    false,
  ],
  [
    'softmaxLossAndGradsAsync',
    ((x, y, dim, tp, _b, o) =>
      siglip.softmaxLossAndGradsAsync(
        x as never,
        y as never,
        dim as never,
        tp as never,
        o as never,
      )) as Entry,
    true,
  ],
];

test('3000 random calls: an argument error or a number, never a crash', async () => {
  const outcomes = { errors: 0, results: 0 };
  for (let i = 0; i < 3000; i++) {
    const [name, entry, isAsync] = pick(entries);
    const args = anyArguments();
    const describe = () =>
      `${name}(${args.map((a) => (typeof a === 'object' && a !== null ? a.constructor.name : String(a))).join(', ')})`;
    try {
      const result = isAsync ? await (entry(...args) as Promise<unknown>) : entry(...args);
      assert.ok(acceptable(result), `${describe()} returned ${String(result)}`);
      outcomes.results++;
    } catch (error) {
      if (error instanceof assert.AssertionError) throw error;
      assert.ok(isArgumentError(error), `${describe()} threw ${String(error)}`);
      outcomes.errors++;
    }
  }
  // Both outcomes occur, or the generator tests nothing.
  assert.ok(outcomes.results > 100 && outcomes.errors > 100, JSON.stringify(outcomes));
});
