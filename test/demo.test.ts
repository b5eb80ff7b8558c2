// The demo's data and training loop: deterministic data, a held-out split that
// never reaches training, and short training runs that learn: the conv towers on
// tfjs-node, the MLP towers on the backends a checkout without tfjs-node has.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { BACKENDS, tfjsWithLayers, useBackend } from './backends';

/* eslint-disable @typescript-eslint/no-require-imports */
const dataset = require('../demo/dataset') as {
  scenes(seed: number): {
    train: { left: string[]; right: string[] }[];
    heldOut: { left: string[]; right: string[] }[];
  };
  caption(scene: { left: string[]; right: string[] }): string;
  tokenize(text: string): number[];
  render(scene: { left: string[]; right: string[] }, random: () => number): Float32Array;
  rng(seed: number): () => number;
};
const { train, evaluate } = require('../demo/train') as {
  train(tf: unknown, options: object): Promise<{ model: { dispose(): void }; history: { loss: number }[] }>;
  evaluate(tf: unknown, model: unknown, heldOut: unknown[]): { imageToText: number; chance: number };
};
/* eslint-enable @typescript-eslint/no-require-imports */

test('the shapes dataset is seeded and its held-out combinations never appear in training', () => {
  const a = dataset.scenes(7);
  const b = dataset.scenes(7);
  assert.deepEqual(a, b);
  const trainCaptions = new Set(a.train.map(dataset.caption));
  assert.equal(a.heldOut.length, 115);
  for (const scene of a.heldOut) assert.ok(!trainCaptions.has(dataset.caption(scene)));
  const scene = a.train[0]!;
  assert.deepEqual(dataset.render(scene, dataset.rng(1)), dataset.render(scene, dataset.rng(1)));
  assert.equal(dataset.tokenize(dataset.caption(scene)).length, 10);
  assert.throws(() => dataset.tokenize('a pink circle'), /unknown word 'pink'/);
});

/** A short run of the demo's training on `backend`; asserts that it learns. */
async function learnsOnHeldOut(
  backend: 'tensorflow' | 'wasm' | 'cpu',
  towers: 'conv' | 'mlp',
): Promise<void> {
  await useBackend(backend);
  const tf = tfjsWithLayers();
  const scenes = dataset.scenes(7);
  const { model, history } = await train(tf, { scenes, batchSize: 64, examples: 64 * 120, seed: 3, towers });
  const first = history[0]!.loss;
  const last = history.at(-1)!.loss;
  assert.ok(last < 0.7 * first, `loss ${first} -> ${last}`);
  const result = evaluate(tf, model, scenes.heldOut);
  assert.ok(
    result.imageToText > 10 * result.chance,
    `image->text ${result.imageToText} (chance ${result.chance})`,
  );
  model.dispose();
}

const tensorflow = BACKENDS.find((b) => b.name === 'tensorflow')!;
test(
  "a short siglipLoss training run of the conv towers on 'tensorflow' learns far above chance on held-out combinations",
  { skip: tensorflow.unavailable ?? false },
  () => learnsOnHeldOut('tensorflow', 'conv'),
);

test("the MLP towers (npm start without tfjs-node) learn far above chance on 'wasm'", () =>
  learnsOnHeldOut('wasm', 'mlp'));

test('the demo picks the fastest backend and says why it passed over tfjs-node', async () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { loadTfjs } = require('../demo/backend') as {
    loadTfjs(): Promise<{ backend: string; towers: string; notes: string[] }>;
  };
  const chosen = await loadTfjs();
  if (tensorflow.unavailable === undefined) {
    assert.deepEqual([chosen.backend, chosen.towers, chosen.notes], ['tensorflow', 'conv', []]);
  } else {
    assert.deepEqual([chosen.backend, chosen.towers], ['wasm', 'mlp']);
    assert.match(chosen.notes[0]!, /^@tensorflow\/tfjs-node is not usable here \(/);
  }
});
