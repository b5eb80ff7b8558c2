// The batch across MPI ranks: mpirun runs mpi-worker.js on W = 1..4 ranks over
// shared memory (vader) and TCP on loopback; every case against one process
// on the concatenated batch. Skipped only where no mpirun exists.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, test } from 'node:test';

const TOLERANCE = 1e-5;
// The demo's losses after a few Adam steps of float32 tfjs (summation orders differ).
const DEMO_TOLERANCE = 1e-4;
const WORKER = path.join(__dirname, 'mpi-worker.js');
const hasMpirun = spawnSync('mpirun', ['--version'], { encoding: 'utf8' }).status === 0;
const skip = hasMpirun ? false : 'no mpirun on this machine (install Open MPI: openmpi-bin libopenmpi-dev)';

const TRANSPORTS: Record<string, string[]> = {
  vader: ['--mca', 'btl', 'self,vader'],
  tcp: ['--mca', 'btl', 'self,tcp', '--mca', 'btl_tcp_if_include', 'lo'],
};

interface Result {
  name: string;
  rank: number;
  size: number;
  errors?: Record<string, number>;
  bits?: string;
  message?: string;
  after?: boolean;
  listSum?: number;
}

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
  return run.stdout
    .split('\n')
    .filter((line) => line.startsWith('RESULT '))
    .map((line) => JSON.parse(line.slice(7)) as Result);
}

function byName(results: Result[]): Map<string, Result[]> {
  const groups = new Map<string, Result[]>();
  for (const r of results) groups.set(r.name, [...(groups.get(r.name) ?? []), r]);
  return groups;
}

function checkAccurate(results: Result[], ranks: number): void {
  for (const [name, group] of byName(results)) {
    if (group[0]!.errors === undefined) continue;
    assert.equal(group.length, ranks, `${name}: one result per rank`);
    for (const r of group) {
      const tolerance = name === 'demo steps' ? DEMO_TOLERANCE : TOLERANCE;
      for (const [what, err] of Object.entries(r.errors!)) {
        assert.ok(err <= tolerance, `W=${ranks} ${name} rank ${r.rank}: ${what} relative error ${err}`);
      }
    }
    // The global scalars (and, in training, the summed gradients and weights) are bit-identical.
    assert.equal(
      new Set(group.map((r) => r.bits)).size,
      1,
      `${name}: ranks differ: ${group.map((r) => r.bits)}`,
    );
  }
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
      if (suites.includes('train')) {
        const step = results.filter((r) => r.name === 'training step');
        assert.equal(step.length, ranks);
        // a list of tensors sums too: ranks 1..W
        for (const r of step) assert.equal(r.listSum, (ranks * (ranks + 1)) / 2);
      }
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

/** Every rank fails with an error naming the odd rank and the argument; the world works after. */
function checkMismatches(results: Result[], ranks: number): void {
  const odd = ranks - 1;
  const expected: Record<string, RegExp> = {
    dim: new RegExp(`rank ${odd} has dim 2 but rank 0 has 4`),
    bias: new RegExp(`rank ${odd} has bias 1 but rank 0 has 0`),
    positives: new RegExp(`rank ${odd} has options.positives 'none'`),
    precision: new RegExp(`rank ${odd} has options.precision 'bf16'`),
    'labels on one rank only': new RegExp(
      `rank ${odd} has options.positives 'labels' but rank 0 has 'diagonal'`,
    ),
    signal: /options\.signal cannot stop a call across ranks/,
    'op: x of another dtype': /x must have dtype float32, got int32/,
    'gradients of another length': new RegExp(
      `allReduceGradients: rank ${odd} has 2 values but rank 0 has 1`,
    ),
    'unknown option': /options\.bogus is not an option/,
    'x not a Float32Array': /x must be a Float32Array/,
    'loss alone against loss and gradients': new RegExp(`rank ${odd} computes the loss alone`),
  };
  for (const [name, pattern] of Object.entries(expected)) {
    const group = results.filter((r) => r.name === name);
    assert.equal(group.length, ranks, `${name}: every rank reports`);
    for (const r of group) {
      assert.match(r.message ?? '', pattern, `${name} on rank ${r.rank}`);
      if (
        r.rank !== odd &&
        ['unknown option', 'x not a Float32Array', 'signal', 'op: x of another dtype'].includes(name)
      ) {
        assert.match(r.message!, new RegExp(`rank ${odd}'s arguments are invalid`));
      }
      assert.equal(r.after, true, `${name}: the world works after the error`);
    }
  }
}
