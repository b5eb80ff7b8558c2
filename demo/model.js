// The dual encoder, both towers ending in L2-normalized 64-d embeddings; learnable t' and
// b with the paper's initialisation. towers 'conv' (tfjs-node): a small conv image tower and
// a text tower of token embeddings in caption order, then an MLP. towers 'mlp' (for the
// backends without tfjs-node, which cannot train convolutions in minutes): an MLP on 2 x 2-
// pooled pixels and an MLP on one-hot tokens (an embedding's gradient needs a kernel that
// the wasm backend lacks, UnsortedSegmentSum; one-hot then dense is the same linear map).
'use strict';
const { SIZE, CAPTION_LENGTH, VOCABULARY } = require('./dataset');

const EMBEDDING = 64;
const MLP_POOL = 2;
const MLP_HIDDEN = 64;

// initSeed: seeded initial weights (the same in every process, e.g. to compare
// data-parallel training with one process); without it tfjs's own random ones.
function createDualEncoder(tf, { tPrime = Math.log(10), bias = -10, initSeed, towers = 'conv' } = {}) {
  if (towers !== 'conv' && towers !== 'mlp')
    throw new RangeError(`towers must be 'conv' or 'mlp', got ${towers}`);
  let layer = 0;
  const seeded = (kind) => {
    layer += 1;
    if (initSeed === undefined) return {};
    return kind === 'embedding'
      ? {
          embeddingsInitializer: tf.initializers.randomUniform({
            minval: -0.05,
            maxval: 0.05,
            seed: initSeed + layer,
          }),
        }
      : { kernelInitializer: tf.initializers.glorotUniform({ seed: initSeed + layer }) };
  };
  const mlp = towers === 'mlp';
  const image = tf.sequential({
    layers: mlp
      ? [
          tf.layers.averagePooling2d({ inputShape: [SIZE, SIZE, 3], poolSize: MLP_POOL, strides: MLP_POOL }),
          tf.layers.flatten(),
          tf.layers.dense({ units: MLP_HIDDEN, activation: 'relu', ...seeded('kernel') }),
          tf.layers.dense({ units: EMBEDDING, ...seeded('kernel') }),
        ]
      : [
          tf.layers.conv2d({
            inputShape: [SIZE, SIZE, 3],
            filters: 16,
            kernelSize: 3,
            strides: 2,
            padding: 'same',
            activation: 'relu',
            ...seeded('kernel'),
          }),
          tf.layers.conv2d({
            filters: 32,
            kernelSize: 3,
            strides: 2,
            padding: 'same',
            activation: 'relu',
            ...seeded('kernel'),
          }),
          tf.layers.flatten(),
          tf.layers.dense({ units: 128, activation: 'relu', ...seeded('kernel') }),
          tf.layers.dense({ units: EMBEDDING, ...seeded('kernel') }),
        ],
  });
  const text = tf.sequential({
    layers: mlp
      ? [
          tf.layers.dense({
            inputShape: [CAPTION_LENGTH * VOCABULARY.length],
            units: 128,
            activation: 'relu',
            ...seeded('kernel'),
          }),
          tf.layers.dense({ units: EMBEDDING, ...seeded('kernel') }),
        ]
      : [
          tf.layers.embedding({
            inputDim: VOCABULARY.length,
            outputDim: 24,
            inputLength: CAPTION_LENGTH,
            ...seeded('embedding'),
          }),
          tf.layers.flatten(),
          tf.layers.dense({ units: 128, activation: 'relu', ...seeded('kernel') }),
          tf.layers.dense({ units: EMBEDDING, ...seeded('kernel') }),
        ],
  });
  const scalars = {
    tPrime: tf.variable(tf.scalar(tPrime), true, 'tPrime'),
    bias: tf.variable(tf.scalar(bias), true, 'bias'),
  };
  return {
    embedImages: (images) => l2Normalize(tf, image.apply(images)),
    embedTexts: (tokens) => l2Normalize(tf, text.apply(mlp ? oneHotRows(tf, tokens) : tokens)),
    scalars,
    trainableVariables: () => [
      ...image.trainableWeights.map((w) => w.read()),
      ...text.trainableWeights.map((w) => w.read()),
      scalars.tPrime,
      scalars.bias,
    ],
    dispose: () => {
      image.dispose();
      text.dispose();
      tf.dispose([scalars.tPrime, scalars.bias]);
    },
  };
}

/** Each row of v divided by its L2 norm. */
function l2Normalize(tf, v) {
  return tf.div(v, tf.add(tf.norm(v, 'euclidean', 1, true), 1e-6));
}

/** [rows, CAPTION_LENGTH] token ids as [rows, CAPTION_LENGTH * VOCABULARY.length] one-hot rows. */
function oneHotRows(tf, tokens) {
  return tf.reshape(tf.oneHot(tokens, VOCABULARY.length), [tokens.shape[0], -1]);
}

module.exports = { createDualEncoder, l2Normalize, EMBEDDING };
