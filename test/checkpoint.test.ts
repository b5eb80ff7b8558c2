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

interface Run {
  signal: NodeJS.Signals | null;
  status: number | null;
  results: { hash: string; history: unknown[] }[];
}

function parse(stdout: string): Run['results'] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('RESULT '))
    .map((l) => JSON.parse(l.slice(7)) as Run['results'][number]);
}

function run(dir: string, ...args: string[]): Run {
  const child = spawnSync(process.execPath, [CHILD, dir, ...args], { encoding: 'utf8' });
  if (child.signal === null) assert.equal(child.status, 0, child.stderr);
  return { signal: child.signal, status: child.status, results: parse(child.stdout) };
}

/** The same on 2 MPI ranks (data-parallel, the global batch split between them). */
function runOnRanks(dir: string, ...args: string[]): Run {
  const child = spawnSync(
    'mpirun',
    ['--timeout', '120', '--oversubscribe', '--mca', 'btl', 'self,vader', '-np', '2'].concat([
      process.execPath,
      CHILD,
      dir,
      '--world',
      ...args,
    ]),
    {
      encoding: 'utf8',
      env: { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' },
    },
  );
  return { signal: child.signal, status: child.status, results: parse(child.stdout) };
}

const hasMpirun = spawnSync('mpirun', ['--version']).status === 0;

test('a training run killed at step 6 and resumed ends bit-identical to one never killed', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'siglip-checkpoint-'));
  try {
    const [whole] = run(path.join(root, 'whole')).results;
    const killed = run(path.join(root, 'killed'), '--kill-at', '6');
    assert.equal(killed.signal, 'SIGKILL');
    const saved = JSON.parse(fs.readFileSync(path.join(root, 'killed', 'checkpoint.json'), 'utf8')) as {
      step: number;
    };
    assert.equal(saved.step, 4, 'the last checkpoint before the kill');
    assert.deepEqual(fs.readdirSync(path.join(root, 'killed')), ['checkpoint.json'], 'no temp file left');
    const [resumed] = run(path.join(root, 'killed'), '--resume').results;
    assert.ok(whole !== undefined && resumed !== undefined);
    assert.deepEqual(resumed.history, whole.history);
    assert.equal(resumed.hash, whole.hash, 'weights after resuming');
    // A resume with no checkpoint is a fresh run.
    assert.equal(run(path.join(root, 'empty'), '--resume').results[0]?.hash, whole.hash);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test(
  'on 2 MPI ranks: a run whose rank 1 is killed at step 6, resumed, ends bit-identical on both ranks',
  { skip: hasMpirun ? false : 'no mpirun (install Open MPI: openmpi-bin libopenmpi-dev)' },
  () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'siglip-checkpoint-'));
    try {
      const whole = runOnRanks(path.join(root, 'whole'));
      assert.equal(whole.results.length, 2, 'both ranks report');
      const killed = runOnRanks(path.join(root, 'killed'), '--kill-at', '6');
      assert.notEqual(killed.status, 0);
      const resumed = runOnRanks(path.join(root, 'killed'), '--resume');
      assert.equal(resumed.results.length, 2, 'both ranks report');
      for (const r of resumed.results) {
        assert.equal(r.hash, whole.results[0]!.hash, 'weights after resuming, on every rank');
        assert.deepEqual(r.history, whole.results[0]!.history);
      }
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  },
);
