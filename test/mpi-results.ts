// What the MPI tests' ranks report (test/mpi-worker.ts prints one `RESULT <json>` line per
// case and rank), and the checks of it that the loopback and the multi-host tests share.
import assert from 'node:assert/strict';

const TOLERANCE = 1e-5;
// The demo's losses after a few Adam steps of float32 tfjs (summation orders differ).
const DEMO_TOLERANCE = 1e-4;

export interface Result {
  name: string;
  rank: number;
  size: number;
  errors?: Record<string, number>;
  bits?: string;
  message?: string;
  after?: boolean;
  listSum?: number;
}

export function parseResults(stdout: string): Result[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('RESULT '))
    .map((line) => JSON.parse(line.slice(7)) as Result);
}

function byName(results: Result[]): Map<string, Result[]> {
  const groups = new Map<string, Result[]>();
  for (const r of results) groups.set(r.name, [...(groups.get(r.name) ?? []), r]);
  return groups;
}

export function checkAccurate(results: Result[], ranks: number): void {
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

/** The training step's results: one per rank, and a list of tensors sums too (ranks 1..W). */
export function checkTrainingStep(results: Result[], ranks: number): void {
  const step = results.filter((r) => r.name === 'training step');
  assert.equal(step.length, ranks);
  for (const r of step) assert.equal(r.listSum, (ranks * (ranks + 1)) / 2);
}

/** Every rank fails with an error naming the odd rank and the argument; the world works after. */
export function checkMismatches(results: Result[], ranks: number): void {
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
