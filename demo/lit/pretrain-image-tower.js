#!/usr/bin/env node
// `npm run study:pretrain` (tfjs-node): pretrains the SigLiT study's image tower with a
// supervised objective, one softmax head per caption slot (size, colour and shape of each
// object, their relation, the background), on freshly rendered training scenes only, so the
// test scenes stay unseen. Writes demo/lit/image-tower.bin and image-tower.json (with each
// slot's accuracy on the test scenes). About 4 minutes on 2 cores.
'use strict';
const { SIZE, rng } = require('../dataset');
const { createImageTower, saveTower } = require('./image-tower');
const { SLOTS, render, splitScenes } = require('./world');

const STEPS = Number(process.env.PRETRAIN_STEPS ?? 4000);
const BATCH = 128;
const SEED = 3;

function labelledBatch(tf, scenes, count, random) {
  const images = new Float32Array(count * SIZE * SIZE * 3);
  const labels = SLOTS.map(() => new Int32Array(count));
  for (let i = 0; i < count; i++) {
    const scene = scenes[Math.floor(random() * scenes.length)];
    images.set(render(scene, random), i * SIZE * SIZE * 3);
    SLOTS.forEach((_, s) => (labels[s][i] = scene[s]));
  }
  return {
    images: tf.tensor4d(images, [count, SIZE, SIZE, 3]),
    labels: labels.map((l, s) => tf.oneHot(tf.tensor1d(l, 'int32'), SLOTS[s].values.length)),
  };
}

async function main() {
  const tf = require('@tensorflow/tfjs-node');
  const { train, test } = splitScenes();
  const { tower, heads } = createImageTower(tf, SEED);
  const random = rng(SEED);
  const optimizer = tf.train.adam(2e-3);
  const headsOf = (images) => {
    const embedding = tower.apply(images);
    return heads.map((head) => head.apply(embedding));
  };
  const started = Date.now();
  for (let step = 1; step <= STEPS; step++) {
    optimizer.learningRate = 2e-3 * 0.5 * (1 + Math.cos((Math.PI * step) / STEPS));
    const b = labelledBatch(tf, train, BATCH, random);
    const cost = optimizer.minimize(
      () => tf.addN(headsOf(b.images).map((logits, s) => tf.losses.softmaxCrossEntropy(b.labels[s], logits))),
      step % 200 === 0,
    );
    if (cost) {
      console.log(
        `step ${step}/${STEPS}: loss ${cost.dataSync()[0].toFixed(4)} (${((Date.now() - started) / 1000).toFixed(0)} s)`,
      );
      cost.dispose();
    }
    tf.dispose([b.images, ...b.labels]);
  }
  // Each slot's accuracy on test scenes (never rendered in pretraining).
  const check = labelledBatch(tf, test, 2048, rng(SEED + 1));
  const accuracy = {};
  tf.tidy(() => {
    headsOf(check.images).forEach((logits, s) => {
      const right = tf.equal(tf.argMax(logits, 1), tf.argMax(check.labels[s], 1));
      accuracy[SLOTS[s].name] = Number(tf.mean(tf.cast(right, 'float32')).dataSync()[0].toFixed(4));
    });
  });
  console.log('test-scene accuracy per slot:', accuracy);
  saveTower(tower, { steps: STEPS, batch: BATCH, seed: SEED, testSceneAccuracy: accuracy });
  console.log('saved demo/lit/image-tower.bin and image-tower.json');
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
