// Training and held-out evaluation of the dual encoder with siglipLoss (or the
// softmax loss, for the study), through optimizer.minimize on tfjs.
'use strict';
const { siglipLoss, softmaxLoss } = require('..');
const { CAPTION_LENGTH, SIZE, batch, caption, render, rng, tokenize } = require('./dataset');
const { createDualEncoder } = require('./model');

/**
 * Trains on `scenes.train` for `examples` examples in batches of `batchSize`.
 * With `captionLabels` the sigmoid loss takes every pair with the same caption
 * as a positive (positives: 'labels'), not only the diagonal.
 * onStep(step, steps, loss) is called with the loss of every 10th step.
 */
function train(
  tf,
  {
    scenes,
    loss = 'sigmoid',
    batchSize,
    examples,
    seed = 1,
    tPrime,
    bias,
    learningRate = 2e-3,
    captionLabels = false,
    onStep,
  },
) {
  const model = createDualEncoder(tf, { tPrime, bias });
  const optimizer = tf.train.adam(learningRate);
  const random = rng(seed);
  const steps = Math.max(1, Math.round(examples / batchSize));
  const history = [];
  for (let step = 1; step <= steps; step++) {
    const b = batch(scenes.train, batchSize, random);
    const wantLoss = step % 10 === 0 || step === steps;
    const cost = optimizer.minimize(
      () =>
        tf.tidy(() => {
          const x = model.embedImages(tf.tensor4d(b.images, [batchSize, SIZE, SIZE, 3]));
          const y = model.embedTexts(tf.tensor2d(b.tokens, [batchSize, CAPTION_LENGTH], 'int32'));
          const labels = { positives: 'labels', xLabels: b.captionIds, yLabels: b.captionIds };
          return loss === 'sigmoid'
            ? siglipLoss(x, y, model.scalars.tPrime, model.scalars.bias, captionLabels ? labels : {})
            : softmaxLoss(x, y, model.scalars.tPrime);
        }),
      wantLoss,
    );
    if (cost) {
      const value = cost.dataSync()[0];
      cost.dispose();
      history.push({ step, loss: value });
      onStep?.(step, steps, value);
    }
  }
  optimizer.dispose();
  return { model, history, steps };
}

/**
 * Zero-shot retrieval on the held-out scenes (combinations never seen in
 * training): one image per scene against every held-out caption.
 */
function evaluate(tf, model, heldOut, seed = 99) {
  const random = rng(seed);
  const n = heldOut.length;
  const images = new Float32Array(n * SIZE * SIZE * 3);
  const tokens = new Int32Array(n * CAPTION_LENGTH);
  heldOut.forEach((scene, i) => {
    images.set(render(scene, random), i * SIZE * SIZE * 3);
    tokens.set(tokenize(caption(scene)), i * CAPTION_LENGTH);
  });
  const [imageToText, textToImage] = tf.tidy(() => {
    const x = model.embedImages(tf.tensor4d(images, [n, SIZE, SIZE, 3]));
    const y = model.embedTexts(tf.tensor2d(tokens, [n, CAPTION_LENGTH], 'int32'));
    const similarity = tf.matMul(x, y, false, true);
    const truth = tf.range(0, n, 1, 'int32');
    return [
      tf.mean(tf.cast(tf.equal(tf.argMax(similarity, 1), truth), 'float32')).dataSync()[0],
      tf.mean(tf.cast(tf.equal(tf.argMax(similarity, 0), truth), 'float32')).dataSync()[0],
    ];
  });
  return { imageToText, textToImage, candidates: n, chance: 1 / n };
}

module.exports = { train, evaluate };
