// The locked image tower of the SigLiT study: a small conv net pretrained with a supervised
// objective on the study's world (one softmax head per caption slot, as LiT's towers are
// pretrained on labelled images; demo/lit/pretrain-image-tower.js made its weights), then
// frozen. Its 64-d embedding, L2-normalized, is what the text tower learns to match. Inference
// needs only forward kernels, so it runs on every tfjs backend (wasm too).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const { SIZE } = require('../dataset');
const { SLOTS } = require('./world');

const EMBEDDING = 64;
const WEIGHTS = path.join(__dirname, 'image-tower.bin');
const MANIFEST = path.join(__dirname, 'image-tower.json');

/** The tower up to its embedding, and the pretraining heads on top (one per slot). */
function createImageTower(tf, seed = 1) {
  const init = (i) => ({ kernelInitializer: tf.initializers.glorotUniform({ seed: seed + i }) });
  const conv = (filters, i, extra = {}) =>
    tf.layers.conv2d({
      filters,
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      activation: 'relu',
      ...init(i),
      ...extra,
    });
  const tower = tf.sequential({
    layers: [
      conv(16, 0, { inputShape: [SIZE, SIZE, 3] }),
      conv(32, 1),
      conv(32, 2),
      tf.layers.flatten(),
      tf.layers.dense({ units: 128, activation: 'relu', ...init(3) }),
      tf.layers.dense({ units: EMBEDDING, ...init(4) }),
    ],
  });
  const heads = SLOTS.map((slot, i) => tf.layers.dense({ units: slot.values.length, ...init(10 + i) }));
  return { tower, heads };
}

/** Writes the tower's weights (float32, little-endian) and their shapes. */
function saveTower(tower, extra) {
  const weights = tower.getWeights();
  const arrays = weights.map((w) => w.dataSync());
  const bytes = Buffer.concat(arrays.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)));
  fs.writeFileSync(WEIGHTS, bytes);
  fs.writeFileSync(
    MANIFEST,
    JSON.stringify({ shapes: weights.map((w) => w.shape), ...extra }, null, 1) + '\n',
  );
}

/** The pretrained tower with its committed weights. */
function loadTower(tf) {
  const { shapes } = JSON.parse(fs.readFileSync(MANIFEST, 'utf8'));
  const bytes = fs.readFileSync(WEIGHTS);
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const { tower } = createImageTower(tf);
  let offset = 0;
  const weights = shapes.map((shape) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const w = tf.tensor(all.subarray(offset, offset + size), shape);
    offset += size;
    return w;
  });
  if (offset !== all.length) throw new Error(`${WEIGHTS} has ${all.length} floats, the manifest ${offset}`);
  tower.setWeights(weights);
  tf.dispose(weights);
  return tower;
}

/** L2-normalized embeddings of `images` ([n x SIZE x SIZE x 3]) as a Float32Array [n x 64]. */
function embedImages(tf, tower, images, chunk = 2048) {
  const n = images.length / (SIZE * SIZE * 3);
  const out = new Float32Array(n * EMBEDDING);
  for (let first = 0; first < n; first += chunk) {
    const rows = Math.min(chunk, n - first);
    const part = tf.tidy(() => {
      const x = tf.tensor4d(images.subarray(first * SIZE * SIZE * 3, (first + rows) * SIZE * SIZE * 3), [
        rows,
        SIZE,
        SIZE,
        3,
      ]);
      const e = tower.apply(x);
      return tf.div(e, tf.norm(e, 'euclidean', 1, true));
    });
    out.set(part.dataSync(), first * EMBEDDING);
    part.dispose();
  }
  return out;
}

module.exports = { EMBEDDING, createImageTower, saveTower, loadTower, embedImages };
