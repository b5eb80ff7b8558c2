// ESM and CommonJS consumers see the same API.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';

const root = path.join(__dirname, '..');

test('ESM import of the package and of siglip-loss/raw', () => {
  const script = `
    import { siglipLoss, siglipLossValue, SIGLIP_DEFAULT_BIAS } from 'siglip-loss';
    import * as raw from 'siglip-loss/raw';
    const loss = siglipLossValue(new Float32Array([1, 0]), new Float32Array([1, 0]), 2, 0, 0);
    console.log(JSON.stringify([typeof siglipLoss, SIGLIP_DEFAULT_BIAS, loss, typeof raw.siglipLossAndGradsAsync, 'siglipLoss' in raw]));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root }).toString();
  const [opType, bias, loss, asyncType, rawHasOp] = JSON.parse(out) as [
    string,
    number,
    number,
    string,
    boolean,
  ];
  assert.equal(opType, 'function');
  assert.equal(bias, -10);
  assert.ok(Math.abs(loss - Math.log1p(Math.exp(-1))) < 1e-6);
  assert.equal(asyncType, 'function');
  assert.equal(rawHasOp, false);
});

test('CommonJS require of the package', () => {
  const script = `const s = require('siglip-loss'); console.log(typeof s.siglipLoss + ' ' + s.SIGLIP_DEFAULT_T_PRIME)`;
  const out = execFileSync(process.execPath, ['-e', script], { cwd: root }).toString().trim();
  assert.equal(out, `function ${Math.log(10)}`);
});

test('siglip-loss/mpi from ESM and CommonJS (the MPI module itself loads only in initWorld)', () => {
  const esm = `import { initWorld } from 'siglip-loss/mpi'; console.log(typeof initWorld);`;
  const cjs = `console.log(typeof require('siglip-loss/mpi').initWorld)`;
  for (const args of [
    ['--input-type=module', '-e', esm],
    ['-e', cjs],
  ]) {
    assert.equal(execFileSync(process.execPath, args, { cwd: root }).toString().trim(), 'function');
  }
});
