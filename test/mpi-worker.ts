// One rank of the MPI tests (run by mpi.test.ts under mpirun): every case is
// computed across the ranks and against one process on the concatenated
// batch; each rank prints one `RESULT <json>` line per case.
import { siglipLoss, siglipLossAndGrads, siglipLossAndGradsAsync, siglipLossValue } from '../dist/index';
import type { SiglipOptions } from '../dist/index';
import { createHash } from 'node:crypto';

import { initWorld } from '../dist/mpi';
import type { World } from '../dist/mpi';
import { tf, tfjsNode, tfjsWithLayers, useBackend } from './backends';
import { referenceLoss, relativeError, rng, unitRows } from './reference';

const world: World = initWorld();

function report(name: string, fields: object): void {
  console.log(`RESULT ${JSON.stringify({ name, rank: world.rank, size: world.size, ...fields })}`);
}

/** Rows of each rank: `sizes` cycled over the ranks. */
function split(sizes: number[]): number[] {
  return Array.from({ length: world.size }, (_, r) => sizes[r % sizes.length] as number);
}

function rowsOf<T extends Float32Array | Int32Array>(
  data: T,
  counts: number[],
  rank: number,
  dim: number,
): T {
  const start = counts.slice(0, rank).reduce((a, b) => a + b, 0);
  return data.slice(start * dim, (start + (counts[rank] as number)) * dim) as T;
}

function bits(v: number): string {
  return Buffer.from(new Float64Array([v]).buffer).toString('hex');
}

interface RawCase {
  name: string;
  xRows: number[];
  yRows: number[];
  dim: number;
  tPrime?: number;
  bias?: number;
  options?: SiglipOptions;
  async?: boolean;
  /** positives: 'labels' with labels in [-1, groups): -1 matches nothing. */
  labelGroups?: number;
}

function labelsFor(random: () => number, rows: number, groups: number): Int32Array {
  return Int32Array.from({ length: rows }, () => Math.floor(random() * (groups + 1)) - 1);
}

async function rawCase(c: RawCase, seed: number): Promise<void> {
  const xCounts = split(c.xRows);
  const yCounts = split(c.yRows);
  const random = rng(seed);
  const n = xCounts.reduce((a, b) => a + b, 0);
  const m = yCounts.reduce((a, b) => a + b, 0);
  const x = unitRows(random, n, c.dim);
  const y = unitRows(random, m, c.dim);
  const tPrime = c.tPrime ?? Math.log(10);
  const bias = c.bias ?? -10;
  const xLabels = c.labelGroups === undefined ? undefined : labelsFor(random, n, c.labelGroups);
  const yLabels = c.labelGroups === undefined ? undefined : labelsFor(random, m, c.labelGroups);
  const options: SiglipOptions =
    xLabels && yLabels ? { ...c.options, positives: 'labels', xLabels, yLabels } : (c.options ?? {});
  const want = siglipLossAndGrads(x, y, c.dim, tPrime, bias, options);
  const xr = rowsOf(x, xCounts, world.rank, c.dim);
  const yr = rowsOf(y, yCounts, world.rank, c.dim);
  // Labels travel with their rows: each rank passes its own.
  const worldOptions: SiglipOptions =
    xLabels && yLabels
      ? {
          ...options,
          world,
          xLabels: rowsOf(xLabels, xCounts, world.rank, 1),
          yLabels: rowsOf(yLabels, yCounts, world.rank, 1),
        }
      : { ...options, world };
  const got = c.async
    ? await siglipLossAndGradsAsync(xr, yr, c.dim, tPrime, bias, worldOptions)
    : siglipLossAndGrads(xr, yr, c.dim, tPrime, bias, worldOptions);
  const lossOnly = siglipLossValue(xr, yr, c.dim, tPrime, bias, worldOptions);
  report(c.name, {
    errors: {
      loss: relativeError([got.loss], [want.loss]),
      lossOnly: relativeError([lossOnly], [want.loss]),
      dx: relativeError(got.dx, rowsOf(want.dx, xCounts, world.rank, c.dim)),
      dy: relativeError(got.dy, rowsOf(want.dy, yCounts, world.rank, c.dim)),
      // A sum of terms of both signs: measured against the scale float32 dot products have.
      dTPrime:
        Math.abs(got.dTPrime - want.dTPrime) /
        Math.max(Math.abs(want.dTPrime), referenceLoss(x, y, c.dim, tPrime, bias, options).dTPrimeScale),
      dBias: relativeError([got.dBias], [want.dBias]),
    },
    bits: [got.loss, got.dTPrime, got.dBias, lossOnly].map(bits).join(' '),
  });
}

async function rawSuite(): Promise<void> {
  const cases: RawCase[] = [
    { name: 'equal rows', xRows: [40], yRows: [40], dim: 24 },
    { name: 'unequal rows', xRows: [5, 130, 1, 64], yRows: [5, 130, 1, 64], dim: 17 },
    { name: 'x and y rows differ', xRows: [30, 7], yRows: [12, 50], dim: 33 },
    { name: 'offset', xRows: [20, 35], yRows: [20, 35], dim: 16, options: { positiveOffset: 27 } },
    { name: 'negative offset', xRows: [64], yRows: [64], dim: 16, options: { positiveOffset: -70 } },
    { name: 'none', xRows: [33, 10], yRows: [33, 10], dim: 19, options: { positives: 'none' } },
    { name: 'extreme logits', xRows: [50], yRows: [45], dim: 32, tPrime: Math.log(1e3), bias: 50 },
    { name: 'threads', xRows: [150, 140], yRows: [150, 140], dim: 21, options: { threads: 1 } },
    { name: 'async', xRows: [70, 20], yRows: [70, 20], dim: 20, async: true },
    { name: 'labels', xRows: [40, 90, 7], yRows: [60, 13], dim: 18, labelGroups: 6 },
    { name: 'labels, async', xRows: [33], yRows: [45], dim: 16, labelGroups: 3, async: true },
  ];
  for (const [i, c] of cases.entries()) await rawCase(c, 100 + i);
}

/** rank 1 (or the last rank) passes something that differs; every rank must fail clearly. */
async function errorSuite(): Promise<void> {
  const odd = world.size - 1;
  const random = rng(5);
  const x = unitRows(random, 8, 4);
  const y = unitRows(random, 8, 4);
  const attempt = async (name: string, call: () => unknown): Promise<void> => {
    let message = '';
    try {
      await call();
    } catch (error) {
      message = `${(error as Error).name}: ${(error as Error).message}`;
    }
    // The world still works afterwards.
    const after = siglipLossAndGrads(x, y, 4, 0, 0, { world }).loss;
    report(name, { message, after: Number.isFinite(after) });
  };
  const mine = world.rank === odd;
  await attempt('dim', () =>
    mine ? siglipLossAndGrads(x, y, 2, 0, 0, { world }) : siglipLossAndGrads(x, y, 4, 0, 0, { world }),
  );
  await attempt('bias', () => siglipLossAndGrads(x, y, 4, 0, mine ? 1 : 0, { world }));
  await attempt('positives', () =>
    siglipLossAndGrads(x, y, 4, 0, 0, { world, ...(mine ? { positives: 'none' as const } : {}) }),
  );
  await attempt('precision', () =>
    siglipLossAndGrads(x, y, 4, 0, 0, { world, ...(mine ? { precision: 'bf16' as const } : {}) }),
  );
  const labels = new Int32Array(8).fill(1);
  await attempt('labels on one rank only', () =>
    siglipLossAndGrads(x, y, 4, 0, 0, {
      world,
      ...(mine ? { positives: 'labels' as const, xLabels: labels, yLabels: labels } : {}),
    }),
  );
  await attempt('signal', () =>
    siglipLossAndGradsAsync(x, y, 4, 0, 0, {
      world,
      ...(mine ? { signal: new AbortController().signal } : {}),
    }),
  );
  await attempt('op: x of another dtype', () =>
    tf.tidy(() => {
      const xt = tf.tensor2d(x, [8, 4]);
      return siglipLoss(mine ? tf.cast(xt, 'int32') : xt, tf.tensor2d(y, [8, 4]), 0, 0, { world });
    }),
  );
  await attempt('gradients of another length', () => {
    const grads = mine ? [tf.scalar(1), tf.scalar(2)] : [tf.scalar(1)];
    try {
      return world.allReduceGradients(grads);
    } finally {
      tf.dispose(grads);
    }
  });
  await attempt('unknown option', () =>
    siglipLossAndGrads(x, y, 4, 0, 0, { world, ...(mine ? ({ bogus: 1 } as object) : {}) }),
  );
  await attempt('x not a Float32Array', () =>
    siglipLossAndGrads(mine ? (new Float64Array(32) as unknown as Float32Array) : x, y, 4, 0, 0, { world }),
  );
  await attempt('loss alone against loss and gradients', () =>
    mine ? siglipLossValue(x, y, 4, 0, 0, { world }) : siglipLossAndGrads(x, y, 4, 0, 0, { world }),
  );
}

/**
 * A data-parallel training step on linear towers: tf.variableGrads of siglipLoss(..., { world })
 * then allReduceGradients, against tf.variableGrads on the global batch in one process.
 */
async function trainSuite(): Promise<void> {
  await useBackend('cpu');
  const features = 12;
  const dim = 8;
  const counts = split([6, 11, 3]);
  const n = counts.reduce((a, b) => a + b, 0);
  const random = rng(42);
  const images = unitRows(random, n, features);
  const texts = unitRows(random, n, features);
  // Rank-dependent values, then rank 0's for all: what broadcastVariables is for.
  const seeded = rng(7 + world.rank);
  const variable = (shape: number[], name: string): tf.Variable =>
    tf.variable(
      tf.tensor(
        Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => seeded() - 0.5),
        shape,
      ),
      true,
      name,
    );
  const vars = {
    imageTower: variable([features, dim], 'imageTower'),
    textTower: variable([features, dim], 'textTower'),
    tPrime: tf.variable(tf.scalar(Math.log(10) + world.rank), true, 'tPrime'),
    bias: tf.variable(tf.scalar(-10 + world.rank), true, 'bias'),
  };
  world.broadcastVariables(vars);
  const embed = (data: Float32Array, rows: number, tower: tf.Variable) => {
    const v = tf.matMul(tf.tensor2d(data, [rows, features]), tower);
    return tf.div(v, tf.norm(v, 'euclidean', 1, true)) as tf.Tensor2D;
  };
  const loss = (xData: Float32Array, yData: Float32Array, rows: number, options: SiglipOptions) => () =>
    siglipLoss(
      embed(xData, rows, vars.imageTower),
      embed(yData, rows, vars.textTower),
      vars.tPrime,
      vars.bias,
      options,
    );
  const local = tf.variableGrads(
    loss(
      rowsOf(images, counts, world.rank, features),
      rowsOf(texts, counts, world.rank, features),
      counts[world.rank] as number,
      { world },
    ),
  );
  const summed = world.allReduceGradients(local.grads);
  const single = tf.variableGrads(loss(images, texts, n, {}));
  const errors: Record<string, number> = {
    loss: relativeError(local.value.dataSync(), single.value.dataSync()),
  };
  for (const name of Object.keys(single.grads)) {
    errors[name] = relativeError(summed[name]!.dataSync(), single.grads[name]!.dataSync());
  }
  const listSum = world.allReduceGradients([tf.scalar(world.rank + 1)]);
  const checksum = Object.values(vars)
    .map((v) => Array.from(v.dataSync()).join(','))
    .join(';');
  report('training step', {
    errors,
    listSum: listSum[0]!.dataSync()[0],
    bits: createHash('sha256').update(`${checksum} ${summed.tPrime!.dataSync()[0]}`).digest('hex'),
  });
  tf.dispose([Object.values(vars), local.grads, local.value, summed, single.grads, single.value, listSum]);
}

/** The demo's first steps, data-parallel, against the same global batches in one process. */
async function demoSuite(): Promise<void> {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { train } = require('../demo/train') as {
    train(tf: unknown, options: object): Promise<{ model: { dispose(): void }; history: { loss: number }[] }>;
  };
  const { scenes } = require('../demo/dataset') as { scenes(seed: number): unknown };
  /* eslint-enable @typescript-eslint/no-require-imports */
  // The demo's towers on the backend npm start would use: the conv towers on tfjs-node, else
  // the MLP towers on pure-JS tfjs.
  const towers = tfjsNode === undefined ? 'mlp' : 'conv';
  await useBackend(tfjsNode === undefined ? 'cpu' : 'tensorflow');
  const tfjs = tfjsWithLayers();
  const options = {
    scenes: scenes(7),
    batchSize: 32,
    examples: 32 * 4,
    seed: 5,
    initSeed: 11,
    lossEvery: 1,
    towers,
  };
  const distributed = await train(tfjs, { ...options, world });
  distributed.model.dispose(); // its variables' names are reused below
  const single = await train(tfjs, options);
  const errors: Record<string, number> = {};
  single.history.forEach((h, i) => {
    errors[`step ${i + 1}`] = relativeError([distributed.history[i]!.loss], [h.loss]);
  });
  single.model.dispose();
  report('demo steps', { errors, bits: distributed.history.map((h) => h.loss).join(',') });
}

/** The last rank fails while the others wait in a call: the job must end, not hang. */
function dieSuite(): void {
  if (world.rank === world.size - 1) throw new Error('this rank fails on purpose');
  const x = new Float32Array(8).fill(0.5);
  siglipLossAndGrads(x, x, 4, 0, 0, { world });
}

/** Ring calls back to back for up to a minute: the fault tests kill a rank meanwhile. */
function loopSuite(): void {
  const random = rng(9);
  const dim = 256;
  const x = unitRows(random, 512, dim);
  const until = Date.now() + 60_000;
  let calls = 0;
  while (Date.now() < until) {
    siglipLossAndGrads(x, x, dim, 0, 0, { world });
    calls += 1;
  }
  report('loop', { calls });
}

async function main(): Promise<void> {
  const suites = (process.argv[2] ?? 'raw').split(',');
  if (suites.includes('die')) dieSuite();
  if (suites.includes('loop')) loopSuite();
  if (suites.includes('raw')) await rawSuite();
  if (suites.includes('errors') && world.size > 1) await errorSuite();
  if (suites.includes('train')) await trainSuite();
  if (suites.includes('demo')) await demoSuite();
  world.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
