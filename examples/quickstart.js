// A small tour: the raw API, then siglipLoss in a tfjs training loop that
// learns to align 256 random "image" and "text" embeddings.
'use strict';
const { siglipLoss, siglipLossAndGrads, backendInfo } = require('..');

let tf;
try {
  tf = require('@tensorflow/tfjs-node'); // the 'tensorflow' backend
} catch {
  tf = require('@tensorflow/tfjs-core'); // fall back to the pure-JS 'cpu' backend
  require('@tensorflow/tfjs-backend-cpu');
}

async function main() {
  await tf.ready();
  console.log('native backend:', backendInfo(), '| tfjs backend:', tf.getBackend());

  // Raw API: Float32Arrays in, loss and gradients out.
  const n = 4096;
  const dim = 256;
  const x = tf.tidy(() => tf.randomNormal([n, dim]).div(Math.sqrt(dim)).dataSync());
  const y = tf.tidy(() => tf.randomNormal([n, dim]).div(Math.sqrt(dim)).dataSync());
  const start = process.hrtime.bigint();
  const r = siglipLossAndGrads(x, y, dim, Math.log(10), -10);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  console.log(
    `raw: N=M=${n}, D=${dim}: loss ${r.loss.toFixed(4)}, dt' ${r.dTPrime.toFixed(4)}, db ${r.dBias.toFixed(4)} ` +
      `in ${ms.toFixed(1)} ms (${((6 * n * n * dim) / ms / 1e6).toFixed(1)} GFLOP/s)`,
  );
  // The opt-in bf16 arithmetic: AVX512-BF16 dot products where the CPU has them.
  const bf16Start = process.hrtime.bigint();
  const b = siglipLossAndGrads(x, y, dim, Math.log(10), -10, { precision: 'bf16' });
  const bf16Ms = Number(process.hrtime.bigint() - bf16Start) / 1e6;
  console.log(
    `raw, precision 'bf16' (${backendInfo().bf16}): loss ${b.loss.toFixed(4)} ` +
      `(relative difference ${(Math.abs(b.loss - r.loss) / r.loss).toExponential(1)}) in ${bf16Ms.toFixed(1)} ms`,
  );

  // The op in a training loop: two embedding tables, learnable t' and b.
  const images = tf.variable(tf.randomNormal([256, 32]));
  const texts = tf.variable(tf.randomNormal([256, 32]));
  const tPrime = tf.variable(tf.scalar(Math.log(10)));
  const bias = tf.variable(tf.scalar(-10));
  const normalize = (v) => tf.div(v, tf.norm(v, 'euclidean', 1, true));
  const optimizer = tf.train.adam(0.05);
  for (let step = 0; step <= 100; step++) {
    const loss = optimizer.minimize(
      () => siglipLoss(normalize(images), normalize(texts), tPrime, bias),
      true,
      [images, texts, tPrime, bias],
    );
    if (step % 20 === 0) {
      console.log(
        `step ${String(step).padStart(3)}: loss ${loss.dataSync()[0].toFixed(4)}  ` +
          `t=${Math.exp(tPrime.dataSync()[0]).toFixed(2)}  b=${bias.dataSync()[0].toFixed(2)}`,
      );
    }
    loss.dispose();
  }
  const accuracy = tf.tidy(() => {
    const sims = tf.matMul(normalize(images), normalize(texts), false, true);
    return tf.mean(tf.equal(tf.argMax(sims, 1), tf.range(0, 256, 1, 'int32'))).dataSync()[0];
  });
  console.log(`image->text retrieval accuracy after training: ${(100 * accuracy).toFixed(1)}% (chance 0.4%)`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
