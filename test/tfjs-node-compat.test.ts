// util.isNullOrUndefined for tfjs-node: restored by loading siglip-loss where Node (>= 23)
// lacks it and tfjs-node is installed, untouched where Node has it. In a child process, so
// the util module is as Node made it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';

const root = path.join(__dirname, '..');

function tfjsNodeInstalled(): boolean {
  try {
    require.resolve('@tensorflow/tfjs-node/package.json');
    return true;
  } catch {
    return false;
  }
}

test('loading siglip-loss restores util.isNullOrUndefined only where Node lacks it', () => {
  const probe = `
    const util = require('node:util');
    const before = util.isNullOrUndefined;
    require(${JSON.stringify(path.join(root, 'dist', 'index.js'))});
    const after = util.isNullOrUndefined;
    console.log(JSON.stringify({
      before: typeof before,
      same: before === after,
      values: typeof after === 'function' ? [null, undefined, 0, '', false, NaN, {}].map((v) => after(v)) : null,
    }));`;
  const child = spawnSync(process.execPath, ['-e', probe], { cwd: root, encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  const result = JSON.parse(child.stdout) as { before: string; same: boolean; values: boolean[] | null };
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 23) {
    assert.deepEqual([result.before, result.same], ['function', true], "Node's own function is kept");
  } else {
    assert.equal(result.before, 'undefined', `Node ${process.version} has no util.isNullOrUndefined`);
    assert.equal(result.same, !tfjsNodeInstalled(), 'restored exactly when tfjs-node is installed');
  }
  if (result.values !== null) {
    assert.deepEqual(result.values, [true, true, false, false, false, false, false]);
  }
});
