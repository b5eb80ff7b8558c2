// The float64 reference itself: against the shared test vector (agrees with
// open_clip and big_vision) and against finite differences.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { loadTestVector, referenceLoss, rng, unitRows } from './reference';

test('reference matches the shared float64 test vector', (t) => {
  const v = loadTestVector();
  if (v === undefined) return t.skip('no shared test vector');
  const r = referenceLoss(v.inputs.x.flat(), v.inputs.y.flat(), v.D, v.inputs.t_prime, v.inputs.b);
  assert.ok(Math.abs(r.loss - v.outputs.loss) < 1e-12, `loss ${r.loss} vs ${v.outputs.loss}`);
  assert.ok(Math.abs(r.dTPrime - v.outputs.dt_prime) < 1e-12);
  assert.ok(Math.abs(r.dBias - v.outputs.db) < 1e-12);
  const dx = v.outputs.dx.flat();
  dx.forEach((want, i) => assert.ok(Math.abs((r.dx[i] as number) - want) < 1e-12));
});

test('reference gradients match central finite differences', () => {
  const random = rng(11);
  const n = 5;
  const m = 7;
  const dim = 3;
  const x = Array.from(unitRows(random, n, dim));
  const y = Array.from(unitRows(random, m, dim));
  const tPrime = 1.3;
  const bias = -2.5;
  const opts = { positiveOffset: 1 };
  const r = referenceLoss(x, y, dim, tPrime, bias, opts);
  const h = 1e-6;
  const numeric = (f: (s: number) => number): number => (f(h) - f(-h)) / (2 * h);
  const bump = (a: number[], i: number, s: number): number[] => a.map((v, k) => (k === i ? v + s : v));
  for (const i of [0, 4, 14]) {
    const fx = numeric((s) => referenceLoss(bump(x, i, s), y, dim, tPrime, bias, opts).loss);
    assert.ok(Math.abs(fx - (r.dx[i] as number)) < 1e-7, `dx[${i}] ${fx} vs ${r.dx[i]}`);
    const fy = numeric((s) => referenceLoss(x, bump(y, i, s), dim, tPrime, bias, opts).loss);
    assert.ok(Math.abs(fy - (r.dy[i] as number)) < 1e-7, `dy[${i}] ${fy} vs ${r.dy[i]}`);
  }
  const ft = numeric((s) => referenceLoss(x, y, dim, tPrime + s, bias, opts).loss);
  assert.ok(Math.abs(ft - r.dTPrime) < 1e-7, `dTPrime ${ft} vs ${r.dTPrime}`);
  const fb = numeric((s) => referenceLoss(x, y, dim, tPrime, bias + s, opts).loss);
  assert.ok(Math.abs(fb - r.dBias) < 1e-7, `dBias ${fb} vs ${r.dBias}`);
});
