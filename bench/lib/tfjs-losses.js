// The materialized losses users write today with plain tfjs ops: every N x M
// logit is a tensor. SigLIP (sigmoid) and CLIP (softmax), fwd+bwd.
'use strict';

/** labels: 2 * eye - 1 (n x m), built once per size. */
function signLabels(tf, n, m) {
  return tf.tidy(() => tf.sub(tf.mul(tf.eye(n, m), 2), 1));
}

/** SigLIP: (1/N) sum softplus(-z * (exp(t') x y^T + b)). */
function sigmoidLoss(tf, labels) {
  return (x, y, tPrime, bias) =>
    tf.tidy(() => {
      const logits = tf.add(tf.mul(tf.exp(tPrime), tf.matMul(x, y, false, true)), bias);
      return tf.div(tf.sum(tf.softplus(tf.neg(tf.mul(labels, logits)))), x.shape[0]);
    });
}

/** CLIP: (CE over rows + CE over columns) / 2 of exp(t') x y^T, positives on the diagonal. */
function softmaxLoss(tf, eye) {
  return (x, y, tPrime) =>
    tf.tidy(() => {
      const logits = tf.mul(tf.exp(tPrime), tf.matMul(x, y, false, true));
      const rows = tf.sum(tf.mul(tf.logSoftmax(logits), eye));
      const cols = tf.sum(tf.mul(tf.logSoftmax(tf.transpose(logits)), tf.transpose(eye)));
      return tf.div(tf.add(rows, cols), -2 * x.shape[0]);
    });
}

/** One fwd+bwd step of `loss`, with every gradient read back (as training would use it). */
function valueAndGradsStep(tf, loss, inputs) {
  tf.tidy(() => {
    const { value, grads } = tf.valueAndGrads(loss)(inputs);
    value.dataSync();
    for (const g of grads) g.dataSync();
  });
}

module.exports = { signLabels, sigmoidLoss, softmaxLoss, valueAndGradsStep };
