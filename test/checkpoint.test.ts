// Resumable training (demo/checkpoint.js): a run killed with SIGKILL at step 6, resumed from
// its last checkpoint (step 4), ends with every weight bit-identical to a run never killed,
// and with the same losses. Each run is its own process, as a real restart would be.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

const CHILD = path.join(__dirname, 'checkpoint-child.js');

function run(
  dir: string,
  ...args: string[]
): { signal: NodeJS.Signals | null; result?: { hash: string; history: unknown[] } } {
  const child = spawnSync(process.execPath, [CHILD, dir, ...args], { encoding: 'utf8' });
  const line = child.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (child.signal === null) assert.equal(child.status, 0, child.stderr);
  return { signal: child.signal, ...(line === undefined ? {} : { result: JSON.parse(line.slice(7)) }) };
}

test('a training run killed at step 6 and resumed ends bit-identical to one never killed', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'siglip-checkpoint-'));
  try {
    const whole = run(path.join(root, 'whole'));
    const killed = run(path.join(root, 'killed'), '--kill-at', '6');
    assert.equal(killed.signal, 'SIGKILL');
    const saved = JSON.parse(fs.readFileSync(path.join(root, 'killed', 'checkpoint.json'), 'utf8')) as {
      step: number;
    };
    assert.equal(saved.step, 4, 'the last checkpoint before the kill');
    assert.deepEqual(fs.readdirSync(path.join(root, 'killed')), ['checkpoint.json'], 'no temp file left');
    const resumed = run(path.join(root, 'killed'), '--resume');
    assert.ok(whole.result !== undefined && resumed.result !== undefined);
    assert.deepEqual(resumed.result.history, whole.result.history);
    assert.equal(resumed.result.hash, whole.result.hash, 'weights after resuming');
    // A resume with no checkpoint is a fresh run.
    assert.equal(run(path.join(root, 'empty'), '--resume').result?.hash, whole.result.hash);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
