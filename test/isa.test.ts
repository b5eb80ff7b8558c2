// The tile kernels per instruction set: SIGLIP_ISA lowers the set in a child
// process; results stay within float32 accuracy of the default set's.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';

import { backendInfo, siglipLossAndGrads } from '../dist/index';
import { relativeError } from './reference';

const root = path.join(__dirname, '..');

// Deterministic inputs and one fused call; prints the backend's isa and the results.
const SCRIPT = `
  const { backendInfo, siglipLossAndGrads } = require('./dist/index');
  let seed = 7;
  const next = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
  const x = Float32Array.from({ length: 150 * 70 }, next);
  const y = Float32Array.from({ length: 131 * 70 }, next);
  const r = siglipLossAndGrads(x, y, 70, 1.5, -4);
  console.log(JSON.stringify({ isa: backendInfo().isa, loss: r.loss, dx: [...r.dx], dy: [...r.dy] }));`;

interface ChildResult {
  isa: string;
  loss: number;
  dx: number[];
  dy: number[];
}

function runWith(isa: string): { status: number | null; stdout: string; stderr: string } {
  const child = spawnSync(process.execPath, ['-e', SCRIPT], {
    cwd: root,
    env: { ...process.env, SIGLIP_ISA: isa },
    encoding: 'utf8',
  });
  return { status: child.status, stdout: child.stdout, stderr: child.stderr };
}

// The sets below the default one that an x86-64 CPU runs.
function lowerSets(): string[] {
  const isa = backendInfo().isa;
  if (isa.startsWith('x86-64-v4')) return ['x86-64-v3', 'x86-64'];
  if (isa.startsWith('x86-64-v3')) return ['x86-64'];
  return [];
}

test('SIGLIP_ISA lowers the instruction set; the results agree with the default set', (t) => {
  const sets = lowerSets();
  if (sets.length === 0) t.skip(`no lower instruction set under ${backendInfo().isa}`);
  const base = JSON.parse(runWith('').stdout) as ChildResult;
  assert.equal(base.isa, backendInfo().isa);
  for (const isa of sets) {
    const child = runWith(isa);
    assert.equal(child.status, 0, child.stderr);
    const got = JSON.parse(child.stdout) as ChildResult;
    assert.ok(got.isa.startsWith(isa), got.isa);
    assert.ok(Math.abs(got.loss - base.loss) <= 1e-6 * base.loss, `${isa} loss`);
    assert.ok(relativeError(got.dx, base.dx) <= 1e-6, `${isa} dx`);
    assert.ok(relativeError(got.dy, base.dy) <= 1e-6, `${isa} dy`);
  }
});

test('a SIGLIP_ISA this CPU cannot run is a clear error, not a crash', () => {
  const child = runWith('no-such-set');
  assert.notEqual(child.status, 0);
  assert.match(child.stderr, /RangeError: SIGLIP_ISA=no-such-set names no instruction set/);
  // The default set still computes in this process.
  const r = siglipLossAndGrads(new Float32Array([1, 0]), new Float32Array([1, 0]), 2, 0, 0);
  assert.ok(r.loss > 0);
});
