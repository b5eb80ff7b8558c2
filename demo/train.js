// Training and held-out evaluation of the dual encoder with siglipLoss (or the
// softmax loss, for the study), through optimizer.minimize on tfjs.
'use strict';
const { siglipLoss, softmaxLoss } = require('..');
const { CAPTION_LENGTH, SIZE, batch, caption, render, rng, tokenize } = require('./dataset');
const { latestCheckpoint, restoreCheckpoint, saveCheckpoint } = require('./checkpoint');
const { createDualEncoder } = require('./model');

/** This rank's rows of a global batch: an equal share of it per rank, in rank order. */
function rowsOfRank(b, batchSize, world) {
  if (world === undefined) return { ...b, rows: batchSize };
  if (batchSize % world.size !== 0)
    throw new RangeError(`batch ${batchSize} is not a multiple of ${world.size} ranks`);
  const rows = batchSize / world.size;
  const first = world.rank * rows;
  return {
    images: b.images.subarray(first * SIZE * SIZE * 3, (first + rows) * SIZE * SIZE * 3),
    tokens: b.tokens.subarray(first * CAPTION_LENGTH, (first + rows) * CAPTION_LENGTH),
    captionIds: b.captionIds?.subarray(first, first + rows),
    rows,
  };
}

/**
 * Trains on `scenes.train` for `examples` examples in batches of `batchSize`.
 * With `captionLabels` the sigmoid loss takes every pair with the same caption
 * as a positive (positives: 'labels'), not only the diagonal.
 * towers: 'conv' or 'mlp' (demo/model.js).
 * checkpoint: { dir, every, resume }: every `every` steps rank 0 saves the run's state in
 * `dir` (demo/checkpoint.js); with `resume` the run starts from the checkpoint there, if any,
 * and ends with the same bits as a run never stopped.
 * onStep(step, steps, loss) is called with the loss of every `lossEvery`th step.
 * With `world` (siglip-loss/mpi) training is data-parallel: every rank draws the
 * same global batch, embeds its rows, and the gradients of siglipLoss(..., { world })
 * summed over the ranks are the global batch's, so every rank takes the same step.
 */
async function train(
  tf,
  {
    scenes,
    loss = 'sigmoid',
    batchSize,
    examples,
    seed = 1,
    initSeed,
    tPrime,
    bias,
    learningRate = 2e-3,
    captionLabels = false,
    lossEvery = 10,
    towers = 'conv',
    checkpoint,
    world,
    onStep,
  },
) {
  const model = createDualEncoder(tf, { tPrime, bias, initSeed, towers });
  if (world !== undefined) world.broadcastVariables(model.trainableVariables());
  const optimizer = tf.train.adam(learningRate);
  const random = rng(seed);
  const steps = Math.max(1, Math.round(examples / batchSize));
  let history = [];
  let first = 1;
  const saved = checkpoint?.resume ? latestCheckpoint(checkpoint.dir) : undefined;
  if (saved !== undefined) {
    const restored = await restoreCheckpoint(tf, saved, { variables: model.trainableVariables(), optimizer });
    random.restore(restored.rngState);
    history = restored.history;
    first = restored.step + 1;
  }
  for (let step = first; step <= steps; step++) {
    const b = rowsOfRank(batch(scenes.train, batchSize, random), batchSize, world);
    const wantLoss = step % lossEvery === 0 || step === steps;
    const lossOfBatch = () =>
      tf.tidy(() => {
        const x = model.embedImages(tf.tensor4d(b.images, [b.rows, SIZE, SIZE, 3]));
        const y = model.embedTexts(tf.tensor2d(b.tokens, [b.rows, CAPTION_LENGTH], 'int32'));
        const labels = captionLabels
          ? { positives: 'labels', xLabels: b.captionIds, yLabels: b.captionIds }
          : {};
        const options = world === undefined ? labels : { ...labels, world };
        return loss === 'sigmoid'
          ? siglipLoss(x, y, model.scalars.tPrime, model.scalars.bias, options)
          : softmaxLoss(x, y, model.scalars.tPrime);
      });
    const cost =
      world === undefined
        ? optimizer.minimize(lossOfBatch, wantLoss)
        : dataParallelStep(tf, optimizer, world, lossOfBatch);
    if (cost && !wantLoss) cost.dispose();
    if (cost && wantLoss) {
      const value = cost.dataSync()[0];
      cost.dispose();
      history.push({ step, loss: value });
      onStep?.(step, steps, value);
    }
    if (
      checkpoint !== undefined &&
      step % checkpoint.every === 0 &&
      (world === undefined || world.rank === 0)
    ) {
      await saveCheckpoint(checkpoint.dir, {
        step,
        variables: model.trainableVariables(),
        optimizer,
        rngState: random.state(),
        history,
      });
    }
  }
  optimizer.dispose();
  return { model, history, steps };
}

/** optimizer.minimize with the gradients summed over the ranks in between. */
function dataParallelStep(tf, optimizer, world, lossOfBatch) {
  const { value, grads } = tf.variableGrads(lossOfBatch);
  const summed = world.allReduceGradients(grads);
  optimizer.applyGradients(summed);
  tf.dispose([grads, summed]);
  return value;
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
    return topOneRetrieval(tf, x, y);
  });
  return { imageToText, textToImage, candidates: n, chance: 1 / n };
}

/** Top-1 retrieval of row i of y for row i of x and back: [image->text, text->image]. */
function topOneRetrieval(tf, x, y) {
  return tf.tidy(() => {
    const similarity = tf.matMul(x, y, false, true);
    const truth = tf.range(0, x.shape[0], 1, 'int32');
    const top1 = (axis) =>
      tf.mean(tf.cast(tf.equal(tf.argMax(similarity, axis), truth), 'float32')).dataSync()[0];
    return [top1(1), top1(0)];
  });
}

module.exports = { train, evaluate, topOneRetrieval };
