// The SigLiT study's world and batching (demo/lit/): disjoint splits of distinct captions,
// batches that never repeat a scene, label noise that only moves texts among the chosen pairs,
// and the learning-rate schedule's shape.
import assert from 'node:assert/strict';
import { test } from 'node:test';

type Scene = number[];
/* eslint-disable @typescript-eslint/no-require-imports */
const world = require('../demo/lit/world') as {
  TEXT_FEATURES: number;
  SLOTS: { name: string; values: string[] }[];
  splitScenes(seed?: number): { train: Scene[]; validation: Scene[]; test: Scene[] };
  caption(scene: Scene): string;
  textFeatures(scenes: Scene[]): Float32Array;
  render(scene: Scene, random: () => number): Float32Array;
};
const lit = require('../demo/lit/train') as {
  scheduledRate(peak: number, step: number, steps: number): number;
  batchIndices(count: number, batchSize: number, random: () => number): () => Int32Array;
  corruptTexts(indices: Int32Array, p: number, random: () => number): Int32Array;
};
const { rng } = require('../demo/dataset') as { rng(seed: number): () => number };
/* eslint-enable @typescript-eslint/no-require-imports */

test('the SigLiT world: 51,200 distinct captions in disjoint train, validation and test splits', () => {
  const split = world.splitScenes();
  assert.equal(split.train.length, 43520);
  assert.equal(split.validation.length, 2560);
  assert.equal(split.test.length, 5120);
  const seen = new Set<string>();
  for (const part of [split.train, split.validation, split.test])
    for (const scene of part) {
      const text = world.caption(scene);
      assert.ok(!seen.has(text), `${text} twice`);
      seen.add(text);
    }
  assert.equal(seen.size, 51200);
  assert.deepEqual(world.splitScenes(), split); // seeded
  assert.match(
    world.caption([0, 1, 2, 1, 1, 7, 4, 1]),
    /^a small green triangle above a large white cross on gray$/,
  );
});

test('the text features are one-hot per slot', () => {
  const scenes = world.splitScenes().test.slice(0, 50);
  const features = world.textFeatures(scenes);
  assert.equal(features.length, 50 * world.TEXT_FEATURES);
  for (let i = 0; i < 50; i++) {
    const row = features.subarray(i * world.TEXT_FEATURES, (i + 1) * world.TEXT_FEATURES);
    assert.equal(
      row.reduce((a, b) => a + b, 0),
      world.SLOTS.length,
    );
  }
  const a = world.render(scenes[0]!, rng(4));
  assert.deepEqual(a, world.render(scenes[0]!, rng(4)));
  assert.notDeepEqual(a, world.render(scenes[1]!, rng(4)));
});

test('batches never repeat a scene, and every epoch visits each scene once', () => {
  const next = lit.batchIndices(100, 30, rng(1));
  const epoch = new Set<number>();
  for (let b = 0; b < 3; b++) {
    const batch = next();
    assert.equal(new Set(batch).size, 30);
    batch.forEach((i) => epoch.add(i));
  }
  assert.equal(epoch.size, 90); // three batches of one permutation
  assert.equal(new Set(next()).size, 30); // the 10 left over are dropped: a new permutation
  assert.throws(() => lit.batchIndices(10, 11, rng(1)), /batch 11 exceeds the 10 training scenes/);
});

test('label noise shuffles the texts of p of the pairs among themselves', () => {
  const rows = Int32Array.from({ length: 1000 }, (_, i) => 5000 + i);
  const noisy = lit.corruptTexts(rows, 0.4, rng(2));
  const moved = noisy.filter((v, i) => v !== rows[i]).length;
  assert.ok(moved > 350 && moved <= 400, `${moved} texts moved`);
  assert.deepEqual([...noisy].sort(), [...rows].sort()); // the same texts, other pairs
  assert.deepEqual(lit.corruptTexts(rows, 0, rng(2)), rows);
});

test('the schedule warms up linearly, then decays to zero along a cosine', () => {
  const steps = 1000;
  assert.ok(Math.abs(lit.scheduledRate(1e-3, 25, steps) - 5e-4) < 1e-12);
  assert.equal(lit.scheduledRate(1e-3, 50, steps), 1e-3);
  assert.ok(Math.abs(lit.scheduledRate(1e-3, 525, steps) - 5e-4) < 1e-12);
  assert.ok(lit.scheduledRate(1e-3, steps, steps) < 1e-12);
});
