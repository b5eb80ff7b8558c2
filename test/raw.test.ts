// The raw API against the float64 reference on randomized cases.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  backendInfo,
  siglipLossAndGrads,
  siglipLossAndGradsAsync,
  siglipLossValue,
  SIGLIP_DEFAULT_BIAS,
  SIGLIP_DEFAULT_T_PRIME,
} from '../dist/index';
import type { SiglipOptions } from '../dist/index';
import { errorsAgainst, loadTestVector, referenceLoss, rng, unitRows } from './reference';

const TOLERANCE = 1e-5;

interface Case {
  n: number;
  m: number;
  dim: number;
  tPrime?: number;
  bias?: number;
  options?: SiglipOptions;
}

function checkCase(c: Case, seed: number): void {
  const random = rng(seed);
  const x = unitRows(random, c.n, c.dim);
  const y = unitRows(random, c.m, c.dim);
  const tPrime = c.tPrime ?? SIGLIP_DEFAULT_T_PRIME;
  const bias = c.bias ?? SIGLIP_DEFAULT_BIAS;
  const options = c.options ?? {};
  const got = siglipLossAndGrads(x, y, c.dim, tPrime, bias, options);
  const want = referenceLoss(x, y, c.dim, tPrime, bias, options);
  const errors = errorsAgainst(got, want);
  for (const [name, err] of Object.entries(errors)) {
    assert.ok(err <= TOLERANCE, `${JSON.stringify(c)}: ${name} relative error ${err}`);
  }
  const lossOnly = siglipLossValue(x, y, c.dim, tPrime, bias, options);
  assert.ok(Math.abs(lossOnly - want.loss) <= TOLERANCE * Math.abs(want.loss), `loss-only ${lossOnly}`);
}

describe('raw API matches the float64 reference', () => {
  const cases: Case[] = [];
  // sizes 1, primes and tile edges (tiles are 64) +-1; N != M; odd dims
  for (const n of [1, 2, 13, 63, 64, 65, 129]) {
    for (const m of [1, 31, 64, 127]) cases.push({ n, m, dim: [1, 17, 40][(n + m) % 3] as number });
  }
  for (const dim of [3, 15, 16, 33, 100]) cases.push({ n: 37, m: 41, dim });
  for (const positiveOffset of [-130, -64, -3, 5, 64, 200]) {
    cases.push({ n: 97, m: 70, dim: 24, options: { positiveOffset } });
  }
  cases.push({ n: 50, m: 90, dim: 20, options: { positives: 'none' } });
  for (const bias of [-50, 50]) cases.push({ n: 80, m: 67, dim: 32, tPrime: Math.log(1e3), bias });
  cases.push({ n: 70, m: 70, dim: 19, tPrime: 0, bias: 0 });
  for (const threads of [1, 2, 3, 7]) cases.push({ n: 150, m: 133, dim: 21, options: { threads } });

  cases.forEach((c, i) => {
    test(`n=${c.n} m=${c.m} dim=${c.dim} ${JSON.stringify(c.options ?? {})} t'=${c.tPrime ?? 'log 10'} b=${c.bias ?? -10}`, () =>
      checkCase(c, 1000 + i));
  });
});

test('agrees with the shared float64 test vector', (t) => {
  const v = loadTestVector();
  if (v === undefined) return t.skip('no shared test vector');
  const x = Float32Array.from(v.inputs.x.flat());
  const y = Float32Array.from(v.inputs.y.flat());
  const r = siglipLossAndGrads(x, y, v.D, v.inputs.t_prime, v.inputs.b);
  const want = referenceLoss(x, y, v.D, v.inputs.t_prime, v.inputs.b);
  assert.ok(Math.abs(r.loss - v.outputs.loss) / v.outputs.loss < 1e-6, `loss ${r.loss} vs ${v.outputs.loss}`);
  assert.ok(Math.abs(r.dTPrime - v.outputs.dt_prime) / Math.abs(v.outputs.dt_prime) < 1e-5);
  assert.ok(Math.abs(r.dBias - v.outputs.db) / Math.abs(v.outputs.db) < 1e-5);
  for (const [name, err] of Object.entries(errorsAgainst(r, want)))
    assert.ok(err < TOLERANCE, `${name} ${err}`);
});

test('async gives the same result as sync, off the event loop', async () => {
  const random = rng(3);
  const x = unitRows(random, 300, 64);
  const y = unitRows(random, 260, 64);
  const sync = siglipLossAndGrads(x, y, 64, 1, -5, { threads: 2 });
  let ticks = 0;
  const timer = setInterval(() => ticks++, 0);
  const pending = siglipLossAndGradsAsync(x, y, 64, 1, -5, { threads: 2 });
  const result = await pending;
  clearInterval(timer);
  assert.equal(result.loss, sync.loss);
  assert.deepEqual(result.dx, sync.dx);
  assert.deepEqual(result.dy, sync.dy);
  assert.equal(result.dTPrime, sync.dTPrime);
  assert.equal(result.dBias, sync.dBias);
  await assert.rejects(siglipLossAndGradsAsync(x, y, 0, 1, -5), RangeError);
});

test('a fixed thread count is bit-identical run to run', () => {
  const random = rng(4);
  const x = unitRows(random, 333, 48);
  const y = unitRows(random, 301, 48);
  const a = siglipLossAndGrads(x, y, 48, 2, -8, { threads: 3 });
  const b = siglipLossAndGrads(x, y, 48, 2, -8, { threads: 3 });
  assert.equal(a.loss, b.loss);
  assert.equal(a.dTPrime, b.dTPrime);
  assert.equal(a.dBias, b.dBias);
  assert.deepEqual(a.dx, b.dx);
  assert.deepEqual(a.dy, b.dy);
});

test('extreme logits (|logit| up to 1e4) stay finite; NaN data gives NaN, no crash', () => {
  const random = rng(5);
  const x = unitRows(random, 40, 8);
  const y = unitRows(random, 40, 8);
  const r = siglipLossAndGrads(x, y, 8, Math.log(1e4), 0);
  assert.ok([r.loss, r.dTPrime, r.dBias, ...r.dx, ...r.dy].every(Number.isFinite));
  const want = referenceLoss(x, y, 8, Math.log(1e4), 0);
  assert.ok(Math.abs(r.loss - want.loss) / want.loss < TOLERANCE);
  x[7] = NaN;
  assert.ok(Number.isNaN(siglipLossValue(x, y, 8, 1, 0)));
  assert.ok(Number.isNaN(siglipLossAndGrads(x, y, 8, 1, 0).loss));
});

test('backendInfo reports the CPU engine and the CUDA device, if any', () => {
  const info = backendInfo();
  assert.equal(info.device, 'cpu');
  // CI builds both engines and says which one each test run must see.
  assert.equal(info.engine, process.env.SIGLIP_EXPECT_ENGINE ?? 'builtin');
  assert.ok(info.threads >= 1);
  assert.match(info.isa, /\w/);
  assert.equal(info.cuda.device, 'cuda');
  if (!info.cuda.available) assert.match(info.cuda.error ?? '', /\w/);
  else {
    // Hopper runs bf16 on wgmma; tf32 always on WMMA.
    assert.equal(info.cuda.engine, 'chunked');
    assert.match(info.cuda.gemm?.bf16 ?? '', /^(wgmma|wmma)$/);
    assert.equal(info.cuda.gemm?.tf32, 'wmma');
  }
});

test("device 'auto' runs where it can; 'cuda' without a device is a clear error", () => {
  const random = rng(8);
  const x = unitRows(random, 90, 20);
  const y = unitRows(random, 70, 20);
  const cpu = siglipLossAndGrads(x, y, 20, 1, -3);
  const auto = siglipLossAndGrads(x, y, 20, 1, -3, { device: 'auto' });
  if (!backendInfo().cuda.available) {
    assert.equal(auto.loss, cpu.loss);
    assert.deepEqual(auto.dx, cpu.dx);
    assert.throws(() => siglipLossValue(x, y, 20, 1, -3, { device: 'cuda' }), /cuda/i);
  } else {
    assert.ok(Math.abs(auto.loss - cpu.loss) < 2e-3 * cpu.loss);
  }
  assert.throws(() => siglipLossValue(x, y, 20, 1, -3, { precision: 'tf32' }), {
    name: 'RangeError',
    message: /^options.precision 'tf32' needs device 'cuda'/,
  });
});
