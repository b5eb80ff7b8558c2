// The batch across MPI ranks: mpirun runs mpi-worker.js on W = 1..4 ranks over
// shared memory (vader) and TCP on loopback; every case against one process
// on the concatenated batch. Skipped only where no mpirun exists.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, test } from 'node:test';

import { initWorld } from '../dist/mpi';
import { checkAccurate, checkMismatches, checkTrainingStep, parseResults } from './mpi-results';
import type { Result } from './mpi-results';

const WORKER = path.join(__dirname, 'mpi-worker.js');
const hasMpirun = spawnSync('mpirun', ['--version'], { encoding: 'utf8' }).status === 0;
const skip = hasMpirun ? false : 'no mpirun on this machine (install Open MPI: openmpi-bin libopenmpi-dev)';

const TRANSPORTS: Record<string, string[]> = {
  vader: ['--mca', 'btl', 'self,vader'],
  tcp: ['--mca', 'btl', 'self,tcp', '--mca', 'btl_tcp_if_include', 'lo'],
};

function mpirun(ranks: number, transport: string, suites: string, timeout = 120) {
  return spawnSync(
    'mpirun',
    [
      '--timeout',
      String(timeout),
      '--oversubscribe',
      ...(TRANSPORTS[transport] as string[]),
      '-np',
      String(ranks),
    ].concat(['node', WORKER, suites]),
    {
      encoding: 'utf8',
      env: { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' },
    },
  );
}

function launch(ranks: number, transport: string, suites: string): Result[] {
  const run = mpirun(ranks, transport, suites);
  assert.equal(run.status, 0, `mpirun failed (${run.status}):\n${run.stdout}\n${run.stderr}`);
  return parseResults(run.stdout);
}

describe('siglip-loss/mpi: the ring across ranks matches one process', { skip }, () => {
  const runs: [number, string, string][] = [
    [1, 'vader', 'raw'],
    [2, 'vader', 'raw,errors,train,demo'],
    [3, 'vader', 'raw,train'],
    [4, 'vader', 'raw,errors'],
    [2, 'tcp', 'raw'],
    [3, 'tcp', 'raw,errors'],
  ];
  for (const [ranks, transport, suites] of runs) {
    test(`W=${ranks} over ${transport}: ${suites}`, () => {
      const results = launch(ranks, transport, suites);
      assert.ok(results.length > 0, 'no results');
      checkAccurate(results, ranks);
      if (suites.includes('train')) checkTrainingStep(results, ranks);
      if (suites.includes('errors')) checkMismatches(results, ranks);
    });
  }
});

describe('siglip-loss/mpi: a failing rank', { skip }, () => {
  test('a rank that throws while the others wait in a call ends the job (MPI_Abort), no hang', () => {
    const started = Date.now();
    const run = mpirun(3, 'vader', 'die', 60);
    const seconds = (Date.now() - started) / 1000;
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /rank 2 exits with code 1; aborting the MPI job/);
    assert.ok(seconds < 30, `took ${seconds} s (the mpirun timeout is 60 s)`);
  });
});

test('initWorld rejects a bad stallTimeout, naming it, before MPI starts', () => {
  for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '5']) {
    assert.throws(
      () => initWorld({ stallTimeout: bad as number }),
      (error: Error) => error instanceof RangeError && /^options\.stallTimeout must be/.test(error.message),
    );
  }
  assert.throws(() => initWorld(null as unknown as object), TypeError);
});
