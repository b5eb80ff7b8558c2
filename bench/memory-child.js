// One configuration of the memory sweep, alone in its process so that peaks do
// not mix: `node bench/memory-child.js KIND N`. Prints one JSON line.
'use strict';
const { peakRss } = require('./lib/machine');

const [kind, nArg] = process.argv.slice(2);
const n = Number(nArg);
const D = 768;

async function main() {
  const tf = require('@tensorflow/tfjs-node');
  const { siglipLoss, softmaxLoss } = require('..');
  const { signLabels, sigmoidLoss, softmaxLoss: materializedSoftmax } = require('./lib/tfjs-losses');
  const rssStart = process.memoryUsage().rss;
  const unit = (rows) => tf.tidy(() => tf.div(tf.randomNormal([rows, D], 0, 1, 'float32', 7), Math.sqrt(D)));
  const x = unit(n);
  const y = unit(n);
  const tPrime = tf.scalar(Math.log(10));
  const bias = tf.scalar(-10);
  const inputsBytes = 2 * n * D * 4;

  const losses = {
    'sigmoid-blockwise': () => ({ f: (a, b, t, c) => siglipLoss(a, b, t, c), inputs: [x, y, tPrime, bias] }),
    'softmax-blockwise': () => ({ f: (a, b, t) => softmaxLoss(a, b, t), inputs: [x, y, tPrime] }),
    // The materialized losses build their N x N label / identity matrices inside the measured step, as users do.
    'sigmoid-materialized': () => ({
      f: (a, b, t, c) => tf.tidy(() => sigmoidLoss(tf, signLabels(tf, n, n))(a, b, t, c)),
      inputs: [x, y, tPrime, bias],
    }),
    'softmax-materialized': () => ({
      f: (a, b, t) => tf.tidy(() => materializedSoftmax(tf, tf.eye(n))(a, b, t)),
      inputs: [x, y, tPrime],
    }),
  };
  const { f, inputs } = losses[kind]();
  const start = process.hrtime.bigint();
  const profile = await tf.profile(() => {
    tf.tidy(() => {
      const { value, grads } = tf.valueAndGrads(f)(inputs);
      value.dataSync();
      for (const g of grads) g.dataSync();
    });
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(
    JSON.stringify({
      kind,
      n,
      d: D,
      ok: true,
      seconds,
      peakRssBytes: peakRss(),
      rssStartBytes: rssStart,
      tfjsPeakBytes: profile.peakBytes,
      inputsBytes,
    }),
  );
}

main().catch((error) => {
  console.log(
    JSON.stringify({ kind, n, d: D, ok: false, error: String(error.message ?? error).split('\n')[0] }),
  );
  process.exit(1);
});
