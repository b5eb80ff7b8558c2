// The dual encoder: a small conv image tower and a small text tower (token
// embeddings in caption order, then an MLP), both ending in L2-normalized
// 64-d embeddings; learnable t' and b with the paper's initialisation.
'use strict';
const { SIZE, CAPTION_LENGTH, VOCABULARY } = require('./dataset');

const EMBEDDING = 64;

// initSeed: seeded initial weights (the same in every process, e.g. to compare
// data-parallel training with one process); without it tfjs's own random ones.
function createDualEncoder(tf, { tPrime = Math.log(10), bias = -10, initSeed } = {}) {
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
  const image = tf.sequential({
    layers: [
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
    layers: [
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
  const normalize = (v) => tf.div(v, tf.add(tf.norm(v, 'euclidean', 1, true), 1e-6));
  return {
    embedImages: (images) => normalize(image.apply(images)),
    embedTexts: (tokens) => normalize(text.apply(tokens)),
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

module.exports = { createDualEncoder, EMBEDDING };
