// SigLiT in miniature: the image embeddings are the locked tower's, computed once; a text tower
// (an MLP on the caption's slots) is trained from scratch to match them with siglipLoss or the
// blockwise softmaxLoss, with Adam (beta2 0.95, the paper's Fig. 5), a linear warmup and a
// cosine decay. Batches are drawn without replacement (an epoch is a permutation of the training
// scenes), so a batch never holds one scene twice.
'use strict';
const { siglipLoss, softmaxLoss } = require('../..');
const { rng, shuffle } = require('../dataset');
const { l2Normalize: normalize } = require('../model');
const { topOneRetrieval } = require('../train');
const { EMBEDDING } = require('./image-tower');
const { TEXT_FEATURES } = require('./world');

const HIDDEN = 256;
const WARMUP_FRACTION = 0.05;

function createTextTower(tf, seed) {
  const init = (i) => ({ kernelInitializer: tf.initializers.glorotUniform({ seed: seed * 100 + i }) });
  return tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [TEXT_FEATURES], units: HIDDEN, activation: 'relu', ...init(1) }),
      tf.layers.dense({ units: EMBEDDING, ...init(2) }),
    ],
  });
}

/** The peak learning rate scaled by the schedule at `step` of `steps` (1-based). */
function scheduledRate(peak, step, steps) {
  const warmup = Math.max(1, Math.round(WARMUP_FRACTION * steps));
  if (step <= warmup) return (peak * step) / warmup;
  return peak * 0.5 * (1 + Math.cos((Math.PI * (step - warmup)) / Math.max(1, steps - warmup)));
}

/** Batches of `batchSize` distinct indices of [0, count): each epoch a fresh permutation. */
function batchIndices(count, batchSize, random) {
  if (batchSize > count) throw new RangeError(`batch ${batchSize} exceeds the ${count} training scenes`);
  let order = new Int32Array(0);
  let next = 0;
  return () => {
    if (next + batchSize > order.length) {
      order = shuffle(
        Int32Array.from({ length: count }, (_, i) => i),
        random,
      );
      next = 0;
    }
    next += batchSize;
    return order.subarray(next - batchSize, next);
  };
}

/** Label noise (Fig. 7): the texts of a fraction `p` of the pairs shuffled among themselves. */
function corruptTexts(indices, p, random) {
  const texts = Int32Array.from(indices);
  const k = Math.round(p * texts.length);
  if (k < 2) return texts;
  const picked = Int32Array.from({ length: texts.length }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(random() * (texts.length - i));
    [picked[i], picked[j]] = [picked[j], picked[i]];
  }
  const moved = shuffle(
    Array.from(picked.subarray(0, k), (i) => texts[i]),
    random,
  );
  picked.subarray(0, k).forEach((i, n) => (texts[i] = moved[n]));
  return texts;
}

/**
 * Trains a text tower against `images` (the training scenes' locked embeddings, [count x 64],
 * a tf.Tensor2D) and `texts` (their slot features, a tf.Tensor2D). Returns { tower, scalars,
 * stepSeconds, lossSeconds (at the last step, the loss alone), history }.
 */
async function trainTextTower(
  tf,
  {
    images,
    texts,
    loss,
    batchSize,
    examples,
    seed,
    peakRate,
    beta2 = 0.95,
    tPrime = Math.log(10),
    bias = -10,
    noise = 0,
  },
) {
  const count = images.shape[0];
  const tower = createTextTower(tf, seed);
  const scalars = {
    tPrime: tf.variable(tf.scalar(tPrime), true),
    bias: tf.variable(tf.scalar(bias), true),
  };
  const variables = [...tower.trainableWeights.map((w) => w.read()), scalars.tPrime];
  if (loss === 'sigmoid') variables.push(scalars.bias);
  const optimizer = tf.train.adam(peakRate, 0.9, beta2);
  const random = rng(seed);
  const nextBatch = batchIndices(count, batchSize, random);
  const steps = Math.max(1, Math.round(examples / batchSize));
  const lossOf = (x, y) =>
    loss === 'sigmoid' ? siglipLoss(x, y, scalars.tPrime, scalars.bias) : softmaxLoss(x, y, scalars.tPrime);
  const history = [];
  const started = process.hrtime.bigint();
  for (let step = 1; step <= steps; step++) {
    optimizer.learningRate = scheduledRate(peakRate, step, steps);
    const rows = nextBatch();
    const textRows = noise > 0 ? corruptTexts(rows, noise, random) : rows;
    const want = step % Math.max(1, Math.floor(steps / 20)) === 0 || step === steps;
    const cost = optimizer.minimize(
      () =>
        tf.tidy(() => {
          const x = tf.gather(images, tf.tensor1d(rows, 'int32'));
          const y = normalize(tf, tower.apply(tf.gather(texts, tf.tensor1d(textRows, 'int32'))));
          return lossOf(x, y);
        }),
      want,
      variables,
    );
    if (cost) {
      history.push({ step, loss: cost.dataSync()[0] });
      cost.dispose();
    }
  }
  const stepSeconds = Number(process.hrtime.bigint() - started) / 1e9 / steps;
  optimizer.dispose();
  return { tower, scalars, steps, stepSeconds, history };
}

/** Seconds of one forward and backward pass of the loss alone at `batchSize` (the same op). */
function lossSeconds(tf, loss, batchSize, rounds = 3) {
  const x = tf.tidy(() => normalize(tf, tf.randomNormal([batchSize, EMBEDDING], 0, 1, 'float32', 1)));
  const y = tf.tidy(() => normalize(tf, tf.randomNormal([batchSize, EMBEDDING], 0, 1, 'float32', 2)));
  const tPrime = tf.scalar(Math.log(10));
  const bias = tf.scalar(-10);
  const grads = tf.grads((a, b) =>
    loss === 'sigmoid' ? siglipLoss(a, b, tPrime, bias) : softmaxLoss(a, b, tPrime),
  );
  let best = Infinity;
  for (let round = 0; round < rounds; round++) {
    const started = process.hrtime.bigint();
    const g = grads([x, y]);
    g.forEach((t) => t.dataSync());
    tf.dispose(g);
    best = Math.min(best, Number(process.hrtime.bigint() - started) / 1e9);
  }
  tf.dispose([x, y, tPrime, bias]);
  return best;
}

/** Zero-shot retrieval among `images` ([n x 64] tensor) and the text tower's embeddings of `texts`. */
function retrieval(tf, tower, images, texts) {
  const [imageToText, textToImage] = tf.tidy(() =>
    topOneRetrieval(tf, images, normalize(tf, tower.apply(texts))),
  );
  return { imageToText, textToImage, candidates: images.shape[0] };
}

module.exports = { trainTextTower, retrieval, lossSeconds, scheduledRate, batchIndices, corruptTexts };
